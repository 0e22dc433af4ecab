/**
 * Schema inference as `pulumi package add` runs it (@pulumi/pulumi's
 * provider/experimental analyzer on this directory): every component is found under
 * its `reverse-ssh-tunnel:index:<Class>` token, every input and output has a real
 * type (no Any) and a description that reads well in other languages. An arg shape
 * the analyzer cannot express fails here with the analyzer's own message.
 *
 * What the analyzer cannot infer (secrets, integers, defaults, type descriptions) is
 * added by components/plugin/schema.ts; the provider the engine runs (package.json
 * `main`, components/plugin/index.ts) serves that schema. Checked here on the inferred
 * schema, property by property; test/multilang checks what `pulumi package get-schema`
 * prints.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { generateSchema } from "@pulumi/pulumi/provider/experimental/schema";
import { beforeAll, describe, expect, it } from "vitest";
import { readSourceDocs } from "../../components/plugin/docs";
import { improveSchema } from "../../components/plugin/schema";

const ROOT = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; version: string; description: string; main: string };
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
        // As served: the inferred schema with components/plugin's improvements (which also
        // repair descriptions the analyzer garbles from `{@link}` comments).
        const inferred = generateSchema(pkg.name, pkg.version, pkg.description, components, typeDefinitions, dependencies) as any;
        const spec = improveSchema(inferred, readSourceDocs(path.join(ROOT, "components"))).schema as any;
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

    describe("the schema the provider serves (components/plugin)", () => {
        let spec: any;
        let problems: readonly string[];
        /** Every property of `spec`, array items included (as `path[]`). */
        let all: [string, any][];
        beforeAll(() => {
            const { components, typeDefinitions, dependencies } = new Analyzer(ROOT, pkg.name, pkg, new Set(COMPONENTS)).analyze();
            const inferred = generateSchema(pkg.name, pkg.version, pkg.description, components, typeDefinitions, dependencies) as any;
            ({ schema: spec, problems } = improveSchema(inferred, readSourceDocs(path.join(ROOT, "components"))));
            all = properties(spec).flatMap(([k, p]): [string, any][] => [[k, p], ...(p.items ? [[`${k}[]`, p.items] as [string, any]] : [])]);
        });
        const r = (c: string) => spec.resources[`${pkg.name}:index:${c}`];
        const t = (c: string) => spec.types[`${pkg.name}:index:${c}`];

        it("package.json main is the provider entry: one exported function, no component classes (so run-plugin calls it)", async () => {
            expect(pkg).toMatchObject({ main: "dist/plugin/index.js" });
            const entry = await import("../../components/plugin/index");
            const exported = (entry as any).default ?? entry;
            expect(typeof exported).toBe("function");
            // No prototype: @pulumi/pulumi's getPulumiComponents sees no component, so run-plugin invokes it.
            expect(exported.prototype).toBeUndefined();
            const { getPulumiComponents } = await import("@pulumi/pulumi/provider/experimental");
            expect(getPulumiComponents(exported)).toEqual([]);
        });

        it("nothing is left undecided (every number is an integer or declared fractional; every property described)", () => {
            expect(problems).toEqual([]);
            expect(all.filter(([, p]) => p.type === "number").map(([k]) => k)).toEqual([]);
        });

        it("keys are secret: connection keys (admin keys, the proxy's), the tunnel key in and out", () => {
            const secret = (p: any) => p?.secret === true;
            for (const type of ["HostConnection", "SshHop"]) expect(secret(t(type).properties.privateKey), type).toBe(true);
            expect(secret(r("ReverseTunnel").inputProperties.privateKey)).toBe(true);
            expect(secret(r("ReverseTunnel").properties.privateKey)).toBe(true);
            expect(secret(r("TunnelService").inputProperties.privateKey)).toBe(true);
            expect(secret(r("TunnelKeyPair").properties.privateKey)).toBe(true);
            // Whatever the docs call secret is secret in the schema too, and nothing else is.
            const saysSecret = all.filter(([, p]) => /\(secret|\bsecret:|kept secret/i.test(p.description ?? "")).map(([k]) => k);
            expect(saysSecret.length).toBeGreaterThan(0);
            expect(saysSecret.filter((k) => !secret(all.find(([kk]) => kk === k)?.[1]))).toEqual([]);
            expect(all.filter(([, p]) => secret(p)).every(([k]) => /\.(privateKey|handoff)$/.test(k))).toBe(true);
        });

        it("ports and counts are integers", () => {
            const ints: [any, string][] = [
                [r("ReverseTunnel").inputProperties, "port"],
                [r("ReverseTunnel").inputProperties, "mainPublicPort"],
                [r("ReverseTunnel").inputProperties, "backupSshPort"],
                [r("ReverseTunnel").properties, "port"],
                [r("TunnelService").inputProperties, "mainPort"],
                [t("HostConnection").properties, "port"],
                [t("HostConnection").properties, "dialErrorLimit"],
                [t("HostConnection").properties, "perDialTimeout"],
                [t("SshHop").properties, "port"],
                [t("ForwardSpec").properties, "remotePort"],
                [t("ForwardSpec").properties, "localPort"],
            ];
            for (const [props, k] of ints) expect(props[k]?.type, k).toBe("integer");
            for (const [props, k] of [
                [r("ReverseTunnel").properties, "ports"],
                [r("TunnelAccount").inputProperties, "listenPorts"],
                [r("SshdMatchBlock").inputProperties, "listenPorts"],
                [r("SshdMatchBlock").properties, "listenPorts"],
            ] as [any, string][]) {
                expect(props[k]?.items?.type, k).toBe("integer");
            }
        });

        it("every @default is in the schema: literals as `default` (typed), prose in the description", () => {
            const docs = readSourceDocs(path.join(ROOT, "components"));
            let literal = 0;
            let prose = 0;
            const check = (props: Record<string, any>, decl: string, where: string) => {
                for (const [name, p] of Object.entries(props ?? {})) {
                    const m = docs.get(decl)?.members.get(name) ?? docs.get(docs.get(decl)?.bases[0] ?? "")?.members.get(name);
                    if (m?.defaultText === undefined) {
                        expect(p.default, `${where}.${name}`).toBeUndefined();
                        continue;
                    }
                    expect(p.description, `${where}.${name}`).toContain(`Default: ${m.defaultText}`);
                    if ("default" in p) {
                        literal++;
                        expect(JSON.stringify(p.default), `${where}.${name}`).toBe(m.defaultText);
                    } else prose++;
                }
            };
            for (const c of COMPONENTS) check(r(c).inputProperties, docs.get(c)!.argsType!, c);
            for (const type of ["HostConnection", "SshHop", "ForwardSpec"]) check(t(type).properties, type, type);
            expect(t("HostConnection").properties.port).toMatchObject({ type: "integer", default: 22 });
            expect(t("HostConnection").properties.user).toMatchObject({ type: "string", default: "root" });
            expect(t("HostConnection").properties.insecureSkipHostKeyCheck).toMatchObject({ type: "boolean", default: false });
            expect(t("HostConnection").properties.dialErrorLimit).toMatchObject({ default: 10 });
            expect(r("ReverseTunnel").inputProperties.keyAlgorithm).toMatchObject({ default: "ED25519" });
            expect(r("ReverseTunnel").inputProperties.installClientConfig).toMatchObject({ default: true });
            // A pattern is not a value: "tunnel-<name>" stays prose.
            expect(r("ReverseTunnel").inputProperties.tunnelUser.default).toBeUndefined();
            expect(r("ReverseTunnel").inputProperties.tunnelUser.description).toContain('Default: "tunnel-<name>"');
            expect(literal).toBeGreaterThanOrEqual(15);
            expect(prose).toBeGreaterThanOrEqual(10);
        });

        it("types are described (the analyzer's generator drops interface docs)", () => {
            const undescribed = Object.entries<any>(spec.types).filter(([, ty]) => !(typeof ty.description === "string" && ty.description.trim() !== "")).map(([k]) => k);
            expect(undescribed).toEqual([]);
        });
    });
});
