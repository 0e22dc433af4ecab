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
import { fileWordSections, librarySection, packBundle, preludeFor, renderBundle, renderPackedBundle, renderScript, SCRIPT_PRELUDE, unpackBundle } from "../../components/shell";

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

    it("drops the shared sections' comment lines and the prelude functions it never names: the functions it calls, valid bash", () => {
        const apply = renderSshdApplyScript({ user: "tunnel-b1", listenPorts: [2401] });
        const b = renderBundle({ create: apply, update: apply });
        const head = b.slice(b.indexOf("\n{\n") + 3, b.indexOf('\n}\ncase "${1:-}" in'));
        expect(head).not.toMatch(/^\s*#/m);
        const functions = (text: string) =>
            spawnSync("bash", ["-c", `eval "$(cat)"; declare -F`], { input: text.replace(/^rst_private_dir$/m, "true").replace(/^\[ -x "\$rst_sshd" \].*$/m, "true"), encoding: "utf8" })
                .stdout.split("\n")
                .filter((l) => l !== "")
                .map((l) => l.replace(/^declare -f /, ""));
        const full = functions(SCRIPT_PRELUDE + "\n" + SSHD_FUNCTIONS + "\n" + SSHD_JUDGE);
        const kept = functions(head);
        const dropped = full.filter((f) => !kept.includes(f));
        expect(kept.filter((f) => !full.includes(f))).toEqual([]);
        expect(kept.length).toBeGreaterThan(25);
        // Only prelude functions go, and only those nothing in the bundle names (outside comments).
        const code = b.split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");
        expect(dropped.length).toBeGreaterThan(0);
        for (const f of dropped) {
            expect(SCRIPT_PRELUDE, f).toContain(`${f}() {`);
            expect(code, f).not.toMatch(new RegExp(`(^|[^A-Za-z0-9_])${f}($|[^A-Za-z0-9_])`, "m"));
        }
        expect(spawnSync("bash", ["-n"], { input: b }).status).toBe(0);
        expect(() => librarySection("cat <<'EOF'\n# data\nEOF")).toThrow(/heredoc/);
    });

    it("keeps the prelude's statements always, a function when the code or a kept function names it, and never for a name in a comment", () => {
        const bare = preludeFor("echo hi");
        for (const always of ["set -euo pipefail", "trap rst_on_exit EXIT", "rst_private_dir", "rst_fail() {"]) expect(bare).toContain(always);
        expect(bare).not.toContain("rst_ensure_account() {");
        expect(preludeFor("# rst_ensure_account is not called here\necho hi")).toBe(bare);
        // rst_ensure_account calls rst_account_state and rst_nologin_shell: they come along.
        const account = preludeFor('rst_ensure_account "$u" x y');
        for (const f of ["rst_ensure_account", "rst_account_state", "rst_nologin_shell"]) expect(account).toContain(`${f}() {`);
        expect(spawnSync("bash", ["-n"], { input: account }).status).toBe(0);
        expect(preludeFor(SCRIPT_PRELUDE)).toBe(SCRIPT_PRELUDE.trimEnd());
    });
});

