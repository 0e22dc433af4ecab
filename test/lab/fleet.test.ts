/**
 * Many backups on one main, under the real engine: ten applied in one `pulumi up`
 * (parallel commands against one main), isolation, the health command, revoking one
 * without disturbing the others, and key rotation without downtime.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostExec, LabDescription, loadLab } from "../../lab/client";
import { changes, openStack, setStackConfig } from "../support/engine";
import { longestOutageMs, sh, sshdPssKb, tryTunnelKey, tunnelWorks, writeReport } from "../support/hosts";

const N = 10;
const base = { lab: ".state/lab/lab.json", main: { lab: "main" } };
const fleet = (extra: Record<string, Record<string, unknown>> = {}, drop: string[] = []) =>
    Array.from({ length: N }, (_, i) => ({ name: `b${i + 1}`, lab: `backup${i + 1}`, tunnelPort: 2301 + i, ...(extra[`b${i + 1}`] ?? {}) })).filter((b) => !drop.includes(b.name));

async function unitPids(names: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const n of names) {
        const i = Number(n.slice(1));
        out[n] = (await sh(`backup${i}`, `systemctl show -P MainPID reverse-ssh-tunnel-${n}; systemctl show -P NRestarts reverse-ssh-tunnel-${n}`)).trim();
    }
    return out;
}

describe.sequential(`a fleet of ${N} backups on one main`, () => {
    let lab: LabDescription;
    let stack: Stack;
    const figures: Record<string, unknown> = {};

    beforeAll(async () => {
        lab = loadLab();
        expect(lab.backups.length).toBeGreaterThanOrEqual(N);
        stack = await openStack("fleet", { ...base, backups: fleet() });
    });
    afterAll(async () => {
        const t0 = Date.now();
        await stack?.destroy({ continueOnError: true }).catch(() => undefined);
        figures.destroyMs = Date.now() - t0;
        writeReport("fleet.json", figures);
    });

    it(`applies ${N} backups in one pulumi up: every tunnel works, each has its own account, key file, drop-in and unit`, async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures.upMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        for (let i = 1; i <= N; i++) expect(await tunnelWorks(lab.main, `b${i}`, `backup${i}`), `b${i}`).toBe(true);
        expect((await sh(lab.main, "ls /etc/ssh/sshd_config.d/ | grep -c '^00-reverse-ssh-tunnel-tunnel-b'")).trim()).toBe(String(N));
        expect((await sh(lab.main, "ls /etc/ssh/reverse-ssh-tunnel/authorized_keys | grep -c '^tunnel-b'")).trim()).toBe(String(N));
        expect((await sh(lab.main, "getent passwd | grep -c '^tunnel-b'")).trim()).toBe(String(N));
        expect(changes((await stack.preview()).changeSummary)).toEqual({});
        figures.mainSshdPssKb = await sshdPssKb(lab.main, "tunnel-b[0-9]+");
    });

    it("isolation: b1's key cannot listen on b2's port", async () => {
        await sh("backup2", "systemctl stop reverse-ssh-tunnel-b2");
        const key = await sh("backup1", "cat /etc/reverse-ssh-tunnel/b1/id_tunnel");
        const r = tryTunnelKey(lab, "tunnel-b1", key, 2302);
        expect(r.stderr).toMatch(/remote port forwarding failed for listen port 2302/);
        expect((await sh(lab.main, "ss -Hltn 'sport = :2302' | wc -l")).trim()).toBe("0");
        await sh("backup2", "systemctl start reverse-ssh-tunnel-b2");
    });

    it("health command: exit 0 with all up; names a backup that is down and exits 1", async () => {
        const ok = await hostExec(lab.main, ["bash", "-c", "sleep 2; /usr/local/sbin/reverse-ssh-tunnel-health"]);
        expect(ok.code, ok.stdout + ok.stderr).toBe(0);
        expect(ok.stdout.split("\n").filter((l) => /^backup-b\d+ /.test(l))).toHaveLength(N);
        await sh("backup4", "systemctl stop reverse-ssh-tunnel-b4");
        await new Promise((r) => setTimeout(r, 1000));
        const bad = await hostExec(lab.main, ["/usr/local/sbin/reverse-ssh-tunnel-health", "--json"]);
        expect(bad.code).toBe(1);
        const rows = bad.stdout.trim().split("\n").map((l) => JSON.parse(l) as { backup: string; listener: string; ssh: string });
        expect(rows.filter((r) => r.ssh !== "ok").map((r) => r.backup)).toEqual(["backup-b4"]);
        await sh("backup4", "systemctl start reverse-ssh-tunnel-b4");
    });

    it("revoking one backup leaves every other tunnel up, with no reconnect", async () => {
        const others = fleet({}, ["b3"]).map((b) => b.name);
        const before = await unitPids(others);
        await setStackConfig(stack, { ...base, backups: fleet({}, ["b3"]) });
        const t0 = Date.now();
        await stack.up();
        figures.revokeOneUpMs = Date.now() - t0;
        expect((await sh(lab.main, "getent passwd tunnel-b3 | wc -l; ss -Hltn 'sport = :2303' | wc -l")).trim()).toBe("0\n0");
        expect(await unitPids(others)).toEqual(before);
        for (const n of others) expect(await tunnelWorks(lab.main, n, `backup${n.slice(1)}`), n).toBe(true);
    });

    it("rotating a key: the tunnel's outage stays under the reconnect budget; only the new key remains", async () => {
        const oldKey = await sh("backup1", "cat /etc/reverse-ssh-tunnel/b1/id_tunnel");
        let probing = true;
        const samples: Array<{ t: number; ok: boolean }> = [];
        const probe = (async () => {
            while (probing) {
                samples.push({ t: Date.now(), ok: await tunnelWorks(lab.main, "b1", "backup1") });
                await new Promise((r) => setTimeout(r, 200));
            }
        })();
        await setStackConfig(stack, { ...base, backups: fleet({ b1: { keyRotation: "r1" } }, ["b3"]) });
        await stack.up();
        await new Promise((r) => setTimeout(r, 3000));
        probing = false;
        await probe;
        const outageMs = longestOutageMs(samples);
        figures.rotationOutageMs = outageMs;
        figures.rotationFailedProbes = samples.filter((s) => !s.ok).length;
        expect(samples.at(-1)?.ok).toBe(true);
        expect(outageMs).toBeLessThan(13_000);
        expect(await sh("backup1", "cat /etc/reverse-ssh-tunnel/b1/id_tunnel")).not.toBe(oldKey);
        expect((await sh(lab.main, "grep -vc '^#' /etc/ssh/reverse-ssh-tunnel/authorized_keys/tunnel-b1")).trim()).toBe("1");
    });
});
