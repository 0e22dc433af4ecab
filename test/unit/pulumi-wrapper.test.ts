/**
 * `npm run pulumi` (scripts/pulumi.sh) picks the stack from `--stack`/`-s`/RST_STACK and
 * refuses one without a stack file before anything else runs. Its full path (toolchain,
 * backend, passphrase, up/destroy/stack rm) runs in test/lab/guided-setup.test.ts.
 */
import { spawnSync } from "node:child_process";
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
