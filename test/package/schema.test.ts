/**
 * Schema inference as `pulumi package add` runs it (@pulumi/pulumi's
 * provider/experimental analyzer on this directory): every component is found under
 * its `reverse-ssh-tunnel:index:<Class>` token, every input and output has a real
 * type (no Any) and a description that reads well in other languages. An arg shape
 * the analyzer cannot express fails here with the analyzer's own message.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { generateSchema } from "@pulumi/pulumi/provider/experimental/schema";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; version: string; description: string };
const COMPONENTS = ["ReverseTunnel", "TunnelAccount", "TunnelService", "SshdMatchBlock", "TunnelKeyPair", "MainHealthCheck"];

/** Every property of `spec` with its path, for the type and description checks. */
function properties(spec: any): [string, any][] {
    const out: [string, any][] = [];
    for (const [token, r] of Object.entries<any>(spec.resources ?? {})) {
        for (const [k, p] of Object.entries<any>(r.inputProperties ?? {})) out.push([`${token}.inputs.${k}`, p]);
        for (const [k, p] of Object.entries<any>(r.properties ?? {})) out.push([`${token}.outputs.${k}`, p]);
    }
    for (const [token, t] of Object.entries<any>(spec.types ?? {})) {
        for (const [k, p] of Object.entries<any>(t.properties ?? {})) out.push([`${token}.${k}`, p]);
    }
    return out;
}

describe("schema inference for other languages", () => {
    it("has a PulumiPlugin.yaml with the nodejs runtime at the package root", () => {
        expect(fs.readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8")).toMatch(/^runtime: nodejs$/m);
    });

    it.each(COMPONENTS)("%s: inferred with real types and descriptions", (name) => {
        const { components, typeDefinitions, dependencies } = new Analyzer(ROOT, pkg.name, pkg, new Set([name])).analyze();
        const spec = generateSchema(pkg.name, pkg.version, pkg.description, components, typeDefinitions, dependencies) as any;
        expect(Object.keys(spec.resources)).toEqual([`${pkg.name}:index:${name}`]);
        const props = properties(spec);
        expect(props.length).toBeGreaterThan(0);
        const untyped = props.filter(([, p]) => p.$ref === "pulumi.json#/Any" || (p.type === undefined && p.$ref === undefined)).map(([k]) => k);
        expect(untyped).toEqual([]);
        const badDocs = props.filter(([, p]) => typeof p.description !== "string" || p.description.trim() === "" || p.description.includes("[object Object]")).map(([k]) => k);
        expect(badDocs).toEqual([]);
        expect(spec.resources[`${pkg.name}:index:${name}`].description ?? "").not.toMatch(/^$|\[object Object\]/);
        const badTypeDocs = Object.entries<any>(spec.types ?? {}).filter(([, t]) => String(t.description ?? "").includes("[object Object]")).map(([k]) => k);
        expect(badTypeDocs).toEqual([]);
    });

    it("an arg shape other languages cannot express fails with the analyzer's message (checked on a probe component)", () => {
        // Inside the repo so the probe resolves this repo's @pulumi/pulumi.
        const dir = path.join(ROOT, ".state", "schema-probe");
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "probe", version: "0.0.1", main: "index.js" }));
        fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, module: "commonjs", target: "es2022" }, files: ["index.ts"] }));
        fs.writeFileSync(
            path.join(dir, "index.ts"),
            [
                `import * as pulumi from "@pulumi/pulumi";`,
                `/** Args of the probe. */`,
                `export interface ProbeArgs {`,
                `    /** A bare union: not expressible in the schema. */`,
                `    mode?: "a" | "b";`,
                `}`,
                `/** A probe component. */`,
                `export class Probe extends pulumi.ComponentResource {`,
                `    constructor(name: string, args: ProbeArgs, opts?: pulumi.ComponentResourceOptions) {`,
                `        super("probe:index:Probe", name, {}, opts);`,
                `    }`,
                `}`,
            ].join("\n"),
        );
        expect(() => new Analyzer(dir, "probe", { name: "probe", main: "index.js" }, new Set(["Probe"])).analyze()).toThrow(
            /Union types are not supported for component 'Probe' property 'ProbeArgs\.mode'/,
        );
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
