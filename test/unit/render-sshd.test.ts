import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { shQuote } from "../../components/shell";
import {
    dropinPath,
    expectedEffectiveSettings,
    managedBlockMarkers,
    renderMatchBlock,
    renderSshdApplyScript,
    renderSshdRemoveScript,
    tunnelPolicy,
} from "../../components/sshd";
import { SSHD_FUNCTIONS } from "../../components/sshd/functions";

function blockSettings(block: string): Map<string, string> {
    const lines = block.split("\n").filter((l) => l.startsWith("    "));
    return new Map(lines.map((l) => {
        const [k, ...v] = l.trim().split(/\s+/);
        return [k as string, v.join(" ")];
    }));
}

describe("Match block", () => {
    const block = renderMatchBlock({ user: "tunnel-pi", listenPorts: [2222, 8443] });
    const s = blockSettings(block);

    it("matches exactly the tunnel user", () => {
        expect(block).toMatch(/^Match User tunnel-pi$/m);
        expect(block.match(/^Match /gm)).toHaveLength(1);
    });
    it("allows only remote forwarding to its own loopback ports, in the form the client requests", () => {
        expect(s.get("AllowTcpForwarding")).toBe("remote");
        expect(s.get("PermitListen")).toBe("127.0.0.1:2222 127.0.0.1:8443");
        expect(s.get("GatewayPorts")).toBe("no");
        expect(s.get("PermitOpen")).toBe("none");
        expect(s.get("AllowStreamLocalForwarding")).toBe("no");
        expect(s.get("DisableForwarding")).toBe("no");
    });
    it("refuses sessions, pty, agent, X11, tun, user rc, subsystems", () => {
        expect(s.get("MaxSessions")).toBe("0");
        expect(s.get("PermitTTY")).toBe("no");
        expect(s.get("AllowAgentForwarding")).toBe("no");
        expect(s.get("X11Forwarding")).toBe("no");
        expect(s.get("PermitTunnel")).toBe("no");
        expect(s.get("PermitUserRC")).toBe("no");
        expect(s.get("ForceCommand")).toBe("/bin/false");
    });
    it("authenticates by public key only, from a root-owned key file", () => {
        expect(s.get("AuthenticationMethods")).toBe("publickey");
        expect(s.get("PasswordAuthentication")).toBe("no");
        expect(s.get("KbdInteractiveAuthentication")).toBe("no");
        expect(s.get("AuthorizedKeysFile")).toBe("/etc/ssh/reverse-ssh-tunnel/authorized_keys/%u");
        expect(s.get("AuthorizedKeysCommand")).toBe("none");
        expect(s.get("TrustedUserCAKeys")).toBe("none");
    });
    it("frees a dead tunnel's port within ~20 s and never sets UnusedConnectionTimeout", () => {
        const interval = Number(s.get("ClientAliveInterval"));
        const count = Number(s.get("ClientAliveCountMax"));
        expect(interval * (count + 1)).toBeLessThanOrEqual(20);
        expect(s.has("UnusedConnectionTimeout")).toBe(false);
    });
    it("verifies every keyword it writes", () => {
        const expected = new Map(expectedEffectiveSettings({ user: "tunnel-pi", listenPorts: [8443, 2222] }));
        for (const p of tunnelPolicy({ user: "tunnel-pi", listenPorts: [2222] })) {
            expect(expected.has(p.keyword.toLowerCase())).toBe(true);
        }
        expect(expected.get("permitlisten")).toBe("127.0.0.1:2222 127.0.0.1:8443");
    });
    it("rejects bad input before rendering", () => {
        expect(() => renderMatchBlock({ user: "x y", listenPorts: [2222] })).toThrow(/user/);
        expect(() => renderMatchBlock({ user: "t", listenPorts: [] })).toThrow(/at least one/);
        expect(() => renderMatchBlock({ user: "t", listenPorts: [22] })).toThrow(/1024/);
    });
});