describe("packed bundle (what a command's stdin and the state hold)", () => {
    const data = "echo LEAKED-AS-CODE\nsecret line 2\n";
    const scripts = { create: 'echo "create $1"; k=$(cat); echo "read ${#k} bytes"', update: "echo update", delete: "echo delete" };
    const packed = renderPackedBundle(scripts, data);

    it("runs each phase as the plain bundle does; the data reaches only a script that reads stdin", () => {
        const plain = renderBundle(scripts, data);
        for (const phase of ["create", "update", "delete", "bogus"]) {
            const [p, q] = [run(phase, packed), run(phase, plain)];
            expect({ status: p.status, stdout: p.stdout, stderr: p.stderr }, phase).toEqual({ status: q.status, stdout: q.stdout, stderr: q.stderr });
            expect(p.stdout + p.stderr, phase).not.toMatch(/LEAKED/);
        }
        expect(run("create", packed).stdout).toBe(`create create\nread ${data.length - 1} bytes\n`);
    });

    it("is plain base64 between fixed lines, unpacks to the bundle and its data, and is the same bytes every time", () => {
        const bundle = renderBundle(scripts);
        expect(unpackBundle(packed)).toEqual({ bundle, data });
        expect(renderPackedBundle(scripts, data)).toBe(packed);
        const lines = packBundle(bundle).split("\n");
        expect(lines.slice(2, -4).every((l) => /^[A-Za-z0-9+/=]{1,76}$/.test(l))).toBe(true);
        expect(lines.slice(-4)).toEqual(["RST_PACKED", expect.stringMatching(/^\) \|\| \{ echo .*exit 2; \}$/), 'eval "$rst_bundle"; exit', ""]);
        // The gzip header carries no time (bytes 4-7): the same program never shows a diff.
        const gz = Buffer.from(lines.slice(2, -4).join(""), "base64");
        expect([...gz.subarray(0, 3)]).toEqual([0x1f, 0x8b, 8]);
        expect(gz.readUInt32LE(4)).toBe(0);
        expect(() => unpackBundle(bundle)).toThrow(/not a packed/);
    });

    it("stores the sshd policy's bundle in under half its size", () => {
        const args = { user: "tunnel-b1", listenPorts: [2401] };
        const apply = renderSshdApplyScript(args);
        const bundle = renderBundle({ create: apply, update: apply, delete: renderSshdRemoveScript(args) });
        const p = packBundle(bundle);
        expect(p.length).toBeLessThan(bundle.length / 2);
        expect(unpackBundle(p).bundle).toBe(bundle);
    });

    it("refuses to run, naming what the host lacks, when it cannot unpack (no gzip on PATH)", () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "rst-nogzip-"));
        fs.symlinkSync(spawnSync("bash", ["-c", "command -v base64"], { encoding: "utf8" }).stdout.trim(), path.join(bin, "base64"));
        const r = spawnSync("/bin/bash", ["-s", "--", "create"], { input: packed, encoding: "utf8", env: { PATH: bin } });
        expect(r.status).toBe(2);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/cannot unpack the script bundle \(the host needs base64 and gzip\)/);
    });
});

describe("fileWordSections (a file's lines that are the same for every tunnel, as sections a host library can hold)", () => {
    /** What bash holds in `rst_text` after the sections run, printed as the here-string install would write it. */
    const written = (sections: string[]) => spawnSync("bash", ["-c", `${sections.join("\n")}\ncat <<<"$rst_text"`], { encoding: "utf8" });
    const fixed = new Set(["Restart=always", "RestartSec=3", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "[Install]", "short"]);
    const contents = [
        "# it's b1's\n[Unit]\nDescription=x $HOME `id` \\\n\n[Service]\nRestart=always\nRestartSec=3\nNoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\nUser=x\nshort\nGroup=x\n\n[Install]\nWantedBy=multi-user.target\n",
        "Restart=always\nRestartSec=3\nNoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\n",
        "only 'one' line",
        "",
    ];

    it("sets the variable to exactly the file's content, however it is cut", () => {
        for (const content of contents) {
            const r = written(fileWordSections("rst_text", content, fixed));
            expect(r.stderr).toBe("");
            expect(r.stdout).toBe(content.endsWith("\n") ? content : `${content}\n`);
        }
    });

    it("cuts out runs of fixed lines of 60 characters or more, ends them at blank lines, and keeps short runs with their neighbours", () => {
        const sections = fileWordSections("rst_text", contents[0]!, fixed);
        expect(sections).toContain("rst_text+='\nRestart=always\nRestartSec=3\nNoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes'");
        // "short" and "[Install]" are fixed, but too short to be worth a call.
        expect(sections.filter((s) => s.includes("short") || s.includes("[Install]")).every((s) => /User=x|WantedBy/.test(s))).toBe(true);
        expect(sections.length).toBe(3);
        expect(sections[0]).toMatch(/^rst_text='/);
        expect(() => fileWordSections("rst text", "x", fixed)).toThrow(/invalid shell variable name/);
    });
});
