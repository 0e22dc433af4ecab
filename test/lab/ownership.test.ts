/**
 * Ownership on the host (issue 20, point 3), under the real engine: two stacks of one
 * project on one main. Stack A runs backup "pi". Stack B claiming the name "pi", then
 * A's port, is refused before any change (main's /etc/ssh, /etc/passwd, /etc/group and
 * /etc/shadow hash the same, A's ssh session on main and its ssh process on the backup
 * keep their PIDs, `ssh backup-pi` still works). B with `adopt: true` moves the backup
 * to itself (the tunnel's outage is measured); A's destroy then leaves it alone (same
 * session, same marks), and B's destroy removes it. Scripts against a scratch tree:
 * test/unit/ownership.test.ts.
 */
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLab, type LabDescription } from "../../lab/client";
import { ReverseTunnel } from "../../components";
import { connectionOf, engineEnv } from "../support/engine";
import { longestOutageMs, sh, tunnelWorks, waitFor, writeReport } from "../support/hosts";

const PROJECT = "rst-ownership";
const OWNER_A = `organization/${PROJECT}/own-a/pi`;
const OWNER_B = `organization/${PROJECT}/own-b/pi`;
const PORT = 2461;

/** One tunnel of a stack's program. */
interface Planned {
    name: string;
    backup: string;
    port: number;
    adopt?: boolean;
}

/** What main's entries and live tunnel look like; equal before and after a refused up. */
async function mainState(lab: LabDescription) {
    return {
        etc: (await sh(lab.main, "find /etc/ssh -xdev -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum /etc/passwd /etc/group /etc/shadow")).trim(),
        session: (await sh(lab.main, "pgrep -u tunnel-pi | sort | tr '\\n' ' '")).trim(),
        backupSsh: (await sh("backup1", "systemctl show -P MainPID reverse-ssh-tunnel-pi")).trim(),
    };
}

/** The owner each of main's entries (and the backup's unit) of tunnel pi names. */
async function marks(lab: LabDescription): Promise<string> {
    return (
        await sh(
            lab.main,
            `for f in /etc/ssh/sshd_config.d/00-reverse-ssh-tunnel-tunnel-pi.conf /etc/ssh/reverse-ssh-tunnel/authorized_keys/tunnel-pi /etc/ssh/ssh_config.d/reverse-ssh-tunnel-pi.conf; do
  sed -n 's/^# reverse-ssh-tunnel owner: //p' "$f"; done; getent passwd tunnel-pi | cut -d: -f5 | sed 's/.* owner=//'`,
        )
    ).trim() + `\n${(await sh("backup1", "sed -n 's/^# reverse-ssh-tunnel owner: //p' /etc/systemd/system/reverse-ssh-tunnel-pi.service")).trim()}`;
}

