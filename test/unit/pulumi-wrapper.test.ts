/**
 * `npm run pulumi` (scripts/pulumi.sh) picks the stack from `--stack`/`-s`/RST_STACK and
 * refuses one without a stack file before anything else runs. Its full path (toolchain,
 * backend, passphrase, up/destroy/stack rm) runs in test/lab/guided-setup.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const run = (args: string[], env: Record<string, string> = {}) => spawnSync("bash", ["scripts/pulumi.sh", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });

describe("npm run pulumi (scripts/pulumi.sh)", () => {
    it.each([
        [["preview", "--stack", "no-such-stack"], {}],
        [["up", "-s", "no-such-stack"], {}],
        [["up", "--stack=no-such-stack"], {}],
        [["preview"], { RST_STACK: "no-such-stack" }],
    ])("%j %j: names the missing stack file and the command that creates it", (args, env) => {
        const r = run(args, env);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("error: no stack file Pulumi.no-such-stack.yaml: create it with 'npm run setup -- --stack no-such-stack ...'");
    });
    it("--stack without a name is a usage error", () => {
        expect(run(["up", "--stack"]).status).toBe(2);
    });
});

describe("stack-env.sh: the passphrase file of a real-host stack", () => {
    const env = (extra: Record<string, string>) => spawnSync("bash", ["-c", `. ${path.join(ROOT, "scripts/stack-env.sh")} && rst_stack_env`], {
        cwd: (() => {
            const d = fs.mkdtempSync(path.join(os.tmpdir(), "rst-env-file-"));
            fs.writeFileSync(path.join(d, "Pulumi.main.yaml"), "config:\n  reverse-ssh-tunnel:main:\n    host: main.example.org\n");
            return d;
        })(),
        encoding: "utf8",
        env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_"))), ...extra },
    });
    it("refuses a file holding the published lab passphrase", () => {
        const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rst-pass-")), "passphrase");
        fs.writeFileSync(f, "reverse-ssh-tunnel-lab\n", { mode: 0o600 });
        const r = env({ PULUMI_CONFIG_PASSPHRASE_FILE: f });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain(`error: ${f} holds the published lab passphrase`);
    });
    it("refuses a file that cannot be read, naming the fix", () => {
        const r = env({ PULUMI_CONFIG_PASSPHRASE_FILE: "/nonexistent/passphrase" });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("PULUMI_CONFIG_PASSPHRASE_FILE=/nonexistent/passphrase cannot be read");
    });
    it("accepts a file of the operator's own", () => {
        const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rst-pass-")), "passphrase");
        fs.writeFileSync(f, "correct horse battery staple\n", { mode: 0o600 });
        expect(env({ PULUMI_CONFIG_PASSPHRASE_FILE: f }).status).toBe(0);
    });
});
