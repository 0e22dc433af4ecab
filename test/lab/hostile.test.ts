/**
 * Hostile but common starting configurations on main. The library either works or
 * fails with a message that names the conflict; sshd is never left broken.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import { applyTunnel, destroyTunnel, LabTunnel, runScript } from "../support/apply";
import { etcSnapshot, sh, snapshotDiff, tunnelWorks } from "../support/hosts";

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
        expect(err).toMatch(/allowtcpforwarding is 'no' for tunnel-hostile, the tunnel policy needs 'remote'/);
        expect(err).toMatch(/00-aaa-hostile\.conf:2:\s+AllowTcpForwarding no/);
        expect(err).toMatch(/00-aaa-hostile\.conf:1:Match all/);
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
});
