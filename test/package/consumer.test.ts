/**
 * The package as a consumer gets it: the packed file list, a fresh consumer project
 * (examples/consumer-ts) that installs the tarball and type-checks with Pulumi's
 * default tsconfig, its mock unit test on the lowest `@pulumi/pulumi` the package
 * claims and on the toolchain's, an ESM (nodenext) consumer, and that importing the
 * package root registers nothing and reads no config.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The index file itself: `../../components` resolves to the repo-only barrel components.ts while it exists.
import * as sourceRoot from "../../components/index";
import { EXAMPLE_HALVES, installConsumer, Packed, pack, ROOT, run, tempDir } from "./consumer";

const pkgJson = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    peerDependencies: Record<string, string>;
    devDependencies: Record<string, string>;
};
/** The lowest SDK the package claims (the peer range's floor). */
const LOWEST = /^\^?(\d+\.\d+\.\d+)$/.exec(pkgJson.peerDependencies["@pulumi/pulumi"]!.split(" ")[0]!.replace(/^>=/, ""))![1]!;
/** The SDK the toolchain's engine runs. */
const NEWEST = pkgJson.devDependencies["@pulumi/pulumi"]!;

const tmp = tempDir("rst-package-");
let packed: Packed;

beforeAll(async () => {
    packed = await pack(path.join(tmp.dir, "tarball"));
    const reports = path.join(ROOT, ".state", "reports");
    fs.mkdirSync(reports, { recursive: true });
    fs.writeFileSync(
        path.join(reports, "package.json"),
        `${JSON.stringify({ size: packed.size, unpackedSize: packed.unpackedSize, fileCount: packed.files.length }, null, 2)}\n`,
    );
}, 120_000);
afterAll(() => tmp.remove());

