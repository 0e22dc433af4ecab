import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { authorizedKeysPath, renderAccountApplyScript, renderAccountFinalizeScript, renderAccountRevokeScript, renderAuthorizedKeys, renderKeyOptions } from "../../components/account";
import { renderMainClientConfig } from "../../components/tunnel";
import { makeKeyPair, SAMPLE_KEY } from "../support/fixtures";

describe("authorized key line", () => {
    it("restricts everything, then allows only its listen ports and a forced no-op command", () => {
        const opts = renderKeyOptions({ user: "t", listenPorts: [2222, 8443], publicKey: SAMPLE_KEY, expiry: "20301231", allowedSources: ["203.0.113.0/24"] });
        expect(opts.split(",")).toEqual([
            "restrict",
            "port-forwarding",
            'permitlisten="127.0.0.1:2222"',
            'permitlisten="127.0.0.1:8443"',
            'permitopen="255.255.255.255:1"',
            'command="/bin/false"',
            // keyExpiry is the last day accepted: sshd refuses from the next day's midnight.
            'expiry-time="20310101"',
            'from="203.0.113.0/24"',
        ]);
    });
    it("is a valid authorized_keys file for ssh-keygen", () => {
        const { publicKey } = makeKeyPair();
        const text = renderAuthorizedKeys({ user: "t", listenPorts: [2222], publicKey });
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rst-ak-")), "ak");
        fs.writeFileSync(file, text);
        const r = spawnSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/ED25519/);
    });
    it("rejects malformed options before they reach a file", () => {
        expect(() => renderKeyOptions({ user: "t", listenPorts: [2222], publicKey: SAMPLE_KEY, expiry: "2030-12-31" })).toThrow(/^expiry:/);
        expect(() => renderKeyOptions({ user: "t", listenPorts: [2222], publicKey: SAMPLE_KEY, expiry: "20301331" })).toThrow(/^expiry:/);
        expect(() => renderKeyOptions({ user: "t", listenPorts: [2222], publicKey: SAMPLE_KEY, allowedSources: ['1.2.3.4",command="sh'] })).toThrow(/allowedSources\[0\]/);
        expect(() => renderAuthorizedKeys({ user: "t", listenPorts: [2222], publicKey: "ssh-ed25519 AAAA" })).toThrow(/publicKey\[0\]/);
    });
});

