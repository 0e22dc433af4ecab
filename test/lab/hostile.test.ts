/**
 * Hostile but common starting configurations on main. The library either works or
 * fails with a message that names the conflict; sshd is never left broken.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import * as c from "../support/internals";
import { applyTunnel, destroyTunnel, LabTunnel, runScript } from "../support/apply";
import { runAttackMatrix } from "../support/attacks";
import { etcSnapshot, keyRefused, sh, snapshotDiff, tryTunnelKey, tunnelWorks } from "../support/hosts";

const T: LabTunnel = { name: "hostile", backupHost: "backup1", port: 2230 };

describe.sequential("hostile sshd configurations on main", () => {
    let lab: LabDescription;
    let pristine: Map<string, string>;

    beforeAll(async () => {
        lab = loadLab();
        await sh(lab.main, "cp -a /etc/ssh/sshd_config /root/sshd_config.pristine");
        pristine = await etcSnapshot(lab.main);
    });

    afterEach(async () => {
        await destroyTunnel(T, {}, lab);
        await sh(lab.main, "cp -a /root/sshd_config.pristine /etc/ssh/sshd_config; rm -f /etc/ssh/sshd_config.d/*-hostile*.conf; sshd -t && systemctl reload ssh");
        await sh(lab.main, "pkill -f rst-lock-squat; rm -f /run/lock/reverse-ssh-tunnel.lock; true", { allowFail: true });
        const diff = snapshotDiff(pristine, await etcSnapshot(lab.main));
        expect(diff, diff.join("\n")).toEqual([]);
    });

    async function sshdHealthy(): Promise<void> {
        expect((await sh(lab.main, "sshd -t && systemctl is-active ssh")).trim()).toBe("active");
        expect((await runScript(lab.main, "#!/bin/bash\nid -un", { lab })).stdout.trim()).toBe("root");
    }

    it("global `DisableForwarding yes` (CIS baselines): handled inside the Match block", async () => {
        await sh(lab.main, "printf 'DisableForwarding yes\\n' > /etc/ssh/sshd_config.d/50-hostile-cis.conf && systemctl reload ssh");
        await applyTunnel(T, lab);
        expect(await tunnelWorks(lab.main, "hostile", "backup1")).toBe(true);
        expect(await sh(lab.main, "sshd -T -C user=admin,host=x,addr=203.0.113.9 | grep ^disableforwarding")).toMatch(/yes/);
        await sshdHealthy();
    });

    it("an earlier drop-in with `Match all` that wins: refused with the conflicting file named, nothing changed", async () => {
        await sh(lab.main, "printf 'Match all\\n    AllowTcpForwarding no\\n' > /etc/ssh/sshd_config.d/00-aaa-hostile.conf && systemctl reload ssh");
        const before = await etcSnapshot(lab.main);
        const err = await applyTunnel(T, lab).then(() => "", (e: Error) => e.message);
        expect(err).toMatch(/allowtcpforwarding is 'no' for tunnel-hostile \(from [^)]*\), the tunnel policy needs 'remote'/);
        expect(err).toMatch(/00-aaa-hostile\.conf:2:\s+AllowTcpForwarding no/);
        expect(err).toMatch(/00-aaa-hostile\.conf:1: Match all/);
        expect(err).toMatch(/previous files were restored and sshd was not reloaded/);
        const after = await etcSnapshot(lab.main);
        // Only the account (created before the policy) differs; no sshd file changed.
        expect(snapshotDiff(before, after).filter((l) => l.includes("/etc/ssh/sshd_config"))).toEqual([]);
        await sshdHealthy();
    });

    it("sshd_config without an Include line: a managed block at the end, removed cleanly", async () => {
        await sh(lab.main, "sed -i '/^Include/d' /etc/ssh/sshd_config && sshd -t && systemctl reload ssh");
        const before = await sh(lab.main, "cat /etc/ssh/sshd_config");
        await applyTunnel(T, lab);
        const cfg = await sh(lab.main, "cat /etc/ssh/sshd_config");
        expect(cfg.startsWith(before)).toBe(true);
        expect(cfg).toMatch(/# BEGIN reverse-ssh-tunnel tunnel-hostile[^\n]*\n[\s\S]*Match User tunnel-hostile[\s\S]*Match all\n# END reverse-ssh-tunnel tunnel-hostile\n$/);
        expect((await sh(lab.main, "ls /etc/ssh/sshd_config.d/ | grep reverse-ssh-tunnel || true")).trim()).toBe("");
        expect(await tunnelWorks(lab.main, "hostile", "backup1")).toBe(true);
        await destroyTunnel(T, {}, lab);
        expect(await sh(lab.main, "cat /etc/ssh/sshd_config")).toBe(before);
        await sshdHealthy();
    });

    it("placement 'dropin' where sshd would ignore it: a clear error, nothing written", async () => {
        await sh(lab.main, "sed -i '/^Include/d' /etc/ssh/sshd_config && systemctl reload ssh");
        const err = await applyTunnel({ ...T, placement: "dropin" }, lab).then(() => "", (e: Error) => e.message);
        expect(err).toMatch(/has no 'Include \/etc\/ssh\/sshd_config\.d\/\*\.conf' before its first Match/);
        expect((await sh(lab.main, "ls /etc/ssh/sshd_config.d/ | grep reverse-ssh-tunnel || true")).trim()).toBe("");
        await sshdHealthy();
    });

    it("`Subsystem sftp internal-sftp`: the policy still holds (sftp refused by the matrix) and the tunnel works", async () => {
        await sh(lab.main, "sed -i 's|^Subsystem.*|Subsystem sftp internal-sftp|' /etc/ssh/sshd_config && sshd -t && systemctl reload ssh");
        await applyTunnel(T, lab);
        expect(await sh(lab.main, "sshd -T -C user=tunnel-hostile,host=x,addr=203.0.113.9 | grep -E '^(forcecommand|maxsessions)'")).toBe("maxsessions 0\nforcecommand /bin/false\n");
        expect(await tunnelWorks(lab.main, "hostile", "backup1")).toBe(true);
        await sshdHealthy();
    });

    /** Applies with an earlier block in place; returns the error text ("" when it worked). */
    async function applyWith(dropin: string, text: string): Promise<{ err: string; before: Map<string, string> }> {
        await sh(lab.main, `printf '${text}' > /etc/ssh/sshd_config.d/${dropin} && sshd -t && systemctl reload ssh`);
        const before = await etcSnapshot(lab.main);
        const err = await applyTunnel(T, lab).then(() => "", (e: Error) => e.message);
        return { err, before };
    }
    async function refusedBeforeAnyChange(r: { err: string; before: Map<string, string> }, dropin: string, line: number): Promise<void> {
        expect(r.err).toContain(`/etc/ssh/sshd_config.d/${dropin}:${line}: Match`);
        expect(r.err).toMatch(/Fix: exclude the tunnel accounts from each of them, e\.g\. add 'User \*,!tunnel-\*'/);
        expect(r.err).toMatch(/previous files were restored and sshd was not reloaded/);
        const diff = snapshotDiff(r.before, await etcSnapshot(lab.main));
        // The policy goes first and is refused: no account, no file changed.
        expect(diff, diff.join("\n")).toEqual([]);
        await sshdHealthy();
    }
    const PERMISSIVE = "    AllowTcpForwarding yes\\n    PermitOpen any\\n    PermitListen any\\n    AllowStreamLocalForwarding yes\\n";

    it("finding High/earlier Match: `Match Address <LAN ranges>` read before the policy is refused with file:line and the fix", async () => {
        const r = await applyWith("00-aaa-hostile.conf", `Match Address 10.0.0.0/8,192.168.0.0/16\\n${PERMISSIVE}`);
        await refusedBeforeAnyChange(r, "00-aaa-hostile.conf", 1);
        expect(r.err).toMatch(/sets AllowTcpForwarding at \/etc\/ssh\/sshd_config\.d\/00-aaa-hostile\.conf:2/);
    });

    it("finding High/earlier Match: `Match Group` that includes the tunnel account's group is refused", async () => {
        const r = await applyWith("00-aab-hostile.conf", `Match Group *,!admin\\n${PERMISSIVE}`);
        await refusedBeforeAnyChange(r, "00-aab-hostile.conf", 1);
    });

    it("finding High/earlier Match: `Match LocalPort` no longer breaks the check, and one that sets forwarding is refused", async () => {
        // Harmless: sets nothing the policy sets (before the fix: "'lport' not in connection test specification").
        await sh(lab.main, "printf 'Match LocalPort 22\\n    PermitRootLogin no\\n' > /etc/ssh/sshd_config.d/00-aac-hostile.conf && sshd -t && systemctl reload ssh");
        await applyTunnel(T, lab);
        expect(await tunnelWorks(lab.main, "hostile", "backup1")).toBe(true);
        await destroyTunnel(T, {}, lab);
        const r = await applyWith("00-aac-hostile.conf", `Match LocalPort 22\\n${PERMISSIVE}`);
        await refusedBeforeAnyChange(r, "00-aac-hostile.conf", 1);
    });

    it("finding High/earlier Match: `Match Host` is refused where sshd looks names up; `Match User <another user>` is harmless and every leaked-key attack stays refused", async () => {
        // UseDNS no (Debian's default): sshd matches Host patterns against the client's
        // address, which *.example.org never matches: sshd's own verdict accepts it.
        await sh(lab.main, `printf 'Match Host *.example.org\\n${PERMISSIVE}' > /etc/ssh/sshd_config.d/00-aad-hostile.conf && sshd -t && systemctl reload ssh`);
        await applyTunnel(T, lab);
        expect(await tunnelWorks(lab.main, "hostile", "backup1")).toBe(true);
        await destroyTunnel(T, {}, lab);
        // UseDNS yes: a client whose reverse name ends in .example.org gets the block.
        const r = await applyWith("00-aad-hostile.conf", `UseDNS yes\\nMatch Host *.example.org\\n${PERMISSIVE}`);
        await refusedBeforeAnyChange(r, "00-aad-hostile.conf", 2);
        expect(r.err).toMatch(/\(host rst-probe\.example\.org\)/);
        await sh(lab.main, "rm -f /etc/ssh/sshd_config.d/00-aad-hostile.conf");
        await sh(lab.main, `printf 'Match User admin,root\\n${PERMISSIVE}' > /etc/ssh/sshd_config.d/00-aae-hostile.conf && sshd -t && systemctl reload ssh`);
        const applied = await applyTunnel(T, lab);
        expect(await tunnelWorks(lab.main, "hostile", "backup1")).toBe(true);
        await sh("backup1", "systemctl stop reverse-ssh-tunnel-hostile");
        const results = await runAttackMatrix({ lab, user: "tunnel-hostile", privateKey: applied.key.privateKey, ownPort: T.port, otherPort: 2299 });
        expect(results.find((x) => x.id === "intended-remote-forward")?.succeeded).toBe(true);
        const got = results.filter((x) => x.succeeded && x.id !== "intended-remote-forward").map((x) => x.id);
        expect(got).toEqual([]);
    });

    it("finding High/earlier Match, managed block: the policy goes before sshd_config's first Match, so a `Match Address` covering the attacker cannot widen it", async () => {
        await sh(lab.main, `sed -i '/^Include/d' /etc/ssh/sshd_config && printf 'Match Address 10.231.0.0/16\\n${PERMISSIVE}' >> /etc/ssh/sshd_config && sshd -t && systemctl reload ssh`);
        const applied = await applyTunnel(T, lab);
        const cfg = await sh(lab.main, "cat /etc/ssh/sshd_config");
        expect(cfg.indexOf("Match User tunnel-hostile")).toBeLessThan(cfg.indexOf("Match Address 10.231.0.0/16"));
        expect(await tunnelWorks(lab.main, "hostile", "backup1")).toBe(true);
        // The operator (10.231.0.1) is inside that Match Address: -L with the leaked key is still refused.
        await sh("backup1", "systemctl stop reverse-ssh-tunnel-hostile");
        const results = await runAttackMatrix({ lab, user: "tunnel-hostile", privateKey: applied.key.privateKey, ownPort: T.port, otherPort: 2299 });
        expect(results.find((x) => x.id === "intended-remote-forward")?.succeeded).toBe(true);
        expect(results.filter((x) => x.succeeded && x.id !== "intended-remote-forward").map((x) => x.id)).toEqual([]);
    });

    it("finding Low 3: `AllowUsers admin root` is detected at apply with file:line and the fix, before any change", async () => {
        await sh(lab.main, "printf 'AllowUsers admin root\\n' > /etc/ssh/sshd_config.d/10-hostile-allow.conf && sshd -t && systemctl reload ssh");
        const before = await etcSnapshot(lab.main);
        const err = await applyTunnel(T, lab).then(() => "", (e: Error) => e.message);
        expect(err).toMatch(/AllowUsers does not list tunnel-hostile/);
        expect(err).toContain("/etc/ssh/sshd_config.d/10-hostile-allow.conf:1: AllowUsers admin root");
        expect(err).toMatch(/Fix: add tunnel-hostile to that list yourself/);
        expect(snapshotDiff(before, await etcSnapshot(lab.main))).toEqual([]);
        await sshdHealthy();
    });

    it("finding Low 3: `DenyGroups tunnel-*` is detected at apply", async () => {
        await sh(lab.main, "printf 'DenyGroups tunnel-*\\n' > /etc/ssh/sshd_config.d/10-hostile-deny.conf && sshd -t && systemctl reload ssh");
        const err = await applyTunnel(T, lab).then(() => "", (e: Error) => e.message);
        expect(err).toMatch(/DenyGroups matches a group of tunnel-hostile/);
        expect(err).toContain("10-hostile-deny.conf:1: DenyGroups tunnel-*");
        await sshdHealthy();
    });

    it("finding Medium/lock: a lock squatted by an unprivileged user in /run/lock does not block apply or revoke", async () => {
        await sh(lab.main, "setsid runuser -u nobody -- flock /run/lock/reverse-ssh-tunnel.lock bash -c 'exec -a rst-lock-squat sleep 600' </dev/null >/dev/null 2>&1 & sleep 0.5; pgrep -f rst-lock-squat >/dev/null");
        const t0 = Date.now();
        await applyTunnel(T, lab);
        await destroyTunnel(T, {}, lab);
        expect(Date.now() - t0).toBeLessThan(60_000);
        expect((await sh(lab.main, "stat -c '%U %a' /run/reverse-ssh-tunnel")).trim()).toBe("root 700");
    });

    // Issue 18: configurations the old parser read differently from sshd, each of which it
    // accepted while sshd gave the tunnel account forwarding (test/diff/regressions.ts has
    // them all on both sshd versions; here on a real main, with sshd reloaded on them).
    const OLD_PARSER_MISREAD: ReadonlyArray<[string, string, string]> = [
        ["a trailing comment on a Match line", "00-aaf-hostile.conf", `Match Address 10.231.0.0/16 # for user backup\\n${PERMISSIVE}`],
        ["a LocalPort block on a second port sshd listens on", "00-aag-hostile.conf", `Match LocalPort 2022 # for user backup\\n${PERMISSIVE}`],
        ["CRLF line endings", "00-aah-hostile.conf", `Match Address 10.231.0.0/16 User tunnel-*\\r\\n${PERMISSIVE.replace(/\\n/g, "\\r\\n")}`],
        ["a quoted keyword and the alias ChallengeResponseAuthentication", "00-aai-hostile.conf", `"Match" Address 10.231.0.0/16\\n    "AllowTcpForwarding" yes\\n    ChallengeResponseAuthentication yes\\n`],
    ];
    it("issue 18: each configuration the old parser misread is refused before any change, as sshd itself reads it", async () => {
        await sh(lab.main, "printf 'Port 22\\nPort 2022\\n' > /etc/ssh/sshd_config.d/01-hostile-ports.conf && sshd -t && systemctl reload ssh");
        try {
            for (const [name, dropin, text] of OLD_PARSER_MISREAD) {
                const r = await applyWith(dropin, text);
                expect(r.err, name).toMatch(/conflict with the tunnel policy/);
                expect(r.err, name).toContain(`/etc/ssh/sshd_config.d/${dropin}:1: `);
                expect(r.err, name).toMatch(/previous files were restored and sshd was not reloaded/);
                expect(snapshotDiff(r.before, await etcSnapshot(lab.main)), name).toEqual([]);
                await sh(lab.main, `rm -f /etc/ssh/sshd_config.d/${dropin} && systemctl reload ssh`);
            }
            await sshdHealthy();
        } finally {
            await sh(lab.main, "rm -f /etc/ssh/sshd_config.d/01-hostile-ports.conf && systemctl reload ssh");
        }
    });

    it("issue 18: a commented `Match Address` covering the attacker in sshd_config (no Include): the policy goes first, and the leaked key wins nothing", async () => {
        await sh(lab.main, `sed -i '/^Include/d' /etc/ssh/sshd_config && printf 'Match Address 10.231.0.0/16 # for user backup\\n${PERMISSIVE}' >> /etc/ssh/sshd_config && sshd -t && systemctl reload ssh`);
        const applied = await applyTunnel(T, lab);
        expect(await tunnelWorks(lab.main, "hostile", "backup1")).toBe(true);
        await sh("backup1", "systemctl stop reverse-ssh-tunnel-hostile");
        const results = await runAttackMatrix({ lab, user: "tunnel-hostile", privateKey: applied.key.privateKey, ownPort: T.port, otherPort: 2299 });
        expect(results.find((x) => x.id === "intended-remote-forward")?.succeeded).toBe(true);
        expect(results.filter((x) => x.succeeded && x.id !== "intended-remote-forward").map((x) => x.id)).toEqual([]);
    });

    for (const [step, anchor] of [
        ["after writing the drop-in, before sshd -t", "\nrst_validate_syntax\n"],
        ["during sshd's judgement of the written files", '\nrst_judge "$rst_user" '],
        ["just before sshd takes the files", '\n    rst_reload_sshd\n    rst_commit\n    rst_note "sshd policy for $rst_user installed'],
    ] as const) {
        it(`finding Medium/interrupted: an apply killed by SIGTERM ${step} leaves /etc/ssh as it was; after SIGKILL there the next run reloads sshd`, async () => {
            const s = c.resolveTunnelSettings({ name: T.name, port: T.port, main: { host: "x", insecureSkipHostKeyCheck: true }, backup: { host: "y", insecureSkipHostKeyCheck: true } });
            const script = c.renderSshdApplyScript({ user: s.tunnelUser, listenPorts: s.listenPorts, description: `backup ${s.name}` });
            expect(script).toContain(anchor);
            // A function as replacement: in a replacement string "$$" would become "$".
            const killed = (sig: string) => script.replace(anchor, () => `\nkill -${sig} $$\n${anchor.slice(1)}`);
            expect(killed("TERM")).toContain("\nkill -TERM $$\n");
            const before = await sh(lab.main, "cd /etc/ssh && find . -type f -exec sha256sum {} + | sort");
            const r = await runScript(lab.main, killed("TERM"), { lab, allowFail: true });
            expect(r.code).not.toBe(0);
            expect(await sh(lab.main, "cd /etc/ssh && find . -type f -exec sha256sum {} + | sort")).toBe(before);
            expect((await sh(lab.main, "ls /run/reverse-ssh-tunnel/")).trim()).not.toMatch(/sshd-reload-pending|sshd-backup/);
            // SIGKILL: no trap runs. The files may be new, and the next run must make sshd use them.
            await runScript(lab.main, killed("KILL"), { lab, allowFail: true });
            const again = await runScript(lab.main, script, { lab });
            expect(again.stdout).toMatch(/installed \(dropin\); sshd \(service ssh\.service\) runs on it/);
            expect((await sh(lab.main, "ls /run/reverse-ssh-tunnel/")).trim()).not.toMatch(/sshd-reload-pending/);
            await runScript(lab.main, c.renderSshdRemoveScript({ user: s.tunnelUser }), { lab });
        });
    }

    it("finding High/revocation order: a destroy whose sshd reload fails still refuses the key and ends the live tunnel", async () => {
        const applied = await applyTunnel(T, lab);
        expect(await tunnelWorks(lab.main, "hostile", "backup1")).toBe(true);
        // Make every reload fail (an admin's broken ExecReload, or a socket-activated sshd).
        await sh(lab.main, "mkdir -p /run/systemd/system/ssh.service.d && printf '[Service]\\nExecReload=\\nExecReload=/bin/false\\n' > /run/systemd/system/ssh.service.d/rst-broken-reload.conf && systemctl daemon-reload");
        try {
            const err = await destroyTunnel(T, {}, lab).then(() => "", (e: Error) => e.message);
            expect(err).toMatch(/did not take the new configuration/);
            expect(keyRefused(lab, "tunnel-hostile", applied.key.privateKey)).toBe(true);
            expect((await sh(lab.main, `ss -Hltn 'sport = :${T.port}'`)).trim()).toBe("");
            expect((await sh(lab.main, "getent passwd tunnel-hostile || echo gone")).trim()).toBe("gone");
        } finally {
            await sh(lab.main, "rm -rf /run/systemd/system/ssh.service.d && systemctl daemon-reload");
        }
        // The next run converges.
        await destroyTunnel(T, {}, lab);
        expect((await sh(lab.main, "ls /etc/ssh/sshd_config.d/ | grep -c reverse-ssh-tunnel || true")).trim()).toBe("0");
        void tryTunnelKey;
    });
});
