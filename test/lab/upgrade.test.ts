/**
 * Upgrading a stack whose tunnels have 0.1.0's resource tree (a component per piece,
 * test/lab/fixtures/layout-0.1.0) to this release's (the tunnel holds its resources, each
 * aliased to its former URN), under the real engine on the lab. A resource the engine did
 * not match would be deleted, and the account's delete is the revocation: the test shows
 * the upgrade deletes the four component records and nothing else, keeps every resource's
 * ID, leaves the tunnel's process running and changes nothing on a second up.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import { changes, engineEnv, openStack, ROOT } from "../support/engine";
import { sh, tunnelWorks, writeReport } from "../support/hosts";

const FIXTURE = path.join(ROOT, "test/lab/fixtures/layout-0.1.0");
const STACK = "upgrade";
const PI = { name: "pi", lab: "backup1", tunnelPort: 2222 };

describe.sequential("upgrade from 0.1.0's resource tree under the real engine", () => {
    let lab: LabDescription;
    let stack: Stack;
    const envVars = engineEnv();
    const figures: Record<string, number> = {};
    /** Resource name -> ID of every custom resource after the 0.1.0-layout up. */
    const idsBefore = new Map<string, string>();
    let tunnelPid = "";
    let tunnelUid = "";
    const customIds = async (s: Stack) =>
        new Map(
            ((await s.exportStack()).deployment.resources as { urn: string; custom?: boolean; id?: string }[])
                .filter((r) => r.custom === true && !r.urn.includes("::pulumi:providers:"))
                .map((r) => [r.urn.split("::").pop()!, r.id ?? ""]),
        );
    const pidOfTunnel = async () => (await sh(PI.lab, "systemctl show -P MainPID reverse-ssh-tunnel-pi.service")).trim();

    beforeAll(async () => {
        lab = loadLab();
        // The lab description by absolute path: both programs read it, from different directories.
        stack = await openStack(STACK, { lab: path.join(ROOT, ".state/lab/lab.json"), main: { lab: "main" }, backups: [PI] }, FIXTURE);
    });
    afterAll(async () => {
        await stack?.destroy({ continueOnError: true }).catch(() => undefined);
        await stack?.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
        fs.rmSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), { force: true });
        fs.rmSync(path.join(FIXTURE, `Pulumi.${STACK}.yaml`), { force: true });
        writeReport("upgrade-timings.json", figures);
    });

    it("0.1.0's tree: a component per piece, the tunnel works", async () => {
        const res = await stack.up();
        expect(res.summary.result).toBe("succeeded");
        // The listener on main (0.1.0's tunnel also installed main's client config, which the
        // fixture leaves out: \`ssh backup-pi\` works after the upgrade).
        expect((await sh(lab.main, `ss -Hltn 'sport = :${PI.tunnelPort}'`)).trim()).not.toBe("");
        const urns = ((await stack.exportStack()).deployment.resources as { urn: string }[]).map((r) => r.urn);
        for (const c of ["TunnelKeyPair", "SshdMatchBlock", "TunnelAccount", "TunnelService"]) {
            expect(urns.filter((u) => u.includes(`ReverseTunnel$reverse-ssh-tunnel:index:${c}`)), c).not.toEqual([]);
        }
        for (const [name, id] of await customIds(stack)) idsBefore.set(name, id);
        tunnelPid = await pidOfTunnel();
        tunnelUid = (await sh(lab.main, "id -u tunnel-pi")).trim();
        expect(Number(tunnelPid)).toBeGreaterThan(0);
    });

    it("this release's up moves every resource in place: the four component records go, nothing else, and no host sees a change", async () => {
        // The same stack, now run by the stack program (its settings file holds the encryption salt).
        fs.copyFileSync(path.join(FIXTURE, `Pulumi.${STACK}.yaml`), path.join(ROOT, `Pulumi.${STACK}.yaml`));
        stack = await LocalWorkspace.selectStack({ stackName: STACK, workDir: ROOT }, { envVars });
        const t0 = Date.now();
        const res = await stack.up();
        figures.upgradeUpMs = Date.now() - t0;
        writeReport("upgrade-up.txt", res.stdout);
        expect(res.summary.result).toBe("succeeded");
        // Created: what 0.1.0's program made beside its tunnels' components, which the fixture
        // leaves out (main's client config, the health check's component and its two
        // commands). Updated: the service, whose install now reads the backup's sshd listener
        // and host keys itself (the same files result, so no restart). Deleted: the four
        // components, nothing else.
        expect(changes(res.summary.resourceChanges)).toEqual({ create: 4, update: 1, delete: 4 });
        expect(res.stdout.match(/^ - .* deleting/gm)?.map((l) => l.replace(/ deleting.*/, "").trim()).sort()).toEqual(
            ["SshdMatchBlock", "TunnelAccount", "TunnelKeyPair", "TunnelService"].map((c) => `-  reverse-ssh-tunnel:index:${c} pi`),
        );
        const after = await customIds(stack);
        for (const [name, id] of idsBefore) expect(after.get(name), name).toBe(id);
        const urns = ((await stack.exportStack()).deployment.resources as { urn: string }[]).map((r) => r.urn);
        expect(urns.filter((u) => /ReverseTunnel\$reverse-ssh-tunnel:index:/.test(u))).toEqual([]);
        expect(await pidOfTunnel()).toBe(tunnelPid);
        expect((await sh(lab.main, "id -u tunnel-pi")).trim()).toBe(tunnelUid);
        expect(await tunnelWorks(lab.main, "pi", PI.lab)).toBe(true);
    });

    it("a second up changes nothing", async () => {
        const res = await stack.up();
        expect(changes(res.summary.resourceChanges)).toEqual({});
    });
});
