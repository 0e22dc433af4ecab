/**
 * The tunnel on real hosts: end state, a working tunnel, the leaked-key attack
 * matrix, lockout safety, idempotency, self-healing smoke, and revocation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as c from "../support/internals";
import { hostExec, LabDescription, loadLab, restartSshd, setLink } from "../../lab/client";
import { applyTunnel, AppliedTunnel, destroyTunnel, runScript } from "../support/apply";
import { runAttackMatrix } from "../support/attacks";
import { etcSnapshot, sh, snapshotDiff, tryTunnelKey, tunnelWorks, waitFor, writeReport } from "../support/hosts";

const PI = { name: "pi", backupHost: "backup1", port: 2222 };
const GARAGE = { name: "garage", backupHost: "backup2", port: 2223 };

describe.sequential("reverse tunnel on the lab", () => {
    let lab: LabDescription;
    let pi: AppliedTunnel;
    let etcBefore: { main: Map<string, string>; backup: Map<string, string> };
    const timings: Record<string, number> = {};

    afterAll(async () => {
        // Leave the hosts clean for the next file even when a test failed midway.
        await destroyTunnel(PI, {}, lab).catch(() => undefined);
        await destroyTunnel(GARAGE, {}, lab).catch(() => undefined);
    });

    beforeAll(async () => {
        lab = loadLab();
        etcBefore = { main: await etcSnapshot(lab.main), backup: await etcSnapshot("backup1") };
        let t0 = Date.now();
        pi = await applyTunnel(PI, lab);
        timings.firstApplyMs = Date.now() - t0;
        t0 = Date.now();
        await applyTunnel(GARAGE, lab);
        timings.secondBackupApplyMs = Date.now() - t0;
    });

    it("main: sshd's effective settings for the tunnel user are the policy", async () => {
        const out = await sh(lab.main, "sshd -T -C user=tunnel-pi,host=x,addr=203.0.113.9");
        const eff = new Map(out.split("\n").map((l) => [l.split(" ")[0], l.split(" ").slice(1).join(" ")]));
        for (const [k, v] of c.expectedEffectiveSettings({ user: "tunnel-pi", listenPorts: [2222] })) {
            expect(eff.get(k), k).toBe(v);
        }
        // Other users keep main's own defaults.
        const admin = await sh(lab.main, "sshd -T -C user=admin,host=x,addr=203.0.113.9");
        expect(admin).toMatch(/^allowtcpforwarding yes$/m);
        expect(admin).toMatch(/^maxsessions 10$/m);
    });

    it("main: the account has nologin, password '*', no home, no groups, no sudo", async () => {
        const [, , , , gecos, home, shell] = (await sh(lab.main, "getent passwd tunnel-pi")).trim().split(":");
        expect(shell).toBe("/usr/sbin/nologin");
        expect(home).toBe("/nonexistent");
        expect(gecos).toMatch(/^reverse-ssh-tunnel/);
        expect((await sh(lab.main, "getent shadow tunnel-pi")).split(":")[1]).toBe("*");
        expect((await sh(lab.main, "id -nG tunnel-pi")).trim()).toBe("tunnel-pi");
        expect(await sh(lab.main, "sudo -l -U tunnel-pi 2>&1", { allowFail: true })).toMatch(/not allowed to run sudo/);
        expect((await sh(lab.main, "test -e /nonexistent && echo yes || echo no")).trim()).toBe("no");
    });

    it("main: the key file is root-owned and carries the per-key restrictions", async () => {
        expect((await sh(lab.main, "stat -c '%a %U %G' /etc/ssh/reverse-ssh-tunnel /etc/ssh/reverse-ssh-tunnel/authorized_keys /etc/ssh/reverse-ssh-tunnel/authorized_keys/tunnel-pi")).trim().split("\n")).toEqual([
            "755 root root",
            "755 root root",
            "644 root root",
        ]);
        const keys = await sh(lab.main, "grep -v '^#' /etc/ssh/reverse-ssh-tunnel/authorized_keys/tunnel-pi");
        expect(keys.trim()).toBe(`restrict,port-forwarding,permitlisten="127.0.0.1:2222",permitopen="255.255.255.255:1",command="/bin/false" ${pi.key.publicKey} tunnel-pi`);
    });

    it("backup: key root-only, main pinned, unit enabled and active as its own user", async () => {
        const p = c.servicePaths("pi");
        expect((await sh("backup1", `stat -c '%a %U %G' ${p.privateKey}`)).trim()).toBe("600 root root");
        const known = await sh("backup1", `cat ${p.knownHosts}`);
        expect(known.trim().split("\n")).toEqual(pi.mainHostKeys.map((k) => `${p.hostAlias} ${k}`));
        expect(known).toContain(lab.hosts[lab.main]!.hostKeys.ed25519.split(" ")[1]);
        expect((await sh("backup1", `systemctl is-enabled ${p.unitName}; systemctl is-active ${p.unitName}`)).trim()).toBe("enabled\nactive");
        const pid = (await sh("backup1", `systemctl show -P MainPID ${p.unitName}`)).trim();
        expect((await sh("backup1", `ps -o user= -p ${pid}`)).trim()).toBe("rst-pi");
        expect((await sh("backup1", "getent passwd rst-pi | cut -d: -f7")).trim()).toBe("/usr/sbin/nologin");
    });

    it("backup: systemd-analyze security exposure of the running unit is at most 1.5", async () => {
        const out = await sh("backup1", "systemd-analyze security --no-pager reverse-ssh-tunnel-pi.service", { allowFail: true });
        const m = /Overall exposure level for \S+: ([\d.]+)/.exec(out);
        expect(m, out).not.toBeNull();
        timings.exposure = Number(m?.[1]);
        expect(Number(m?.[1])).toBeLessThanOrEqual(1.5);
    });

    it("the tunnel works: `ssh backup-pi` from main reaches the backup, host key pinned", async () => {
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
        expect(await tunnelWorks(lab.main, "garage", "backup2")).toBe(true);
    });

    it("a process squatting the port cannot pose as the backup (pinned host key)", async () => {
        // garage's port pretends to be pi's: a different host key answers.
        await sh(lab.main, "sed 's/Port 2222/Port 2223/' /etc/ssh/ssh_config.d/reverse-ssh-tunnel-pi.conf | sed 's/backup-pi$/backup-impostor/' > /tmp/impostor.conf");
        const r = await hostExec(lab.main, ["runuser", "-u", "admin", "--", "ssh", "-F", "/tmp/impostor.conf", "-o", "BatchMode=yes", "backup-impostor", "hostname"]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    });

    it("leaked key attack matrix: everything refused, only the intended -R works", async () => {
        // Free both ports so a refusal is the policy, not a busy port.
        await sh("backup1", "systemctl stop reverse-ssh-tunnel-pi");
        await sh("backup2", "systemctl stop reverse-ssh-tunnel-garage");
        const stolen = await sh("backup1", `cat ${c.servicePaths("pi").privateKey}`);
        const results = await runAttackMatrix({ lab, user: "tunnel-pi", privateKey: stolen, ownPort: 2222, otherPort: 2223 });
        writeReport("attacks-ours.json", results);
        await sh("backup1", "systemctl start reverse-ssh-tunnel-pi");
        await sh("backup2", "systemctl start reverse-ssh-tunnel-garage");
        const byId = new Map(results.map((r) => [r.id, r]));
        expect(byId.get("intended-remote-forward")?.succeeded).toBe(true);
        const got = results.filter((r) => r.id !== "intended-remote-forward" && r.succeeded);
        expect(got, JSON.stringify(got, null, 1)).toEqual([]);
        expect(results.length).toBeGreaterThanOrEqual(20);
    });

    it("lockout safety: a broken fragment is rejected, the old config keeps serving, the admin still logs in", async () => {
        const before = await etcSnapshot(lab.main);
        const good = c.renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222] });
        // Simulate a rendering bug: an invalid keyword inside the block.
        const broken = good.replace("    MaxSessions 0\n", "    MaxSessions zero\n");
        expect(broken).not.toBe(good);
        const r = await runScript(lab.main, broken, { allowFail: true, lab });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/sshd -t rejected the new configuration; the previous files were restored/);
        expect(snapshotDiff(before, await etcSnapshot(lab.main))).toEqual([]);
        expect((await sh(lab.main, "systemctl is-active ssh")).trim()).toBe("active");
        const login = await runScript(lab.main, "#!/bin/bash\nid -un", { lab });
        expect(login.stdout.trim()).toBe("root");
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
    });

    it("idempotency: a second apply changes no file on main or backup", async () => {
        const before = { main: await etcSnapshot(lab.main), backup: await etcSnapshot("backup1") };
        const again = await applyTunnel({ ...PI, key: pi.key }, lab);
        expect(snapshotDiff(before.main, await etcSnapshot(lab.main))).toEqual([]);
        expect(snapshotDiff(before.backup, await etcSnapshot("backup1"))).toEqual([]);
        // No step reported a change (scripts only speak when they change something).
        const spoke = again.steps.filter((s) => /installed|ready|restarted|replaced|reloaded/.test(s.output) && !/already in place/.test(s.output));
        expect(spoke.map((s) => `${s.step}: ${s.output}`)).toEqual([]);
    });

    it("self-healing smoke: survives an sshd restart on main and a 40 s link cut", async () => {
        await restartSshd(lab.main, lab);
        timings.afterSshdRestartMs = await waitFor(() => tunnelWorks(lab.main, "pi", "backup1"), 60_000);
        expect(timings.afterSshdRestartMs).toBeGreaterThanOrEqual(0);
        await setLink(lab.main, "down", undefined, lab);
        await new Promise((r) => setTimeout(r, 40_000));
        await setLink(lab.main, "up", undefined, lab);
        timings.afterLinkCutMs = await waitFor(() => tunnelWorks(lab.main, "pi", "backup1"), 120_000);
        expect(timings.afterLinkCutMs).toBeGreaterThanOrEqual(0);
        expect(timings.afterLinkCutMs).toBeLessThanOrEqual(30_000);
    });

    it("destroy: key refused, live tunnel cut, port closed, /etc back as it was", async () => {
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
        const stolen = pi.key.privateKey;
        await destroyTunnel(PI, {}, lab);
        expect((await sh(lab.main, "pgrep -u tunnel-pi || true")).trim()).toBe("");
        expect((await sh(lab.main, "ss -Hltn 'sport = :2222'")).trim()).toBe("");
        // The old key is refused from anywhere.
        const r = tryTunnelKey(lab, "tunnel-pi", stolen, 2222, 20_000);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/Permission denied/);
        expect(snapshotDiff(etcBefore.backup, await etcSnapshot("backup1"))).toEqual([]);
        // The other backup was untouched; once it is gone too, main's /etc is as before.
        expect(await tunnelWorks(lab.main, "garage", "backup2")).toBe(true);
        await destroyTunnel(GARAGE, {}, lab);
        expect(snapshotDiff(etcBefore.main, await etcSnapshot(lab.main))).toEqual([]);
        writeReport("lab-timings.json", timings);
    });
});
