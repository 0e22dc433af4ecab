/**
 * Two mains in one Pulumi program (issue 15): an operator with two public servers
 * and one backup behind each. One inline program, two ReverseTunnel components,
 * each with its own main; up, each backup reachable through its own main only,
 * a no-op second up, destroy. The lab gets a second main (main2) with a backup of
 * its own for this file, and goes back to what it was afterwards.
 */
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLab, upLab, type LabDescription, type UpOptions } from "../../lab/client";
import { ReverseTunnel } from "../../components";
import { changes, connectionOf, engineEnv } from "../support/engine";
import { sh, tunnelWorks, writeReport } from "../support/hosts";

const STACK = "two-mains";
const PROJECT = "rst-two-mains";

/** The lab this file needs: the running one plus main2 with a backup of its own. */
function withSecondMain(prev: LabDescription): { opts: UpOptions; pairs: Array<{ name: string; main: string; backup: string; port: number }> } {
    const existing = prev.mains?.length > 1 ? prev.hosts["main2"]?.backupsOf?.[0] : undefined;
    const backups = [...prev.backups];
    const hosts = { ...(prev.hostOptions ?? {}) };
    let bravoBackup = existing;
    if (!bravoBackup) {
        bravoBackup = `backup${backups.length + 1}`;
        backups.push(bravoBackup);
        hosts[bravoBackup] = { main: "main2" };
    }
    const alphaBackup = prev.hosts[prev.main]!.backupsOf?.[0] ?? prev.backups[0]!;
    return {
        opts: { release: prev.release, backups, mains: Math.max(2, prev.mains?.length ?? 1), hosts },
        pairs: [
            { name: "alpha", main: "main", backup: alphaBackup, port: 2401 },
            { name: "bravo", main: "main2", backup: bravoBackup, port: 2402 },
        ],
    };
}

describe.sequential("two mains, one backup each, in one Pulumi program", () => {
    let prev: LabDescription;
    let lab: LabDescription;
    let stack: Stack;
    let pairs: ReturnType<typeof withSecondMain>["pairs"];
    const figures: Record<string, number> = {};

    beforeAll(async () => {
        prev = loadLab();
        const plan = withSecondMain(prev);
        pairs = plan.pairs;
        const t0 = Date.now();
        lab = (await upLab(plan.opts)).lab;
        figures.labWithMain2Ms = Date.now() - t0;
        const program = async () => {
            const out: Record<string, pulumi.Output<number>> = {};
            for (const p of pairs) {
                const main = lab.hosts[p.main]!;
                const backup = lab.hosts[p.backup]!;
                const t = new ReverseTunnel(p.name, {
                    name: p.name,
                    main: connectionOf(main),
                    mainPublicHost: main.addresses.public!,
                    backup: connectionOf(backup),
                    port: p.port,
                    loginUser: backup.backupUser ?? "pi",
                });
                out[p.name] = pulumi.output(t.port);
            }
            return out;
        };
        const envVars = engineEnv();
        process.env.PATH = envVars.PATH;
        const old = await LocalWorkspace.createOrSelectStack({ stackName: STACK, projectName: PROJECT, program }, { envVars });
        await old.workspace.removeStack(STACK, { force: true });
        stack = await LocalWorkspace.createStack({ stackName: STACK, projectName: PROJECT, program }, { envVars });
    });

    afterAll(async () => {
        await stack?.destroy({ continueOnError: true }).catch(() => undefined);
        await stack?.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
        // Back to the lab the other files expect.
        await upLab({ release: prev.release, backups: prev.backups, mains: prev.mains?.length ?? 1, hosts: prev.hostOptions ?? {} });
        writeReport("two-mains.json", figures);
    });

    it("pulumi up: each backup is reachable through its own main, and only there", async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures.upMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        for (const p of pairs) {
            expect(await tunnelWorks(p.main, p.name, p.backup), `${p.name} via ${p.main}`).toBe(true);
            const other = pairs.find((q) => q !== p)!;
            // the other main has neither this tunnel's account nor its client alias
            expect((await sh(other.main, `getent passwd tunnel-${p.name} | wc -l; ss -Hltn 'sport = :${p.port}' | wc -l`)).trim()).toBe("0\n0");
            expect(await tunnelWorks(other.main, p.name, p.backup)).toBe(false);
        }
        // each backup dials its own main's public address
        for (const p of pairs) {
            const dest = (await sh(p.backup, `ss -Htn state established '( dport = :22 )' | awk '{print $4}' | cut -d: -f1 | sort -u`)).trim().split("\n");
            expect(dest).toContain(lab.hosts[p.main]!.addresses.public);
        }
    });

    it("a second up changes nothing", async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures.noopUpMs = Date.now() - t0;
        expect(changes(res.summary.resourceChanges)).toEqual({});
    });

    it("destroy removes both tunnels from both mains", async () => {
        const t0 = Date.now();
        const res = await stack.destroy();
        figures.destroyMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        for (const p of pairs) {
            expect((await sh(p.main, `getent passwd tunnel-${p.name} | wc -l; ss -Hltn 'sport = :${p.port}' | wc -l`)).trim()).toBe("0\n0");
            expect(await tunnelWorks(p.main, p.name, p.backup)).toBe(false);
        }
    });
});
