/**
 * Mains and backups as users have them (issue "Mains and backups as users have
 * them"): every way Debian runs sshd on main (ssh.service, ssh.socket with
 * Accept=no, Accept=yes per-connection instances, a unit named sshd.service), on
 * Debian 12 and 13, a backup whose sshd listens on 2022 and has no `pi` account,
 * and the mixed pair (main on 13, backups on 12 and 13). For each mode: apply, the
 * tunnel works, a second apply changes nothing, destroy refuses the key and cuts the
 * live tunnel, and main's sshd still serves its admin.
 *
 * The lab is re-booted with the variants for this file (only the hosts whose options
 * change are rebuilt) and put back as it was afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab, upLab } from "../../lab/client";
import type { HostOptions } from "../../lab/types";
import { applyTunnel, destroyTunnel, LabTunnel, runScript } from "../support/apply";
import { runAttackMatrix } from "../support/attacks";
import { keyRefused, sh, tunnelWorks, waitFor, writeReport } from "../support/hosts";

/** backup1: Debian 12, sshd on 2022, no `pi` (its owner's account is `admin`). backup2: Debian 13, socket-activated sshd. */
const BACKUPS: Record<string, HostOptions> = {
    backup1: { release: "bookworm", sshPort: 2022, backupUser: "admin" },
    backup2: { release: "trixie", sshd: "socket" },
};

const MODES: Array<{ label: string; main: HostOptions; runsAs: RegExp }> = [
    { label: "Debian 13, ssh.socket Accept=no", main: { release: "trixie", sshd: "socket" }, runsAs: /socket ssh\.socket ssh\.service/ },
    { label: "Debian 12, ssh.socket Accept=no", main: { release: "bookworm", sshd: "socket" }, runsAs: /socket ssh\.socket ssh\.service/ },
    { label: "Debian 12, ssh.socket Accept=yes (per-connection sshd)", main: { release: "bookworm", sshd: "inetd" }, runsAs: /socket-per-connection ssh\.socket/ },
    { label: "Debian 12, unit named sshd.service", main: { release: "bookworm", sshd: "sshd-unit" }, runsAs: /service sshd\.service/ },
    { label: "Debian 13, ssh.service", main: { release: "trixie", sshd: "service" }, runsAs: /service ssh\.service/ },
];

describe.sequential("portability: sshd modes on main, Debian 12 and 13, backups as users have them", () => {
    let prev: LabDescription;
    let lab: LabDescription;
    const figures: Record<string, unknown> = {};

    async function boot(main: HostOptions): Promise<void> {
        await upLab({ release: "bookworm", backups: ["backup1", "backup2"], hosts: { main, ...BACKUPS } });
        lab = loadLab();
    }

    beforeAll(async () => {
        prev = loadLab();
    });
    afterAll(async () => {
        // Back to the lab the other files expect.
        await upLab({ release: prev.release, backups: prev.backups, ...(prev.hostOptions ? { hosts: prev.hostOptions } : {}) });
        writeReport("portability.json", figures);
    });

    for (const mode of MODES) {
        it(`main on ${mode.label}: apply, tunnel works, no-op re-apply, destroy revokes, sshd still serves`, async () => {
            await boot(mode.main);
            const t: LabTunnel = { name: "port1", backupHost: "backup1", port: 2250 };
            const t2: LabTunnel = { name: "port2", backupHost: "backup2", port: 2251 };
            try {
                const a = await applyTunnel(t, lab);
                expect(a.steps.find((s) => s.step === "sshd")?.output).toMatch(mode.runsAs);
                await applyTunnel(t2, lab);
                expect(await tunnelWorks(lab.main, "port1", "backup1")).toBe(true);
                expect(await tunnelWorks(lab.main, "port2", "backup2")).toBe(true);
                // The forward goes to where backup1's sshd really listens (2022), read on the backup.
                expect(await sh("backup1", "cat /etc/reverse-ssh-tunnel/port1/ssh_config")).toMatch(/RemoteForward 127\.0\.0\.1:2250 127\.0\.0\.1:2022/);
                // `ssh backup-port1` logs into the backup's own account (no `pi` there).
                expect((await sh(lab.main, "runuser -u admin -- ssh -o BatchMode=yes backup-port1 id -un")).trim()).toBe("admin");
                const again = await applyTunnel({ ...t, key: a.key }, lab);
                expect(again.steps.find((s) => s.step === "sshd")?.output).toMatch(/already in place/);
                if (mode.label.startsWith("Debian 13, ssh.socket")) {
                    // Free both ports so a refusal is the policy, not a busy port.
                    await sh("backup1", "systemctl stop reverse-ssh-tunnel-port1");
                    await sh("backup2", "systemctl stop reverse-ssh-tunnel-port2");
                    const results = await runAttackMatrix({ lab, user: "tunnel-port1", privateKey: a.key.privateKey, ownPort: 2250, otherPort: 2251 });
                    figures[`attacks ${mode.label}`] = results.filter((r) => r.succeeded).map((r) => r.id);
                    expect(results.filter((r) => r.succeeded && r.id !== "intended-remote-forward").map((r) => r.id)).toEqual([]);
                    await sh("backup1", "systemctl start reverse-ssh-tunnel-port1");
                    await sh("backup2", "systemctl start reverse-ssh-tunnel-port2");
                    // The restarted tunnels need a moment to log in and listen again.
                    expect(await waitFor(() => tunnelWorks(lab.main, "port1", "backup1"), 30_000)).toBeGreaterThanOrEqual(0);
                    expect(await waitFor(() => tunnelWorks(lab.main, "port2", "backup2"), 30_000)).toBeGreaterThanOrEqual(0);
                }
                const t0 = Date.now();
                await destroyTunnel(t, {}, lab);
                figures[`destroy ms ${mode.label}`] = Date.now() - t0;
                expect(keyRefused(lab, "tunnel-port1", a.key.privateKey)).toBe(true);
                expect((await sh(lab.main, "ss -Hltn 'sport = :2250'")).trim()).toBe("");
                expect(await tunnelWorks(lab.main, "port2", "backup2")).toBe(true);
                expect((await runScript(lab.main, "#!/bin/bash\nid -un", { lab })).stdout.trim()).toBe("root");
            } finally {
                await destroyTunnel(t, {}, lab).catch(() => undefined);
                await destroyTunnel(t2, {}, lab).catch(() => undefined);
            }
        });
    }

    // The service install reads the backup's facts (one login less per backup than a read of
    // its own), so main's account exists by then: like a backup out of reach, the next up
    // with the setting fixed converges, and destroy removes what the failed one made.
    it("a backup without the asked-for loginUser: a clear error naming the setting, before the service is installed; fixed, the next apply converges", async () => {
        const t: LabTunnel = { name: "port1", backupHost: "backup1", port: 2250, loginUser: "pi" };
        try {
            const err = await applyTunnel(t, lab).then(() => "", (e: Error) => e.message);
            expect(err).toMatch(/loginUser 'pi' does not exist on this backup.*set loginUser to an account that exists here/s);
            expect((await sh("backup1", "ls /etc/systemd/system/ | grep -c reverse-ssh-tunnel-port1 || true")).trim()).toBe("0");
            const a = await applyTunnel({ ...t, loginUser: "admin" }, lab);
            expect(await waitFor(() => tunnelWorks(lab.main, "port1", "backup1"), 30_000)).toBeGreaterThanOrEqual(0);
            await destroyTunnel(t, {}, lab);
            expect(keyRefused(lab, "tunnel-port1", a.key.privateKey)).toBe(true);
        } finally {
            await destroyTunnel(t, {}, lab).catch(() => undefined);
        }
    });
});
