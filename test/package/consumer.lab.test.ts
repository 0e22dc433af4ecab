/**
 * The example consumers under the real engine on the lab: fresh projects that
 * installed the packed tarball (no repo paths, no TS_NODE_* or transpile-only
 * switches, their own Pulumi-default tsconfig) run `pulumi up`, main's admin reaches
 * the backup with `ssh backup-nas` through the tunnel, a second up changes nothing,
 * and destroy removes the tunnel account and listener. Two consumers: the whole
 * tunnel with main's connection from Outputs (examples/consumer-ts), and the same
 * tunnel built from its main and backup halves (examples/consumer-halves-ts).
 */
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import { renderServiceRemoveScript } from "../../components/service";
import { runScript } from "../support/apply";
import { changes, openLabConsumerStack } from "../support/engine";
import { sh, tunnelWorks, writeReport } from "../support/hosts";
import { EXAMPLE, EXAMPLE_HALVES, installConsumer, pack, Packed, tempDir, testedProviderSdks } from "./consumer";

const NAME = "nas";
const tmp = tempDir("rst-consumer-e2e-");
const figures: Record<string, number> = {};
let lab: LabDescription;
let packed: Packed;

beforeAll(async () => {
    lab = loadLab();
    const t0 = Date.now();
    packed = await pack(path.join(tmp.dir, "tarball"));
    figures.packMs = Date.now() - t0;
}, 300_000);
afterAll(() => {
    tmp.remove();
    writeReport("consumer-engine-timings.json", figures);
});

describe.sequential.each([
    { label: "whole tunnel, main from Outputs", example: EXAMPLE, stackName: "consumer", backupIndex: 2, port: 2290 },
    { label: "main half + backup half", example: EXAMPLE_HALVES, stackName: "consumer-halves", backupIndex: 3, port: 2291 },
])("a consumer stack installed from the tarball ($label), under the real engine", ({ label, example, stackName, backupIndex, port }) => {
    const key = label.startsWith("whole") ? "whole" : "halves";
    let backup: string;
    let stack: Stack;

    beforeAll(async () => {
        backup = lab.backups[backupIndex]!;
        const t0 = Date.now();
        // The provider SDKs at the tested versions: the offline toolchain serves exactly those plugins.
        const dir = await installConsumer(path.join(tmp.dir, stackName), packed.tarball, undefined, example, testedProviderSdks());
        figures[`${key}InstallMs`] = Date.now() - t0;
        stack = await openLabConsumerStack(dir, stackName, lab, backup, port);
    }, 600_000);

    afterAll(async () => {
        await stack?.destroy({ continueOnError: true }).catch(() => undefined);
        await stack?.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
        if (backup !== undefined) await runScript(backup, renderServiceRemoveScript({ name: NAME }), { lab }).catch(() => undefined);
    });

    it("pulumi up: main's admin reaches the backup with ssh backup-nas through the tunnel", async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures[`${key}UpMs`] = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(res.outputs.sshConfig?.value).toContain(`Host backup-${NAME}`);
        expect(res.outputs.sshConfig?.value).toContain(`Port ${port}`);
        expect(await tunnelWorks(lab.main, NAME, backup)).toBe(true);
    });

    it("a second up changes nothing (Output inputs cause no diff)", async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures[`${key}NoopUpMs`] = Date.now() - t0;
        expect(changes(res.summary.resourceChanges)).toEqual({});
    });

    it("destroy removes the tunnel: ssh backup-nas fails, the account and the listener are gone", async () => {
        const t0 = Date.now();
        const res = await stack.destroy();
        figures[`${key}DestroyMs`] = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(await tunnelWorks(lab.main, NAME, backup)).toBe(false);
        expect((await sh(lab.main, `getent passwd tunnel-${NAME} | wc -l; ss -Hltn 'sport = :${port}' | wc -l`)).trim()).toBe("0\n0");
    });
});
