/**
 * The package from every language, the way users make its SDKs: the engine runs this
 * repository as a component provider (package.json `main`, components/plugin), and
 * `pulumi package gen-sdk <repo> --language L --local` writes the SDK through the
 * toolchain's language plugins (the Node.js shim forwards GeneratePackage to
 * rst-sdkgen; bin/pulumi-language-{python,go,dotnet} are rst-sdkgen; C# goes on to
 * rst-sdkgen-dotnet). Upstream generators at the CLI's version (C#: pkg/v3 3.219).
 *
 * Compile-only (no program runs; only YAML runs end to end, test/lab/consumer-yaml):
 * - Go: `pulumi package add <repo>` in a copy of examples/consumer-go (whose go.mod
 *   lacks the SDK) generates, links (go.mod require + replace) and runs `go mod tidy`;
 *   the example then builds and vets;
 * - Python: the SDK and examples/consumer-python pass `py_compile`, and every keyword
 *   the consumer passes exists in the SDK's signatures (Python's own `ast`; no
 *   `pulumi` Python package is installed here, so nothing is imported);
 * - TypeScript: `tsc` builds the Node SDK as its `npm install` would, then
 *   examples/consumer-sdk-ts type-checks against it;
 * - C#: generated and inspected, not compiled (no dotnet on this machine).
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineEnv, ROOT } from "../support/engine";
import { writeReport } from "../support/hosts";

const execFileAsync = promisify(execFile);
const COMPONENTS = ["ReverseTunnel", "TunnelAccount", "TunnelService", "SshdMatchBlock", "TunnelKeyPair", "MainHealthCheck"];
const LANGUAGES = ["nodejs", "python", "go", "dotnet"] as const;
const GO_EXAMPLE = path.join(ROOT, "examples", "consumer-go");
const PY_EXAMPLE = path.join(ROOT, "examples", "consumer-python");
const TS_EXAMPLE = path.join(ROOT, "examples", "consumer-sdk-ts");
/** Inside the repository, so that the Node SDK resolves this repo's @pulumi/pulumi and @pulumi/command. */
const TS_WORK = path.join(ROOT, ".state", "multilang-ts");

/**
 * Runs `cmd` (asynchronously: a minute-long synchronous child would starve vitest's
 * worker RPC); on failure the error carries its output (a compile error, the CLI's).
 */
