/**
 * The example consumers under the real engine on the lab: fresh projects that
 * installed the packed tarball (no repo paths, no TS_NODE_* or transpile-only
 * switches, their own Pulumi-default tsconfig) run `pulumi up`, main's admin reaches
 * the backup with `ssh backup-nas` through the tunnel, a second up changes nothing,
 * and destroy removes the tunnel account and listener. Two consumers: the whole
 * tunnel with main's connection from Outputs (examples/consumer-ts), and the same
 * tunnel from its main and backup halves in two stacks joined by a StackReference
 * (examples/consumer-halves-ts: the main stack exports `handoff`, the home stack takes
 * it and repeats nothing; a disagreeing `port` fails the home stack's preview).
 */
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import { renderServiceRemoveScript } from "../../components/service";
import { runScript } from "../support/apply";
import { changes, cliEnd, cliVersions, openLabConsumerStack } from "../support/engine";
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
    writeReport(`consumer-engine-timings-${cliEnd()}-cli.json`, figures);
});

it(`the consumers' engine is the ${cliEnd()} CLI of the tested range`, () => {
    const { have, want } = cliVersions();
    expect(have).toBe(want);
});

describe.sequential.each([
    { label: "whole tunnel, main from Outputs", example: EXAMPLE, stackName: "consumer", backupIndex: 2, port: 2290 },
])(`a consumer stack installed from the tarball ($label), under the real engine (${cliEnd()} CLI)`, ({ example, stackName, backupIndex, port }) => {
    const key = "whole";
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

describe.sequential(`two consumer stacks joined by a StackReference: the main half's handoff is all the home stack needs (${cliEnd()} CLI)`, () => {
    const port = 2291;
    let backup: string;
    let mainStack: Stack;
    let homeStack: Stack;

    beforeAll(async () => {
        backup = lab.backups[3]!;
        const t0 = Date.now();
        const dir = await installConsumer(path.join(tmp.dir, "halves"), packed.tarball, undefined, EXAMPLE_HALVES, testedProviderSdks());
        figures.halvesInstallMs = Date.now() - t0;
        mainStack = await openLabConsumerStack(dir, "halves-main", lab, backup, port);
        await mainStack.setConfig("role", { value: "main" });
        homeStack = await openLabConsumerStack(dir, "halves-home", lab, backup, port);
        await homeStack.setConfig("role", { value: "home" });
        await homeStack.setConfig("mainStack", { value: "organization/rst-consumer-halves/halves-main" });
        await homeStack.removeConfig("port");
    }, 600_000);

    afterAll(async () => {
        for (const [stack, name] of [[homeStack, "halves-home"], [mainStack, "halves-main"]] as const) {
            await stack?.destroy({ continueOnError: true }).catch(() => undefined);
            await stack?.workspace.removeStack(name, { force: true }).catch(() => undefined);
        }
        if (backup !== undefined) await runScript(backup, renderServiceRemoveScript({ name: NAME }), { lab }).catch(() => undefined);
    });

    it("the main stack's up exports one secret handoff with main's public address, the port and the key", async () => {
        const t0 = Date.now();
        const res = await mainStack.up();
        figures.halvesMainUpMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(res.outputs.handoff?.secret).toBe(true);
        const h = res.outputs.handoff?.value as Record<string, unknown>;
        expect({ name: h.name, port: h.port, mainPublicHost: h.mainPublicHost, tunnelUser: h.tunnelUser }).toEqual({ name: NAME, port, mainPublicHost: lab.hosts[lab.main]!.addresses.public, tunnelUser: `tunnel-${NAME}` });
        expect(String(h.privateKey)).toMatch(/PRIVATE KEY/);
    });

    it("a home stack whose own port disagrees with the handoff fails at preview, naming the setting, with no host touched", async () => {
        await homeStack.setConfig("port", { value: String(port + 100) });
        const t0 = Date.now();
        const err = await homeStack.preview().then(
            () => undefined,
            (e: Error) => e,
        );
        figures.halvesMismatchPreviewMs = Date.now() - t0;
        await homeStack.removeConfig("port");
        expect(String(err?.message)).toContain(`backup "${NAME}": port: this backup half says ${port + 100} but the main half's handoff says ${port}`);
        expect(String(err?.message)).not.toMatch(/PRIVATE KEY/);
        expect(figures.halvesMismatchPreviewMs).toBeLessThan(60_000);
        expect((await sh(backup, `systemctl list-unit-files 'reverse-ssh-tunnel-${NAME}.service' | grep -c '${NAME}' || true`)).trim()).toBe("0");
    });

    it("the home stack's up, given only the handoff: main's admin reaches the backup with ssh backup-nas", async () => {
        const t0 = Date.now();
        const res = await homeStack.up();
        figures.halvesHomeUpMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(res.outputs.port?.value).toBe(port);
        const mainOut = await mainStack.outputs();
        expect(res.outputs.keyFingerprint?.value).toBe(mainOut.keyFingerprint?.value);
        expect(await tunnelWorks(lab.main, NAME, backup)).toBe(true);
    });

    it("second ups of both stacks change nothing", async () => {
        expect(changes((await mainStack.up()).summary.resourceChanges)).toEqual({});
        expect(changes((await homeStack.up()).summary.resourceChanges)).toEqual({});
    });

    it("destroying the home stack, then the main stack, removes the tunnel", async () => {
        expect((await homeStack.destroy()).summary.result).toBe("succeeded");
        expect((await mainStack.destroy()).summary.result).toBe("succeeded");
        expect(await tunnelWorks(lab.main, NAME, backup)).toBe(false);
        expect((await sh(lab.main, `getent passwd tunnel-${NAME} | wc -l; ss -Hltn 'sport = :${port}' | wc -l`)).trim()).toBe("0\n0");
    });
});