describe("the packed tarball", () => {
    it("holds only the compiled package: dist/**/*.js and .d.ts, package.json, README, LICENSE, CHANGELOG", () => {
        const stray = packed.files.filter((f) => !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/[A-Za-z0-9/_-]+\.(js|d\.ts))$/.test(f));
        expect(packed.files).toEqual(expect.arrayContaining(["LICENSE", "CHANGELOG.md"]));
        expect(stray).toEqual([]);
        expect(packed.files).toContain("dist/index.js");
        expect(packed.files).toContain("dist/index.d.ts");
        // Every module ships with its declarations, and nothing of the stack program.
        const js = packed.files.filter((f) => f.endsWith(".js"));
        for (const f of js) expect(packed.files).toContain(f.replace(/\.js$/, ".d.ts"));
        expect(packed.files.filter((f) => /config|lab|test|Pulumi\.|\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
        console.log(`tarball: ${packed.size} bytes, ${packed.files.length} files, ${packed.unpackedSize} bytes unpacked`);
    });

    it("docs/package.md (and the README, when it gives them) state its size and file count to within 15%", () => {
        for (const doc of ["docs/package.md", "README.md"]) {
            const m = /Tarball: \*\*([\d,]+) bytes \(([\d,]+) unpacked\), (\d+) files\*\*/.exec(fs.readFileSync(path.join(ROOT, doc), "utf8"));
            if (m === null && doc === "README.md") continue;
            expect(m, `${doc} states the tarball's figures`).not.toBeNull();
            const [size, unpacked, files] = m!.slice(1).map((v) => Number(v.replace(/,/g, "")));
            const near = (stated: number, real: number) => Math.abs(stated - real) / real <= 0.15;
            const real = `${packed.size} bytes (${packed.unpackedSize} unpacked), ${packed.files.length} files`;
            expect(near(size!, packed.size) && near(unpacked!, packed.unpackedSize) && near(files!, packed.files.length), `${doc}: stated ${m![0]}, packed ${real}`).toBe(true);
        }
    });

    it("keeps the doc comments and @default tags in the declarations", async () => {
        const d = await run("tar", ["-xzOf", packed.tarball, "package/dist/connection/index.d.ts"], ROOT);
        expect(d).toMatch(/@default 22/);
        expect(d).toMatch(/host: pulumi\.Input<string>/);
    });
});

describe.each([
    ["lowest claimed", LOWEST],
    ["newest (toolchain)", NEWEST],
])("a consumer on @pulumi/pulumi %s (%s)", (_label, sdk) => {
    let dir: string;
    beforeAll(async () => {
        dir = await installConsumer(path.join(tmp.dir, `consumer-${sdk}`), packed.tarball, sdk);
    }, 300_000);

    it("has exactly one @pulumi/pulumi, the one it asked for", async () => {
        expect(await installedVersions(dir, "@pulumi/pulumi")).toEqual([sdk]);
    });

    it("type-checks with Pulumi's default tsconfig (tsc --noEmit)", async () => {
        await run(path.join(dir, "node_modules/.bin/tsc"), ["--noEmit"], dir);
    });

    it("passes its own mock unit test (npm test)", async () => {
        const out = await run("npm", ["test"], dir);
        expect(out).toMatch(/# fail 0/);
        expect(out).toMatch(/# pass [1-9]/);
    });
});

/** Every version of `name` installed anywhere in the consumer's tree (`npm ls --all`). */
async function installedVersions(dir: string, name: string): Promise<string[]> {
    const ls = JSON.parse(await run("npm", ["ls", "--all", "--json", name], dir)) as unknown;
    const versions = new Set<string>();
    const walk = (n: any) => {
        for (const [dep, d] of Object.entries<any>(n.dependencies ?? {})) {
            if (dep === name) versions.add(d.version);
            walk(d);
        }
    };
    walk(ls);
    return [...versions];
}

describe("a consumer with its own @pulumi/tls", () => {
    /**
     * A version inside the package's range `^5.5.1` other than the tested 5.5.1: with the
     * old exact pin npm nested a second copy (and the program then asked for a second
     * tls plugin); with the range, the package shares the consumer's.
     */
    const OWN_TLS = "5.6.1";
    let dir: string;
    beforeAll(async () => {
        dir = await installConsumer(path.join(tmp.dir, "consumer-own-tls"), packed.tarball, undefined, undefined, [`@pulumi/tls@${OWN_TLS}`]);
    }, 300_000);

    it("has one @pulumi/tls, its own, deduped with the package's dependency", async () => {
        expect(await installedVersions(dir, "@pulumi/tls")).toEqual([OWN_TLS]);
        const tree = await run("npm", ["ls", "--all", "@pulumi/tls"], dir);
        expect(tree).toMatch(new RegExp(`reverse-ssh-tunnel@[^\\n]*\\n[^\\n]*@pulumi/tls@${OWN_TLS.replace(/\./g, "\\.")} deduped`));
    });

    it("type-checks and passes its mock unit test with its own tls resource next to a ReverseTunnel", async () => {
        fs.appendFileSync(
            path.join(dir, "index.ts"),
            `\nimport * as tls from "@pulumi/tls";\nexport const ownKey = new tls.PrivateKey("own", { algorithm: "ED25519" }).publicKeyOpenssh;\n`,
        );
        await run(path.join(dir, "node_modules/.bin/tsc"), ["--noEmit"], dir);
        const out = await run("npm", ["test"], dir);
        expect(out).toMatch(/# fail 0/);
    });
});

describe("importing the package", () => {
    let dir: string;
    beforeAll(async () => {
        dir = path.join(tmp.dir, `consumer-${NEWEST}`);
        if (!fs.existsSync(path.join(dir, "node_modules"))) await installConsumer(dir, packed.tarball, NEWEST);
    }, 300_000);

    it("registers no resources and reads no config (the instrumentation itself is proven on a probe)", async () => {
        fs.writeFileSync(path.join(dir, "check-import.js"), CHECK_IMPORT);
        const r = JSON.parse(await run("node", ["check-import.js"], dir)) as { exports: string[]; seen: string[]; reads: string[]; control: { seen: string[]; reads: string[] } };
        // The packaged root exports what the source root does (test/unit/public-api.test.ts lists those).
        expect(r.exports).toEqual(Object.keys(sourceRoot).sort());
        expect(r.seen).toEqual([]);
        expect(r.reads).toEqual([]);
        expect(r.control.seen).toContain("probe:index:Probe");
        expect(r.control.reads).toContain("get(k)");
    });

    it("the halves example type-checks with the same default tsconfig", async () => {
        fs.copyFileSync(path.join(EXAMPLE_HALVES, "index.ts"), path.join(dir, "halves.ts"));
        const tsconfig = JSON.parse(fs.readFileSync(path.join(EXAMPLE_HALVES, "tsconfig.json"), "utf8")) as { files: string[] };
        tsconfig.files = ["halves.ts"];
        fs.writeFileSync(path.join(dir, "tsconfig.halves.json"), JSON.stringify(tsconfig));
        await run(path.join(dir, "node_modules/.bin/tsc"), ["--noEmit", "-p", "tsconfig.halves.json"], dir);
    });

    it("resolves and runs from an ESM consumer (type: module, nodenext)", async () => {
        const esm = path.join(dir, "esm");
        fs.mkdirSync(esm, { recursive: true });
        fs.writeFileSync(path.join(esm, "package.json"), JSON.stringify({ type: "module" }));
        fs.writeFileSync(
            path.join(esm, "tsconfig.json"),
            JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, outDir: "out" }, files: ["check.ts"] }),
        );
        fs.writeFileSync(
            path.join(esm, "check.ts"),
            [
                `import { ReverseTunnel, defaultTunnelUser } from "reverse-ssh-tunnel";`,
                `import type { ReverseTunnelArgs } from "reverse-ssh-tunnel";`,
                `const a: Pick<ReverseTunnelArgs, "name"> = { name: "nas" };`,
                `console.log(typeof ReverseTunnel, defaultTunnelUser("nas"), a.name);`,
            ].join("\n"),
        );
        await run(path.join(dir, "node_modules/.bin/tsc"), ["-p", "esm"], dir);
        expect((await run("node", ["esm/out/check.js"], dir)).trim()).toBe("function tunnel-nas nas");
    });
});

/**
 * Loads the package root under Pulumi mocks with every Config method and every
 * PULUMI_* environment read recorded; then, as a control, does one of each itself.
 */
const CHECK_IMPORT = `
const pulumi = require("@pulumi/pulumi");
const seen = [];
pulumi.runtime.setMocks({
    newResource(a) { seen.push(a.type); return { id: a.name, state: a.inputs }; },
    call(a) { seen.push("call:" + a.token); return {}; },
}, "probe", "probe", false);
const reads = [];
const proto = pulumi.Config.prototype;
for (const m of Object.getOwnPropertyNames(proto)) {
    if (m === "constructor" || typeof proto[m] !== "function") continue;
    const orig = proto[m];
    proto[m] = function (...a) { reads.push(m + "(" + a[0] + ")"); return orig.apply(this, a); };
}
const env = process.env;
process.env = new Proxy(env, { get(t, k) { if (typeof k === "string" && k.startsWith("PULUMI_")) reads.push("env." + k); return t[k]; } });
const pkg = require("reverse-ssh-tunnel");
setTimeout(() => {
    const result = { exports: Object.keys(pkg).sort(), seen: [...seen], reads: [...reads] };
    new pulumi.Config("probe").get("k");
    new pulumi.ComponentResource("probe:index:Probe", "p", {});
    setTimeout(() => {
        result.control = { seen: seen.slice(result.seen.length), reads: reads.slice(result.reads.length) };
        console.log(JSON.stringify(result));
    }, 300);
}, 300);
`;