describe.sequential("ownership on the host: two stacks on one main", () => {
    let lab: LabDescription;
    let stackA: Stack;
    let stackB: Stack;
    let planA: Planned[] = [{ name: "pi", backup: "backup1", port: PORT }];
    let planB: Planned[] = [];
    const figures: Record<string, number> = {};
    const t0 = Date.now();

    const programOf = (plan: () => Planned[]) => async () => {
        for (const p of plan()) {
            const main = lab.hosts[lab.main]!;
            const backup = lab.hosts[p.backup]!;
            new ReverseTunnel(p.name, {
                main: connectionOf(main),
                mainPublicHost: main.addresses.public!,
                backup: connectionOf(backup),
                port: p.port,
                loginUser: backup.backupUser ?? "pi",
                ...(p.adopt ? { adopt: true } : {}),
            });
        }
    };

    /** `pulumi up` of a stack; its output text, and whether it failed. */
    const up = async (stack: Stack, label: string) => {
        let out = "";
        const t = Date.now();
        const res = await stack.up({ onOutput: (s) => (out += s) }).then(
            () => true,
            (e: Error) => ((out += String(e.message)), false),
        );
        figures[label] = Date.now() - t;
        return { ok: res, out };
    };

    beforeAll(async () => {
        lab = loadLab();
        const envVars = engineEnv();
        process.env.PATH = envVars.PATH;
        const open = async (stackName: string, program: () => Promise<void>) => {
            const old = await LocalWorkspace.createOrSelectStack({ stackName, projectName: PROJECT, program }, { envVars });
            await old.workspace.removeStack(stackName, { force: true });
            return LocalWorkspace.createStack({ stackName, projectName: PROJECT, program }, { envVars });
        };
        stackA = await open("own-a", programOf(() => planA));
        stackB = await open("own-b", programOf(() => planB));
    });

    afterAll(async () => {
        for (const s of [stackB, stackA]) {
            await s?.destroy({ continueOnError: true }).catch(() => undefined);
            await s?.workspace.removeStack(s.name, { force: true }).catch(() => undefined);
        }
        figures.fileMs = Date.now() - t0;
        writeReport("ownership.json", figures);
    });

    it("stack A: backup pi works, every entry names A", async () => {
        const r = await up(stackA, "upAMs");
        expect(r.ok, r.out).toBe(true);
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
        expect(await marks(lab)).toBe([OWNER_A, OWNER_A, OWNER_A, OWNER_A, OWNER_A].join("\n"));
    });

    it("stack B claiming the name pi (another backup, another port) is refused before any change; A's tunnel untouched", async () => {
        const before = await mainState(lab);
        planB = [{ name: "pi", backup: "backup2", port: PORT + 1 }];
        const r = await up(stackB, "refusedNameUpMs");
        expect(r.ok).toBe(false);
        expect(r.out).toContain(`the sshd block of tunnel-pi (/etc/ssh/sshd_config.d/00-reverse-ssh-tunnel-tunnel-pi.conf) belongs to ${OWNER_A}, not to ${OWNER_B}; nothing on this host was changed`);
        expect(r.out).toContain("set adopt: true");
        expect(await mainState(lab)).toEqual(before);
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
        await stackB.destroy();
    });

    it("stack B claiming A's port under another name is refused before any change; A's tunnel untouched", async () => {
        const before = await mainState(lab);
        planB = [{ name: "other", backup: "backup2", port: PORT }];
        const r = await up(stackB, "refusedPortUpMs");
        expect(r.ok).toBe(false);
        expect(r.out).toContain(`port ${PORT}: tunnel account tunnel-pi of ${OWNER_A} (/etc/ssh/sshd_config.d/00-reverse-ssh-tunnel-tunnel-pi.conf)`);
        expect(await mainState(lab)).toEqual(before);
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
        expect((await sh(lab.main, "getent passwd tunnel-other | wc -l")).trim()).toBe("0");
        await stackB.destroy();
    });

    it("stack B with adopt: true moves backup pi to itself; the tunnel is back within its reconnect", async () => {
        planB = [{ name: "pi", backup: "backup1", port: PORT, adopt: true }];
        let probing = true;
        const samples: Array<{ t: number; ok: boolean }> = [];
        const probe = (async () => {
            while (probing) {
                samples.push({ t: Date.now(), ok: await tunnelWorks(lab.main, "pi", "backup1") });
                await new Promise((res) => setTimeout(res, 200));
            }
        })();
        const r = await up(stackB, "adoptUpMs");
        figures.backAfterAdoptMs = await waitFor(() => tunnelWorks(lab.main, "pi", "backup1"), 30_000);
        probing = false;
        await probe;
        expect(r.ok, r.out).toBe(true);
        expect(r.out).toContain(`adopting the sshd block of tunnel-pi (/etc/ssh/sshd_config.d/00-reverse-ssh-tunnel-tunnel-pi.conf) from ${OWNER_A}`);
        const outageMs = longestOutageMs(samples);
        figures.adoptOutageMs = outageMs;
        figures.adoptFailedProbes = samples.filter((s) => !s.ok).length;
        // The reconnect budget: ConnectTimeout + RestartSec (13 s), as for a key rotation.
        expect(outageMs).toBeLessThan(13_000);
        expect(await marks(lab)).toBe([OWNER_B, OWNER_B, OWNER_B, OWNER_B, OWNER_B].join("\n"));
    });

    it("stack A's destroy leaves the adopted backup alone: same session, same entries, and says so", async () => {
        const before = await mainState(lab);
        let out = "";
        const t = Date.now();
        const res = await stackA.destroy({ onOutput: (s) => (out += s) });
        figures.destroyAMs = Date.now() - t;
        expect(res.summary.result).toBe("succeeded");
        expect(out).toContain(`the key file of tunnel-pi (/etc/ssh/reverse-ssh-tunnel/authorized_keys/tunnel-pi) belongs to ${OWNER_B} now, not to ${OWNER_A}: left as it is`);
        expect(out).toContain(`the unit reverse-ssh-tunnel-pi.service on this backup belongs to ${OWNER_B} now`);
        expect(await mainState(lab)).toEqual(before);
        expect(await marks(lab)).toBe([OWNER_B, OWNER_B, OWNER_B, OWNER_B, OWNER_B].join("\n"));
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
    });

    it("stack B's destroy removes what it owns", async () => {
        const t = Date.now();
        const res = await stackB.destroy();
        figures.destroyBMs = Date.now() - t;
        expect(res.summary.result).toBe("succeeded");
        expect((await sh(lab.main, `getent passwd tunnel-pi | wc -l; ss -Hltn 'sport = :${PORT}' | wc -l; ls /etc/ssh/sshd_config.d /etc/ssh/ssh_config.d | grep -c reverse-ssh-tunnel-pi || true`)).trim()).toBe("0\n0\n0");
        expect((await sh("backup1", "ls /etc/systemd/system | grep -c reverse-ssh-tunnel-pi || true")).trim()).toBe("0");
    });
});
