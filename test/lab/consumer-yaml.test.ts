/**
 * The YAML consumer (examples/consumer-yaml) under the real engine on the lab: the engine
 * runs this repository as a Node.js component provider (PulumiPlugin.yaml, the language
 * host shim's RunPlugin), the YAML host reads the inferred schema, and the stack builds
 * one tunnel: `pulumi up`, main's admin reaches the backup with `ssh backup-nas` through
 * the tunnel, a second up changes nothing, destroy removes it and main refuses the key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import { renderServiceRemoveScript } from "../support/internals";
import { runScript } from "../support/apply";
import { changes, openLabConsumerStack, ROOT } from "../support/engine";
import { keyRefused, sh, tunnelWorks, writeReport } from "../support/hosts";

const DIR = path.join(ROOT, "examples", "consumer-yaml");
const STACK = "lab";
/** The tunnel name in examples/consumer-yaml/Pulumi.yaml. */
const NAME = "nas";
const PORT = 2292;

describe.sequential("the YAML consumer stack under the real engine", () => {
    const figures: Record<string, number> = {};
    let lab: LabDescription;
    let backup: string;
    let stack: Stack;
    let tunnelKey = "";

    beforeAll(async () => {
        lab = loadLab();
        backup = lab.backups[2]!;
        stack = await openLabConsumerStack(DIR, STACK, lab, backup, PORT);
        // The admin keys are secret config: encrypted in the stack file, never in plain text.
        const settings = fs.readFileSync(path.join(DIR, `Pulumi.${STACK}.yaml`), "utf8");
        expect(settings).toMatch(/mainPrivateKey:\s*\n\s*secure:/);
        expect(settings).not.toContain("PRIVATE KEY");
    }, 600_000);

    afterAll(async () => {
        await stack?.destroy({ continueOnError: true }).catch(() => undefined);
        await stack?.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
        if (backup !== undefined) await runScript(backup, renderServiceRemoveScript({ name: NAME }), { lab }).catch(() => undefined);
        writeReport("consumer-yaml-timings.json", figures);
    });

    it("pulumi up: main's admin reaches the backup with ssh backup-nas through the tunnel", async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures.upMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        // The component and its children, registered by the component provider.
        expect(res.summary.resourceChanges?.create ?? 0).toBeGreaterThan(3);
        expect(res.outputs.port?.value).toBe(PORT);
        expect(res.outputs.sshConfig?.value).toContain(`Host backup-${NAME}`);
        expect(res.outputs.keyFingerprint?.value).toMatch(/^SHA256:/);
        expect(res.outputs.tunnelPrivateKey?.secret).toBe(true);
        tunnelKey = String(res.outputs.tunnelPrivateKey?.value ?? "");
        expect(tunnelKey).toContain("PRIVATE KEY");
        expect(await tunnelWorks(lab.main, NAME, backup)).toBe(true);
        // Main accepts the tunnel key (for its own forward only): the check below can fail.
        expect(keyRefused(lab, `tunnel-${NAME}`, tunnelKey)).toBe(false);
    });

    it("a second up changes nothing", async () => {
        const t0 = Date.now();
        const res = await stack.up();
        figures.noopUpMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(changes(res.summary.resourceChanges)).toEqual({});
    });

    it("destroy removes the tunnel: ssh backup-nas fails and main refuses the key", async () => {
        const t0 = Date.now();
        const res = await stack.destroy();
        figures.destroyMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(await tunnelWorks(lab.main, NAME, backup)).toBe(false);
        expect(keyRefused(lab, `tunnel-${NAME}`, tunnelKey)).toBe(true);
        expect((await sh(lab.main, `getent passwd tunnel-${NAME} | wc -l; ss -Hltn 'sport = :${PORT}' | wc -l`)).trim()).toBe("0\n0");
    });
});