describe("sshd apply script", () => {
    const script = renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222] });
    it("validates with sshd -t and sshd's own judgement (sshd -T) before reloading, and restores on failure", () => {
        const t = script.indexOf("rst_validate_syntax\n");
        const eff = script.indexOf('rst_judge "$rst_user"');
        const reload = script.lastIndexOf("rst_reload_sshd\n");
        expect(t).toBeGreaterThan(0);
        expect(eff).toBeGreaterThan(t);
        expect(reload).toBeGreaterThan(eff);
        expect(script.match(/rst_restore\n/g)?.length).toBeGreaterThanOrEqual(3);
    });
    it("serialises sshd changes with a host-wide lock in a root-only directory", () => {
        expect(script).toContain("rst_lock sshd\n");
        expect(script).toContain('exec 9>"$rst_state_dir/lock-$1"');
        expect(script).toContain("rst_state_dir=/run/reverse-ssh-tunnel");
        expect(script).not.toMatch(/\/run\/lock|\/tmp\//);
    });
    it("knows both placements and ends a managed block with Match all", () => {
        expect(script).toContain(dropinPath("tunnel-pi"));
        const { begin, end } = managedBlockMarkers("tunnel-pi");
        expect(script).toContain(begin);
        expect(script).toContain(`rst_end=${shQuote(end)}\n`);
        expect(script).toContain(`printf '%s\\n%s\\nMatch all\\n%s\\n' "$rst_begin" "$rst_block_text" "$rst_end" >"$rst_block"`);
    });
    it("remove script validates before reloading", () => {
        const r = renderSshdRemoveScript({ user: "tunnel-pi" });
        expect(r.indexOf("rst_validate_syntax")).toBeLessThan(r.lastIndexOf("rst_reload_sshd"));
    });
});

describe("after a reload, the apply waits for sshd's new sockets, not a fixed time (rst_sshd_up)", () => {
    /** The named functions of SSHD_FUNCTIONS, as defined there. */
    const fn = (name: string) => new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?\\n\\}$`, "m").exec(SSHD_FUNCTIONS)![0];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-sshd-up-"));
    /**
     * Runs rst_sshd_up for a daemon (a sleep standing in for sshd, told by its PID)
     * whose listeners `ss` reports: the old inodes until `after` looks, then `then`.
     */
    function up(opts: { before: string[]; then: string[]; after: number; dies?: boolean; noSs?: boolean }) {
        const bin = path.join(dir, `bin-${Math.random().toString(36).slice(2)}`);
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        const count = path.join(bin, "count");
        if (opts.noSs !== true) {
            const line = (ino: string) => `printf 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=%s,fd=3)) ino:%s sk:1\\n' "$RST_PID" ${ino}`;
            fs.writeFileSync(
                path.join(bin, "ss"),
                `#!/bin/bash\nn=$(cat ${count} 2>/dev/null || echo 0); echo $((n + 1)) >${count}\nif [ "$n" -lt ${opts.after} ]; then\n:\n${opts.before.map(line).join("\n")}\nelse\n:\n${opts.then.map(line).join("\n")}\nfi\n`,
                { mode: 0o755 },
            );
        }
        const script = `set -u
sleep 30 & RST_PID=$!; export RST_PID
${opts.dies === true ? "kill $RST_PID; wait $RST_PID 2>/dev/null" : ""}
rst_sshd_pid() { echo "$RST_PID"; }
${fn("rst_sshd_listen_inodes")}
${fn("rst_sshd_up")}
rst_listen_before='${opts.before.map((i) => `ino:${i}`).join("\n")}'
SECONDS=0; start=$EPOCHREALTIME
rst_sshd_up service ssh.service; rc=$?
printf 'rc=%s ms=%s\\n' "$rc" "$(( (\${EPOCHREALTIME/./} - \${start/./}) / 1000 ))"
kill $RST_PID 2>/dev/null || true`;
        const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
        const m = /rc=(\d+) ms=(\d+)/.exec(r.stdout);
        return { rc: Number(m?.[1]), ms: Number(m?.[2]), stderr: r.stderr };
    }

    it("returns once sshd listens on as many new sockets as before, within a few looks", () => {
        const r = up({ before: ["101", "102"], then: ["201", "202"], after: 3 });
        expect(r.rc).toBe(0);
        // Three looks at 20 ms, not the 300 ms it used to sleep.
        expect(r.ms).toBeLessThan(250);
    });

    it("the old sockets still open (sshd not re-executed yet) are not taken for the new ones", () => {
        const r = up({ before: ["101", "102"], then: ["101", "102", "201"], after: 0 });
        // Only one new socket of two: it waits its 10 s, then takes the admin's own change to fewer sockets.
        expect(r.rc).toBe(0);
        expect(r.ms).toBeGreaterThan(9000);
    }, 30_000);

    it("a daemon that died on the new files fails at once", () => {
        const r = up({ before: ["101"], then: [], after: 0, dies: true });
        expect(r.rc).toBe(1);
        expect(r.ms).toBeLessThan(1000);
        expect(r.stderr).toMatch(/listened on 1 socket\(s\) before the reload and on no new one after it/);
    });

    it("without ss it gives the re-execution 0.3 s and checks the daemon still runs", () => {
        const r = up({ before: [], then: [], after: 0, noSs: true });
        expect(r.rc).toBe(0);
        expect(r.ms).toBeGreaterThanOrEqual(300);
    });
});
