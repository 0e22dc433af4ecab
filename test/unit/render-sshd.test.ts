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
