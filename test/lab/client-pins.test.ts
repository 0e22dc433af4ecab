/**
 * Issue 18, point 5: main's `ssh backup-<name>` block pins the backup's host key, but
 * ssh takes the first value it reads for each keyword, so an admin's earlier `Host *`
 * (root's ~/.ssh/config, or an ssh_config.d file that sorts before ours) overrides the
 * pins silently. The apply asks ssh itself (`ssh -G`, `ssh -vvv -G`) and warns, naming
 * the file:line of what ssh applied before our block. Real OpenSSH client on the lab's
 * main; ran red on the code before (no warning).
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import { applyTunnel, destroyTunnel, LabTunnel } from "../support/apply";
import { sh } from "../support/hosts";

const T: LabTunnel = { name: "pins", backupHost: "backup9", port: 2275 };
const ALIAS = `backup-${T.name}`;
const ROOT_CONFIG = "/root/.ssh/config";
const DROPIN = "/etc/ssh/ssh_config.d/00-admin.conf";

/** The client-config step's output of an apply. */
async function clientConfigOutput(lab: LabDescription): Promise<string> {
    const applied = await applyTunnel(T, lab);
    return applied.steps.find((s) => s.step === "client-config")!.output;
}

describe.sequential("issue 18.5: main's ssh backup-<name> keeps its pins, or the apply says who overrides them", () => {
    let lab: LabDescription;

    beforeAll(() => {
        lab = loadLab();
    });
    afterEach(async () => {
        await sh(lab.main, `rm -f ${ROOT_CONFIG} ${DROPIN}`, { allowFail: true });
        await destroyTunnel(T, {}, lab).catch(() => undefined);
    });

    it("a clean main: no warning, and ssh -G shows the pins", async () => {
        const out = await clientConfigOutput(lab);
        expect(out).not.toContain("does not keep the pins");
        const g = await sh(lab.main, `ssh -G ${ALIAS}`);
        expect(g).toMatch(/^stricthostkeychecking true$/m);
        expect(g).toMatch(/^userknownhostsfile \/dev\/null$/m);
    });

    it("root's ~/.ssh/config with an earlier Host * (StrictHostKeyChecking no, another UserKnownHostsFile): the apply warns naming file:line", async () => {
        await sh(lab.main, `install -d -m 700 /root/.ssh; printf '# admin defaults\\nHost *\\n    StrictHostKeyChecking no\\n    UserKnownHostsFile /root/.ssh/other_known_hosts\\n' >${ROOT_CONFIG}`);
        // ssh itself: the pins are lost for root.
        const g = await sh(lab.main, `ssh -G ${ALIAS}`);
        expect(g).toMatch(/^stricthostkeychecking false$/m);
        const out = await clientConfigOutput(lab);
        expect(out).toContain(`warning: as root, 'ssh ${ALIAS}' does not keep the pins`);
        expect(out).toContain("stricthostkeychecking is false (pinned: true)");
        expect(out).toContain("userknownhostsfile is /root/.ssh/other_known_hosts (pinned: /dev/null)");
        expect(out).toContain(`${ROOT_CONFIG} line 2: Applying options for *`);
    });

    it("an admin's ssh_config.d drop-in that sorts before ours: the apply warns naming it", async () => {
        await sh(lab.main, `printf 'Host *\\n    StrictHostKeyChecking accept-new\\n' >${DROPIN}`);
        const out = await clientConfigOutput(lab);
        expect(out).toContain("stricthostkeychecking is accept-new (pinned: true)");
        expect(out).toContain(`${DROPIN} line 1: Applying options for *`);
        // The suggested narrowing keeps the admin's default for other hosts and clears the warning.
        await sh(lab.main, `sed -i 's/^Host \\*$/Host !backup-* */' ${DROPIN}`);
        expect(await clientConfigOutput(lab)).not.toContain("does not keep the pins");
        expect(await sh(lab.main, "ssh -G other.example | grep ^stricthostkeychecking")).toContain("accept-new");
    });
});