describe("account scripts", () => {
    const apply = renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY });
    it("creates a system account with nologin, password '*', no home and no groups", () => {
        expect(apply).toMatch(/useradd --system --user-group --no-create-home --home-dir \/nonexistent/);
        expect(apply).toContain(`usermod --password '*'`);
        expect(apply).toContain(`usermod --groups ''`);
        expect(apply).toContain(`rst_install_file "$rst_keys_file" 644 root root`);
        expect(authorizedKeysPath("tunnel-pi")).toBe("/etc/ssh/reverse-ssh-tunnel/authorized_keys/tunnel-pi");
    });
    it("finalizes a rotation with the apply's own sections, skipped when the key file already holds exactly the final keys", () => {
        const args = { user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, owner: "org/p/s/pi" };
        const fin = renderAccountFinalizeScript(args);
        const final = renderAuthorizedKeys(args);
        // The comparison file is exactly what the apply installs, and the apply runs only when it differs.
        const writeNew = `printf '%s\\n' "$rst_keys_text" >"$rst_keys_new"`;
        expect(fin).toContain(writeNew);
        expect(fin).toContain(final.trimEnd());
        const guard = fin.indexOf('if [ -e "$rst_sweep_pending" ] || ! rst_in_place "$rst_keys_file" 644 root root "$rst_keys_new"; then');
        expect(guard).toBeGreaterThan(fin.indexOf(writeNew));
        for (const step of ['rst_ensure_account "$rst_user"', 'rst_install_file "$rst_keys_file" 644 root root', "rst_end_sessions"]) {
            expect(fin.indexOf(step, guard), step).toBeGreaterThan(guard);
        }
        // The apply keeps no previous key here, and the wait for the current key's session always runs.
        expect(fin).not.toContain("rst_previous_comment=");
        expect(fin.lastIndexOf("rst_current_fp=")).toBeGreaterThan(fin.lastIndexOf("\nfi\n", fin.indexOf("rst_current_fp=")));
    });
    it("marks a sweep pending before the key file changes and clears it after the sweep; a pending sweep ends every session", () => {
        const at = (t: string, from = 0) => apply.indexOf(t, from);
        const mark = at(': >"$rst_sweep_pending"');
        expect(apply).toContain('rst_sweep_pending="$rst_state_dir/sweep-pending-$rst_user"');
        expect(mark).toBeGreaterThan(at('if [ -e "$rst_sweep_pending" ]; then'));
        expect(at('rst_install_file "$rst_keys_file" 644 root root')).toBeGreaterThan(mark);
        expect(at('rm -f -- "$rst_sweep_pending"')).toBeGreaterThan(apply.lastIndexOf('rst_end_sessions "$rst_user" "$rst_keep"'));
        // With the marker the keep list stays empty: no session is attributed to a kept line.
        expect(apply).toContain('[ "$rst_sweep_all" = 1 ] || rst_unchanged_fingerprints');
        // The finalizer takes its shortcut only when no sweep is pending.
        expect(renderAccountFinalizeScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY })).toMatch(/if \[ -e "\$rst_sweep_pending" \] \|\| ! rst_in_place "\$rst_keys_file" /);
    });
    it("refuses to adopt an account it did not create", () => {
        expect(apply).toMatch(/already exists and was not created by reverse-ssh-tunnel/);
    });
    it("revokes by expiring, deleting the key, killing sessions, then removing the account", () => {
        const r = renderAccountRevokeScript({ user: "tunnel-pi", listenPorts: [2222] });
        const body = r.slice(r.lastIndexOf("rst_lock accounts\n"));
        const order = ["usermod --expiredate 1", 'rst_remove "$rst_keys_file"', 'rst_delete_account "$rst_user"'].map((s) => body.indexOf(s));
        expect(order.every((i) => i > 0)).toBe(true);
        expect([...order].sort((a, b) => a - b)).toEqual(order);
        // rst_delete_account kills the account's processes on this host only (never a
        // container's of the same UID) before deleting it.
        const fn = r.slice(r.indexOf("rst_delete_account() {"), r.indexOf("rst_lock() {"));
        expect(fn.indexOf("rst_kill_account_processes")).toBeGreaterThan(0);
        expect(fn.indexOf("userdel")).toBeGreaterThan(fn.indexOf("rst_kill_account_processes"));
        const kill = r.slice(r.indexOf("rst_kill_account_processes() {"), r.indexOf("rst_delete_account() {"));
        expect(kill).toContain("pkill -KILL --ns $$ --nslist pid -u");
        expect(r).not.toMatch(/(pkill|pgrep) (-KILL )?-u/);
        // Afterwards the listener must be gone, or the revocation fails loudly.
        expect(body).toContain("is still held by sshd");
    });
});

describe("key rotation overlap", () => {
    it("keeps only the immediately previous key, re-rendered with the new options and a short expiry, only when asked", () => {
        const exact = renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY });
        const overlap = renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, keepPreviousKey: true });
        expect(exact).not.toContain("rst_prev_key");
        expect(overlap).toContain(`date -u -d "+$rst_overlap_minutes minutes" +%Y%m%d%H%MZ`);
        expect(overlap).toContain(`printf '%s,expiry-time="%s" %s %s\\n' "$rst_options" "$rst_prev_expiry" "$rst_prev_key" "$rst_previous_comment"`);
        expect(overlap).toContain(`rst_options='restrict,port-forwarding,permitlisten="127.0.0.1:2222",permitopen="255.255.255.255:1",command="/bin/false"'`);
    });
});

describe("main's client config for ssh backup-<name>", () => {
    it("goes to the tunnel port and accepts only the pinned backup key (ssh -G)", () => {
        const { publicKey } = makeKeyPair();
        const text = renderMainClientConfig({ name: "pi", port: 2222, backupHostKeys: [publicKey, SAMPLE_KEY] });
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rst-cc-")), "config");
        fs.writeFileSync(file, text);
        const r = spawnSync("ssh", ["-G", "-F", file, "backup-pi"], { encoding: "utf8" });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^hostname 127\.0\.0\.1$/m);
        expect(r.stdout).toMatch(/^port 2222$/m);
        expect(r.stdout).toMatch(/^user root$/m);
        expect(r.stdout).toMatch(/^stricthostkeychecking true$/m);
        expect(r.stdout).toMatch(/^userknownhostsfile \/dev\/null$/m);
        // The KnownHostsCommand prints exactly the pinned keys.
        const cmd = /^knownhostscommand (.*)$/m.exec(r.stdout)?.[1] ?? "";
        const out = spawnSync("bash", ["-c", cmd], { encoding: "utf8" }).stdout;
        expect(out).toBe(`backup-pi ${publicKey.split(" ").slice(0, 2).join(" ")}\nbackup-pi ${SAMPLE_KEY}\n`);
    });
});