async function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<string> {
    try {
        return (await execFileAsync(cmd, args, { ...opts, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })).stdout;
    } catch (e) {
        const r = e as { code?: number; stdout?: string; stderr?: string };
        throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.code}):\n${r.stderr ?? ""}${r.stdout ?? ""}`);
    }
}

function goBinary(): string {
    const r = spawnSync("bash", ["-c", "command -v go || ls /usr/local/go/bin/go"], { encoding: "utf8" });
    const go = r.stdout.trim().split("\n")[0] ?? "";
    if (!go) throw new Error("Go is not installed (toolchain/setup.sh needs it too)");
    return go;
}

/** Every file under `dir`, relative, sorted. */
function files(dir: string): string[] {
    return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
        .filter((e) => e.isFile())
        .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
        .sort();
}

describe.sequential("SDKs generated with `pulumi package gen-sdk` for every language", () => {
    const figures: Record<string, number> = {};
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rst-sdks-"));
    const out = path.join(tmp, "sdk");
    let env: NodeJS.ProcessEnv;

    beforeAll(() => {
        env = { ...process.env, ...engineEnv() };
    });
    afterAll(() => {
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.rmSync(TS_WORK, { recursive: true, force: true });
        writeReport("sdk-timings.json", figures);
    });

    it("pulumi package get-schema <repo> prints the improved schema (secrets, integers, defaults)", async () => {
        const t0 = Date.now();
        const schema = JSON.parse(await await run("pulumi", ["package", "get-schema", ROOT], { cwd: tmp, env }));
        figures.getSchemaMs = Date.now() - t0;
        expect(Object.keys(schema.resources).sort()).toEqual(COMPONENTS.map((c) => `reverse-ssh-tunnel:index:${c}`).sort());
        const conn = schema.types["reverse-ssh-tunnel:index:HostConnection"];
        expect(conn.properties.privateKey.secret).toBe(true);
        expect(conn.properties.port).toMatchObject({ type: "integer", default: 22 });
        const tunnel = schema.resources["reverse-ssh-tunnel:index:ReverseTunnel"];
        expect(tunnel.inputProperties.port.type).toBe("integer");
        expect(tunnel.properties.privateKey.secret).toBe(true);
        expect(JSON.stringify(schema)).not.toContain('"type":"number"');
    });

    it.each(LANGUAGES)("gen-sdk --language %s writes the SDK", async (language) => {
        const t0 = Date.now();
        await run("pulumi", ["package", "gen-sdk", ROOT, "--language", language, "--local", "--out", out], { cwd: tmp, env });
        figures[`genSdk_${language}_Ms`] = Date.now() - t0;
        const want: Record<(typeof LANGUAGES)[number], string[]> = {
            nodejs: ["package.json", "index.ts", "reverseTunnel.ts", "types/input.ts"],
            python: ["setup.py", "pulumi_reverse_ssh_tunnel/__init__.py", "pulumi_reverse_ssh_tunnel/reverse_tunnel.py"],
            go: ["go.mod", "reversesshtunnel/reverseTunnel.go", "reversesshtunnel/pulumiTypes.go"],
            dotnet: ["Pulumi.ReverseSshTunnel.csproj", "ReverseTunnel.cs", "Inputs/HostConnectionArgs.cs", "logo.png"],
        };
        expect(files(path.join(out, language))).toEqual(expect.arrayContaining(want[language]));
    });

    it("Go: `pulumi package add <repo>` in a copy of examples/consumer-go generates, links and tidies; it builds and vets", async () => {
        // The copy as a user starts it: go.mod without the SDK (package add links it).
        const project = path.join(tmp, "consumer-go");
        fs.cpSync(GO_EXAMPLE, project, { recursive: true, filter: (src) => path.relative(GO_EXAMPLE, src).split(path.sep)[0] !== "sdks" });
        const modPath = "example.com/pulumi-reverse-ssh-tunnel/sdk/go";
        const goMod = path.join(project, "go.mod");
        fs.writeFileSync(goMod, fs.readFileSync(goMod, "utf8").split("\n").filter((l) => !l.includes(modPath)).join("\n"));
        fs.writeFileSync(path.join(project, "Pulumi.yaml"), fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8").replace("reverse-ssh-tunnel: ../..", `reverse-ssh-tunnel: ${ROOT}`));
        // Same flags as toolchain/setup.sh, so a CI run reuses the toolchain build's Go cache.
        const goEnv = { ...env, GOTOOLCHAIN: "local", GOFLAGS: "-trimpath -buildvcs=false" };
        let t0 = Date.now();
        await run("pulumi", ["package", "add", ROOT], { cwd: project, env: goEnv });
        figures.packageAddGoMs = Date.now() - t0;
        const linked = fs.readFileSync(goMod, "utf8");
        expect(linked).toContain(`${modPath} v0.0.0`);
        expect(linked).toMatch(new RegExp(`replace ${modPath.replace(/\./g, "\\.")} => \\./sdks/reverse-ssh-tunnel`));
        const src = fs.readFileSync(path.join(project, "sdks", "reverse-ssh-tunnel", "reversesshtunnel", "reverseTunnel.go"), "utf8");
        expect(src).toMatch(/\bPort \*?int `pulumi:"port"`/);
        expect(src).toContain("pulumi.ToSecret(args.PrivateKey)");
        const go = goBinary();
        const buildEnv = { ...goEnv, GOFLAGS: "-trimpath -buildvcs=false -mod=readonly" };
        t0 = Date.now();
        await run(go, ["build", "-o", path.join(tmp, "consumer-go-bin"), "."], { cwd: project, env: buildEnv });
        figures.goBuildMs = Date.now() - t0;
        t0 = Date.now();
        await run(go, ["vet", "./..."], { cwd: project, env: buildEnv });
        figures.goVetMs = Date.now() - t0;
        expect(execFileSync(go, ["version", "-m", path.join(tmp, "consumer-go-bin")], { encoding: "utf8" })).toContain(modPath);
    });

    it("Python: the SDK and examples/consumer-python compile, and the consumer's keywords exist in the SDK", async () => {
        const sdk = path.join(out, "python");
        const py = files(sdk).filter((f) => f.endsWith(".py")).map((f) => path.join(sdk, f));
        expect(py.length).toBeGreaterThan(5);
        const t0 = Date.now();
        // Byte code under tmp, not beside the example in the repository.
        await run("python3", ["-m", "py_compile", ...py, path.join(PY_EXAMPLE, "__main__.py")], { cwd: tmp, env: { ...env, PYTHONPYCACHEPREFIX: path.join(tmp, "pycache") } });
        figures.pyCompileMs = Date.now() - t0;
        // Each `rst.X(..., kw=...)` call of the consumer against X.__init__'s parameters.
        const check = [
            "import ast, sys, pathlib",
            "sdk = pathlib.Path(sys.argv[1]); params = {}",
            "for f in sdk.rglob('*.py'):",
            "    for c in ast.walk(ast.parse(f.read_text())):",
            "        if isinstance(c, ast.ClassDef):",
            "            for fn in c.body:",
            "                if isinstance(fn, ast.FunctionDef) and fn.name == '__init__':",
            "                    a = fn.args; params.setdefault(c.name, set()).update(x.arg for x in a.args + a.kwonlyargs)",
            "bad = []; calls = 0",
            "for c in ast.walk(ast.parse(pathlib.Path(sys.argv[2]).read_text())):",
            "    if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and getattr(c.func.value, 'id', '') == 'rst':",
            "        calls += 1",
            "        bad += [f'{c.func.attr}({k.arg}=)' for k in c.keywords if k.arg not in params.get(c.func.attr, set())]",
            "print(calls, ' '.join(bad))",
        ].join("\n");
        const [calls, ...bad] = (await run("python3", ["-c", check, sdk, path.join(PY_EXAMPLE, "__main__.py")], { cwd: tmp, env })).trim().split(/\s+/);
        expect(Number(calls)).toBe(3);
        expect(bad).toEqual([]);
        const inputs = fs.readFileSync(path.join(sdk, "pulumi_reverse_ssh_tunnel", "_inputs.py"), "utf8");
        expect(inputs).toContain("port: pulumi.Input[Optional[_builtins.int]] = None");
    });

    it("TypeScript: the Node SDK builds with tsc, and examples/consumer-sdk-ts type-checks against it", async () => {
        fs.rmSync(TS_WORK, { recursive: true, force: true });
        const sdk = path.join(TS_WORK, "node_modules", "@pulumi", "reverse-ssh-tunnel");
        fs.cpSync(path.join(out, "nodejs"), sdk, { recursive: true });
        for (const f of ["index.ts", "tsconfig.json", "package.json"]) fs.copyFileSync(path.join(TS_EXAMPLE, f), path.join(TS_WORK, f));
        const tsc = path.join(ROOT, "node_modules", ".bin", "tsc");
        let t0 = Date.now();
        // What the SDK's `npm install` (its build script) runs: tsc into bin/.
        await run(tsc, ["-p", "tsconfig.json"], { cwd: sdk, env });
        figures.tscSdkMs = Date.now() - t0;
        expect(fs.existsSync(path.join(sdk, "bin", "index.d.ts"))).toBe(true);
        expect(fs.readFileSync(path.join(sdk, "bin", "reverseTunnel.js"), "utf8")).toMatch(/additionalSecretOutputs: \[[^\]]*"privateKey"/);
        t0 = Date.now();
        await run(tsc, ["-p", "tsconfig.json"], { cwd: TS_WORK, env });
        figures.tscConsumerMs = Date.now() - t0;
        // The check can fail: the same consumer with a string port does not type-check.
        fs.writeFileSync(path.join(TS_WORK, "index.ts"), fs.readFileSync(path.join(TS_EXAMPLE, "index.ts"), "utf8").replace('port: cfg.requireNumber("port")', 'port: cfg.require("port")'));
        await expect(run(tsc, ["-p", "tsconfig.json"], { cwd: TS_WORK, env })).rejects.toThrow(/index\.ts.*Type 'string' is not assignable to type 'number'/s);
    });

    it("C#: generated with integer ports, the keys secret and the defaults (not compiled: no dotnet here)", () => {
        const args = fs.readFileSync(path.join(out, "dotnet", "Inputs", "HostConnectionArgs.cs"), "utf8");
        expect(args).toContain("public Input<int>? Port { get; set; }");
        expect(args).toMatch(/PrivateKey[\s\S]*Output\.CreateSecret/);
        expect(args).toContain('User = "root";');
        expect(fs.readFileSync(path.join(out, "dotnet", "ReverseTunnel.cs"), "utf8")).toContain("public Output<int> Port { get; private set; } = null!;");
    });
});
