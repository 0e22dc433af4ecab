/**
 * The package from Go, compile-only (no Go language host is served here): the engine
 * runs this repository as a component provider and prints the schema inferred from the
 * current TypeScript (`pulumi package get-schema <repo>`), toolchain/rst-gen-go-sdk
 * writes the Go SDK from it the way `pulumi package add` does for a Go project, and
 * examples/consumer-go, which uses ReverseTunnel, builds and vets against it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineEnv, ROOT } from "../support/engine";
import { writeReport } from "../support/hosts";

const EXAMPLE = path.join(ROOT, "examples", "consumer-go");
const SDK = path.join(EXAMPLE, "sdks", "reverse-ssh-tunnel");
const COMPONENTS = ["ReverseTunnel", "TunnelAccount", "TunnelService", "SshdMatchBlock", "TunnelKeyPair", "MainHealthCheck"];

/** Runs `cmd`; on failure the error carries its stderr (the analyzer's message, a compile error). */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): string {
    const r = spawnSync(cmd, args, { ...opts, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
}

function goBinary(): string {
    const r = spawnSync("bash", ["-c", "command -v go || ls /usr/local/go/bin/go"], { encoding: "utf8" });
    const go = r.stdout.trim().split("\n")[0] ?? "";
    if (!go) throw new Error("Go is not installed (toolchain/setup.sh needs it too)");
    return go;
}

describe.sequential("the Go SDK generated from the inferred schema", () => {
    const figures: Record<string, number> = {};
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rst-go-sdk-"));
    let env: NodeJS.ProcessEnv;
    let schema: any;

    beforeAll(() => {
        env = { ...process.env, ...engineEnv() };
    });
    afterAll(() => {
        fs.rmSync(tmp, { recursive: true, force: true });
        writeReport("go-sdk-timings.json", figures);
    });

    it("pulumi package get-schema <repo> runs the component provider and prints every component's token", () => {
        const t0 = Date.now();
        const out = run("pulumi", ["package", "get-schema", ROOT], { cwd: tmp, env });
        figures.getSchemaMs = Date.now() - t0;
        fs.writeFileSync(path.join(tmp, "schema.json"), out);
        schema = JSON.parse(out);
        expect(schema.name).toBe("reverse-ssh-tunnel");
        expect(Object.keys(schema.resources).sort()).toEqual(COMPONENTS.map((c) => `reverse-ssh-tunnel:index:${c}`).sort());
        expect(Object.keys(schema.resources["reverse-ssh-tunnel:index:ReverseTunnel"].inputProperties)).toEqual(expect.arrayContaining(["main", "backup", "port"]));
    });

    it("the Go SDK is generated and examples/consumer-go builds and vets against it", () => {
        expect(schema).toBeDefined();
        // The outputs reference command:remote:Command: its schema comes from the toolchain's provider.
        fs.writeFileSync(path.join(tmp, "command.json"), run("pulumi", ["package", "get-schema", "command"], { cwd: tmp, env }));
        fs.rmSync(path.join(EXAMPLE, "sdks"), { recursive: true, force: true });
        let t0 = Date.now();
        run("rst-gen-go-sdk", ["-out", SDK, path.join(tmp, "schema.json"), path.join(tmp, "command.json")], { cwd: tmp, env });
        figures.genMs = Date.now() - t0;
        expect(fs.readFileSync(path.join(SDK, "reversesshtunnel", "reverseTunnel.go"), "utf8")).toContain("func NewReverseTunnel(");

        const go = goBinary();
        // Same flags as toolchain/setup.sh, so a CI run reuses the toolchain build's Go cache.
        const goEnv = { ...env, GOTOOLCHAIN: "local", GOFLAGS: "-trimpath -buildvcs=false -mod=readonly" };
        t0 = Date.now();
        run(go, ["build", "-o", path.join(tmp, "consumer-go"), "."], { cwd: EXAMPLE, env: goEnv });
        figures.goBuildMs = Date.now() - t0;
        t0 = Date.now();
        run(go, ["vet", "./..."], { cwd: EXAMPLE, env: goEnv });
        figures.goVetMs = Date.now() - t0;
        expect(execFileSync(go, ["version", "-m", path.join(tmp, "consumer-go")], { encoding: "utf8" })).toContain("example.com/pulumi-reverse-ssh-tunnel/sdk/go");
    });
});
