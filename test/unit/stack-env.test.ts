/**
 * The demo's published passphrase must never protect the state of real hosts
 * (issue "Hold the promise on ordinary real mains", finding Medium/passphrase).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const SCRIPT = path.resolve(__dirname, "../../scripts/stack-env.sh");

function run(stackYaml: string, env: Record<string, string>): { status: number | null; stderr: string; stdout: string; dir: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-env-"));
    fs.writeFileSync(path.join(dir, "Pulumi.main.yaml"), stackYaml);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_"))) as Record<string, string>;
    const r = spawnSync("bash", ["-c", `. ${SCRIPT} && rst_stack_env && echo "pass=$PULUMI_CONFIG_PASSPHRASE"`], { cwd: dir, env: { ...clean, ...env }, encoding: "utf8" });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout, dir };
}

const LAB = "config:\n  reverse-ssh-tunnel:lab: .state/lab/lab.json\n";
const REAL = "config:\n  reverse-ssh-tunnel:main:\n    host: main.example.org\n";

describe("stack environment (scripts/stack-env.sh)", () => {
    it("uses the lab passphrase for a lab stack and keeps the state directory 0700", () => {
        const r = run(LAB, {});
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain("pass=reverse-ssh-tunnel-lab");
        expect(fs.statSync(path.join(r.dir, ".state/pulumi")).mode & 0o777).toBe(0o700);
        expect(fs.statSync(path.join(r.dir, ".state")).mode & 0o777).toBe(0o700);
    });
    it("refuses a real-host stack without a passphrase of the operator's own, naming the fix", () => {
        const r = run(REAL, {});
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/targets real hosts.*passphrase of your own/);
        expect(r.stderr).toMatch(/PULUMI_CONFIG_PASSPHRASE_FILE/);
    });
    it("refuses the published lab passphrase for a real-host stack", () => {
        const r = run(REAL, { PULUMI_CONFIG_PASSPHRASE: "reverse-ssh-tunnel-lab" });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/published lab passphrase/);
    });
    it("accepts a real-host stack with the operator's passphrase file", () => {
        const r = run(REAL, { PULUMI_CONFIG_PASSPHRASE_FILE: "/dev/null" });
        expect(r.status, r.stderr).toBe(0);
    });
});
