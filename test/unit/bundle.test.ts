/**
 * The stdin bundle every command runs (`bash -s -- PHASE`): one phase runs, the data
 * after the bundle reaches only a script that reads stdin, and is never run as code.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderSshdApplyScript, renderSshdRemoveScript } from "../../components/sshd";
import { SSHD_FUNCTIONS } from "../../components/sshd/functions";
import { SSHD_JUDGE } from "../../components/sshd/judge";
import { librarySection, renderBundle, renderScript, SCRIPT_PRELUDE } from "../../components/shell";

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

    it("carries the prelude and shared library sections once, and equal create and update scripts once", () => {
        const lib = librarySection("rst_lib_hello() { echo \"hello $1\"; }");
        const apply = renderScript(lib, 'rst_lib_hello apply; k=$(cat); echo "read ${#k} bytes"');
        const remove = renderScript(lib, "rst_lib_hello remove");
        // The prelude's state directory, moved out of the test machine's /run.
        const state = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rst-bundle-")), "state");
        const uid = process.getuid?.() ?? 0;
        const rendered = renderBundle({ create: apply, update: apply, delete: remove }, data);
        expect(rendered.split("\nrst_private_dir() {\n").length - 1).toBe(1);
        expect(SCRIPT_PRELUDE).toContain("\nrst_private_dir() {\n");
        const b = rendered
            .replace("rst_state_dir=/run/reverse-ssh-tunnel", `rst_state_dir=${state}`)
            .replace(`= "0:700" ]`, `= "${uid}:700" ]`);
        expect(b).toContain(`rst_state_dir=${state}`);
        expect(b.split("rst_lib_hello() {").length - 1).toBe(1);
        expect(b).toContain("\ncreate|update) {\n");
        expect(run("create", b).stdout).toBe(`hello apply\nread ${data.length - 1} bytes\n`);
        expect(run("update", b).stdout).toBe(`hello apply\nread ${data.length - 1} bytes\n`);
        const del = run("delete", b);
        expect(del.stdout).toBe("hello remove\n");
        expect(`${del.stdout}${del.stderr}`).not.toMatch(/LEAKED|secret/);
    });

    it("keeps the sshd policy's bundle near one script's size (the state stores it twice per command)", () => {
        const args = { user: "tunnel-b1", listenPorts: [2401] };
        const apply = renderSshdApplyScript(args);
        const remove = renderSshdRemoveScript(args);
        const b = renderBundle({ create: apply, update: apply, delete: remove });
        // Before: create + update + delete in full, 85.6 KB for these scripts.
        expect(b.length).toBeLessThan(apply.length * 1.1);
    });

    it("drops the shared sections' comment lines and nothing else: the same functions, valid bash", () => {
        const apply = renderSshdApplyScript({ user: "tunnel-b1", listenPorts: [2401] });
        const b = renderBundle({ create: apply, update: apply });
        const head = b.slice(b.indexOf("\n{\n") + 3, b.indexOf('\n}\ncase "${1:-}" in'));
        expect(head).not.toMatch(/^\s*#/m);
        const functions = (text: string) => spawnSync("bash", ["-c", `eval "$(cat)"; declare -F`], { input: text.replace(/^rst_private_dir$/m, "true").replace(/^\[ -x "\$rst_sshd" \].*$/m, "true"), encoding: "utf8" }).stdout;
        const full = SCRIPT_PRELUDE + "\n" + SSHD_FUNCTIONS + "\n" + SSHD_JUDGE;
        expect(functions(head)).toBe(functions(full));
        expect(functions(head).split("\n").length).toBeGreaterThan(25);
        expect(spawnSync("bash", ["-n"], { input: b }).status).toBe(0);
        expect(() => librarySection("cat <<'EOF'\n# data\nEOF")).toThrow(/heredoc/);
    });
});
