/**
 * The example consumer under the real engine on the lab: a fresh project that
 * installed the packed tarball (no repo paths, no TS_NODE_* or transpile-only
 * switches, its own Pulumi-default tsconfig) runs `pulumi up`, main's admin reaches
 * the backup with `ssh backup-nas` through the tunnel, a second up changes nothing,
 * and destroy removes the tunnel account.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import { renderServiceRemoveScript } from "../../components";
import { runScript } from "../support/apply";
import { changes, engineEnv } from "../support/engine";
import { sh, tunnelWorks, writeReport } from "../support/hosts";
import { installConsumer, pack, tempDir } from "./consumer";

const STACK = "consumer";
const NAME = "nas";
const PORT = 2290;

describe.sequential("a consumer stack installed from the tarball, under the real engine", () => {
    const tmp = tempDir("rst-consumer-e2e-");
    const figures: Record<string, number> = {};
    let lab: LabDescription;
    let backup: string;
    let stack: Stack;

    beforeAll(async () => {
        lab = loadLab();
        backup = lab.backups[2]!;
        const t0 = Date.now();
        const packed = await pack(path.join(tmp.dir, "tarball"));
        const dir = await installConsumer(path.join(tmp.dir, "consumer"), packed.tarball);
        figures.packAndInstallMs = Date.now() - t0;
        const envVars = engineEnv();
        process.env.PATH = envVars.PATH;
        // A stack left by an earlier run describes hosts a fresh lab no longer has.
        const old = await LocalWorkspace.createOrSelectStack({ stackName: STACK, workDir: dir }, { envVars });
        await old.workspace.removeStack(STACK, { force: true });
        stack = await LocalWorkspace.createStack({ stackName: STACK, workDir: dir }, { envVars });
        const main = lab.hosts[lab.main]!;
        const b = lab.hosts[backup]!;
        await stack.setAllConfig({
            mainHost: { value: main.addresses.operator },
            mainPublicHost: { value: main.addresses.public! },
            mainUser: { value: main.adminUser },
            mainHostKey: { value: main.hostKeys.ed25519 },
            mainPrivateKey: { value: fs.readFileSync(main.adminKeyPath, "utf8"), secret: true },
            backupHost: { value: b.addresses.operator },
            backupUser: { value: b.adminUser },
            backupHostKey: { value: b.hostKeys.ed25519 },
            backupPrivateKey: { value: fs.readFileSync(b.adminKeyPath, "utf8"), secret: true },
            loginUser: { value: lab.mainAdminKey.backupUser },
            port: { value: String(PORT) },
        });
    }, 600_000);

    afterAll(async () => {
        await stack?.destroy({ continueOnError: true }).catch(() => undefined);
        await stack?.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
        if (backup !== undefined) await runScript(backup, renderServiceRemoveScript({ name: NAME }), { lab }).catch(() => undefined);
        tmp.remove();
        writeReport("consumer-engine-timings.json", figures);
    });

    it("pulumi up: main's admin reaches the backup with ssh backup-nas through the tunnel", async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures.upMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(res.outputs.port?.value).toBe(PORT);
        expect(res.outputs.sshConfig?.value).toContain(`Host backup-${NAME}`);
        expect(await tunnelWorks(lab.main, NAME, backup)).toBe(true);
    });

    it("a second up changes nothing (Output inputs cause no diff)", async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures.noopUpMs = Date.now() - t0;
        expect(changes(res.summary.resourceChanges)).toEqual({});
    });

    it("destroy removes the tunnel: ssh backup-nas fails, the account is gone", async () => {
        const t0 = Date.now();
        const res = await stack.destroy();
        figures.destroyMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(await tunnelWorks(lab.main, NAME, backup)).toBe(false);
        expect((await sh(lab.main, `getent passwd tunnel-${NAME} | wc -l; ss -Hltn 'sport = :${PORT}' | wc -l`)).trim()).toBe("0\n0");
    });
});
