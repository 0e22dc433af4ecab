/**
 * The stdin bundle every command runs (`bash -s -- PHASE`): one phase runs, the data
 * after the bundle reaches only a script that reads stdin, and is never run as code.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { renderBundle } from "../../components/shell";

const run = (phase: string, stdin: string) => spawnSync("bash", ["-s", "--", phase], { input: stdin, encoding: "utf8" });

describe("script bundle on stdin", () => {
    const data = "echo LEAKED-AS-CODE\nsecret line 2\n";
    const bundle = renderBundle({ create: 'echo create; k=$(cat); echo "read ${#k} bytes"', update: "echo update", delete: "echo delete" }, data);
    it("runs the asked phase; the create script reads the data that follows", () => {
        const r = run("create", bundle);
        expect(r.stdout).toBe(`create\nread ${data.length - 1} bytes\n`);
    });
    it("never runs the data as code in a phase that does not read it (delete of the key command)", () => {
        for (const phase of ["update", "delete"]) {
            const r = run(phase, bundle);
            expect(r.stdout, phase).toBe(`${phase}\n`);
            expect(`${r.stdout}${r.stderr}`, phase).not.toMatch(/LEAKED|secret/);
            expect(r.status, phase).toBe(0);
        }
    });
    it("keeps a phase's exit status and refuses an unknown phase", () => {
        expect(run("create", renderBundle({ create: "exit 7", update: "true" })).status).toBe(7);
        expect(run("bogus", renderBundle({ create: "true", update: "true" })).status).toBe(2);
    });
});
