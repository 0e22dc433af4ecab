/**
 * What users run (issue "Test what users run"): under the real engine with the
 * upstream-conformant command provider (dial retries, error text, streamed output).
 * - `via: main`: the backup reached only through main and its own tunnel; up, key
 *   rotation (the unit restarts under the connection that runs the script) and
 *   destroy (the unit's removal cuts that connection).
 * - A failed apply is readable: the command string in the provider's error text is
 *   short, and the diagnosis is there, last.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab } from "../../lab/client";
import { renderServiceRemoveScript } from "../support/internals";
import { runScript } from "../support/apply";
import { openStack, setStackConfig } from "../support/engine";
import { keyRefused, sh, tunnelWorks, waitFor, writeReport } from "../support/hosts";

const VM = { name: "vm", lab: "backup4", tunnelPort: 2260 };
const RD = { name: "rd", lab: "backup5", tunnelPort: 2261 };
const base = { lab: ".state/lab/lab.json", main: { lab: "main" } };

describe.sequential("what users run: via main, readable failures", () => {
    let lab: LabDescription;
    let stack: Stack;
    const figures: Record<string, number> = {};

    beforeAll(async () => {
        lab = loadLab();
        stack = await openStack("via", { ...base, backups: [VM] });
    });
    afterAll(async () => {
        await sh(lab.main, "rm -f /etc/ssh/sshd_config.d/00-aaa-readability.conf; systemctl reload ssh", { allowFail: true }).catch(() => undefined);
        await stack?.destroy({ continueOnError: true }).catch(() => undefined);
        await runScript("backup4", renderServiceRemoveScript({ name: "vm" }), { lab }).catch(() => undefined);
        writeReport("via-main.json", figures);
    });

    it("first install directly, then the same stack via main: every backup command goes through the tunnel", async () => {
        expect((await stack.up()).summary.result).toBe("succeeded");
        expect(await tunnelWorks(lab.main, "vm", "backup4")).toBe(true);
        await setStackConfig(stack, { ...base, backups: [{ ...VM, via: "main" }] });
        const t0 = Date.now();
        const res = await stack.up();
        figures.switchToViaMainMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        // The backup's sshd saw Pulumi arrive through the tunnel (from its own loopback).
        expect(await sh("backup4", "journalctl -u ssh --since '-2 min' --no-pager | grep -c 'Accepted publickey for admin from 127.0.0.1' || true")).not.toMatch(/^0\s*$/);
        expect(await tunnelWorks(lab.main, "vm", "backup4")).toBe(true);
    });

    it("rotating the key via main: the unit restarts after the script, the finalizer waits for it, the old key dies", async () => {
        const oldKey = await sh("backup4", "cat /etc/reverse-ssh-tunnel/vm/id_tunnel");
        await setStackConfig(stack, { ...base, backups: [{ ...VM, via: "main", keyRotation: "r1" }] });
        const t0 = Date.now();
        const res = await stack.up();
        figures.rotationViaMainMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(await sh("backup4", "cat /etc/reverse-ssh-tunnel/vm/id_tunnel")).not.toBe(oldKey);
        expect(keyRefused(lab, "tunnel-vm", oldKey)).toBe(true);
        figures.tunnelBackMs = await waitFor(() => tunnelWorks(lab.main, "vm", "backup4"), 30_000);
        expect(figures.tunnelBackMs).toBeGreaterThanOrEqual(0);
    });

    it("a failed apply is readable: a short command string, then the diagnosis with file:line and the fix", async () => {
        await sh(lab.main, "printf 'Match all\\n    AllowTcpForwarding yes\\n' > /etc/ssh/sshd_config.d/00-aaa-readability.conf && systemctl reload ssh");
        await setStackConfig(stack, { ...base, backups: [{ ...VM, via: "main", keyRotation: "r1" }, RD] });
        const err = await stack.up().then(
            () => "",
            (e: Error) => e.message,
        );
        writeReport("readability-error.txt", err);
        figures.cliOutputChars = err.length;
        // In the failing command's entry of the Diagnostics section, which users read: the
        // progress line before it can be followed by the SDK's own noise when the program
        // is still sending outputs as the engine shuts down ("failed to deliver log message").
        const at = err.indexOf("Process exited with status 1: running", err.indexOf("command:remote:Command (rd-sshd):"));
        const failed = /Process exited with status 1: running "([^"]*)":/.exec(err);
        expect(failed?.[1]).toBe("sudo -n -- /bin/bash -s -- create");
        // The diagnosis follows the short command at once (before: ~25 kB of escaped script came first).
        const diag = err.slice(at, at + 2500);
        figures.diagnosisOffsetChars = err.indexOf("conflict with the tunnel policy", at) - at;
        expect(diag).toMatch(/reverse-ssh-tunnel: error: sshd's settings for tunnel-rd conflict with the tunnel policy/);
        expect(diag).toContain("/etc/ssh/sshd_config.d/00-aaa-readability.conf:1: Match all");
        expect(diag).toMatch(/Fix: exclude the tunnel accounts/);
        await sh(lab.main, "rm -f /etc/ssh/sshd_config.d/00-aaa-readability.conf && systemctl reload ssh");
        await setStackConfig(stack, { ...base, backups: [{ ...VM, via: "main", keyRotation: "r1" }] });
        expect((await stack.up()).summary.result).toBe("succeeded");
    });

    it("destroy via main: the removal is scheduled behind the connection, main revokes the key and cuts the tunnel", async () => {
        const key = await sh("backup4", "cat /etc/reverse-ssh-tunnel/vm/id_tunnel");
        const t0 = Date.now();
        const res = await stack.destroy();
        figures.destroyViaMainMs = Date.now() - t0;
        expect(res.summary.result).toBe("succeeded");
        expect(keyRefused(lab, "tunnel-vm", key)).toBe(true);
        expect((await sh(lab.main, "ss -Hltn 'sport = :2260'")).trim()).toBe("");
        // The scheduled removal ran on the backup (reached over its home link here).
        expect(await waitFor(async () => (await sh("backup4", "test -e /etc/reverse-ssh-tunnel/vm && echo left || echo gone")).trim() === "gone", 15_000)).toBeGreaterThanOrEqual(0);
        expect((await sh("backup4", "systemctl is-enabled reverse-ssh-tunnel-vm 2>&1 || true")).trim()).not.toBe("enabled");
    });
});
