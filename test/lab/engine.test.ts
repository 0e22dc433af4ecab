/**
 * End to end under the real Pulumi engine on the lab: up, a no-op second up and
 * preview, key rotation, a second backup, removing one backup (revocation), and
 * revoking a compromised, unreachable backup with destroy finishing unaided.
 * Runs on the newest CLI; engine.lowest-cli.test.ts runs the same on the lowest one
 * the library claims (toolchain/versions.env).
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, loadLab, setLink } from "../../lab/client";
import { renderServiceRemoveScript } from "../support/internals";
import { HEALTH_COMMAND_PATH } from "../../components/health/render";
import { OWNER_LINE_PREFIX, stackOwnerPrefix } from "../../components/ownership/render";
import { HOST_LIBRARY_DIR, libraryUserId } from "../../components/shell/hostLibrary";
import { backupHostLibrary } from "../../components/library/backup";
import { ADMIN_USER as BACKUP_ADMIN } from "../../lab/provision";
import { runScript } from "../support/apply";
import { changes, cliEnd, cliVersions, openStack, setStackConfig } from "../support/engine";
import { keyRefused, sh, tunnelWorks, waitFor, writeReport } from "../support/hosts";

const PI = { name: "pi", lab: "backup1", tunnelPort: 2222 };
const GARAGE = { name: "garage", lab: "backup2", tunnelPort: 2223 };
const base = { lab: ".state/lab/lab.json", main: { lab: "main" } };

describe.sequential(`pulumi up / destroy under the real engine (${cliEnd()} CLI)`, () => {
    let lab: LabDescription;
    let stack: Stack;
    const figures: Record<string, number> = {};
    /** This stack's marks in main's script library (each command using it, and its install). */
    const libraryMarks: string[] = [];
    const timed = async <T>(label: string, f: () => Promise<T>): Promise<T> => {
        const t0 = Date.now();
        const r = await f();
        figures[label] = Date.now() - t0;
        return r;
    };

    beforeAll(async () => {
        lab = loadLab();
        stack = await openStack("e2e", { ...base, backups: [PI] });
    });
    afterAll(async () => {
        await setLink("backup1", "up", "home", lab).catch(() => undefined);
        await stack?.destroy({ continueOnError: true }).catch(() => undefined);
        // The compromised box kept its files (retained on delete); the next test file needs it clean.
        await runScript("backup1", renderServiceRemoveScript({ name: "pi" }), { lab });
        await sh("backup1", `rm -rf ${HOST_LIBRARY_DIR} ~${BACKUP_ADMIN}/.cache/reverse-ssh-tunnel`).catch(() => undefined);
        writeReport(`engine-timings-${cliEnd()}-cli.json`, figures);
    });

    it(`the engine is the ${cliEnd()} CLI of the tested range`, () => {
        const { have, want } = cliVersions();
        figures[`cli ${have}`] = 0;
        expect(have).toBe(want);
    });

    it("pulumi up: the tunnel works, outputs exported", async () => {
        const res = await timed("firstUpMs", () => stack.up());
        expect(res.summary.result).toBe("succeeded");
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
        const out = res.outputs.backups?.value as Record<string, { port: number; keyFingerprint: string }>;
        expect(out.pi?.port).toBe(2222);
        expect(out.pi?.keyFingerprint).toMatch(/^SHA256:/);
        expect(res.outputs.sshConfig?.value).toContain("Host backup-pi");
    });

    it("main's commands run the script library installed once on main, each marking its use", async () => {
        const listing = (await sh(lab.main, `cd ${HOST_LIBRARY_DIR} && ls lib-*.sh && stat -c '%a %U' . lib-*.sh && ls users/*/`)).trim().split("\n");
        const libs = listing.filter((l) => /^lib-[0-9a-f]{16}\.sh$/.test(l));
        expect(libs).toHaveLength(1);
        expect(listing.filter((l) => /^\d+ \w+$/.test(l))).toEqual(["755 root", "644 root"]);
        const prefix = stackOwnerPrefix("organization", "reverse-ssh-tunnel", stack.name);
        const ours = ["pi-sshd", "pi-account", "pi-client-config"].map((n) => libraryUserId(`${prefix}${n}`, n));
        for (const id of ours) expect(listing, id).toContain(id);
        libraryMarks.push(...ours, ...listing.filter((l) => l.startsWith("main-scripts-")));
        expect(libraryMarks).toHaveLength(4);
    });

    it("the backup's commands run its script library, installed from the upload (checked against its SHA-256), each marking its use", async () => {
        const listing = (await sh("backup1", `cd ${HOST_LIBRARY_DIR} && ls lib-*.sh && stat -c '%a %U' . lib-*.sh && ls users/*/ && sha256sum lib-*.sh`)).trim().split("\n");
        const libs = listing.filter((l) => /^lib-[0-9a-f]{16}\.sh$/.test(l));
        expect(libs).toEqual([`lib-${backupHostLibrary().hash}.sh`]);
        expect(listing.filter((l) => /^\d+ \w+$/.test(l))).toEqual(["755 root", "644 root"]);
        const prefix = stackOwnerPrefix("organization", "reverse-ssh-tunnel", stack.name);
        for (const n of ["pi-tunnel-key", "pi-service"]) expect(listing, n).toContain(libraryUserId(`${prefix}${n}`, n));
        expect(listing).toContain(`${backupHostLibrary().sha256}  ${libs[0]}`);
        // The upload is the admin account's file, with the same text.
        const upload = (await sh("backup1", `sha256sum ~${BACKUP_ADMIN}/.cache/reverse-ssh-tunnel/${libs[0]}`)).trim().split(" ")[0];
        expect(upload).toBe(backupHostLibrary().sha256);
    });

    it("a second up changes nothing; preview is clean", async () => {
        const res = await timed("noopUpMs", () => stack.up());
        expect(changes(res.summary.resourceChanges)).toEqual({});
        const pre = await stack.preview();
        expect(changes(pre.changeSummary)).toEqual({});
    });

    it("rotating the key: new key works, old key refused, tunnel back", async () => {
        const oldKey = await sh("backup1", "cat /etc/reverse-ssh-tunnel/pi/id_tunnel");
        expect(keyRefused(lab, "tunnel-pi", oldKey)).toBe(false);
        await setStackConfig(stack, { ...base, backups: [{ ...PI, keyRotation: "rotation-1" }] });
        await timed("rotationUpMs", () => stack.up());
        const newKey = await sh("backup1", "cat /etc/reverse-ssh-tunnel/pi/id_tunnel");
        expect(newKey).not.toBe(oldKey);
        expect(keyRefused(lab, "tunnel-pi", oldKey)).toBe(true);
        figures.tunnelBackAfterRotationMs = await waitFor(() => tunnelWorks(lab.main, "pi", "backup1"), 60_000);
        expect(figures.tunnelBackAfterRotationMs).toBeGreaterThanOrEqual(0);
    });

    it("adding a second backup: both work", async () => {
        await setStackConfig(stack, { ...base, backups: [{ ...PI, keyRotation: "rotation-1" }, GARAGE] });
        await timed("addBackupUpMs", () => stack.up());
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
        expect(await tunnelWorks(lab.main, "garage", "backup2")).toBe(true);
    });

    it("removing one backup revokes it (key refused, live tunnel cut); the other is untouched", async () => {
        const garageKey = await sh("backup2", "cat /etc/reverse-ssh-tunnel/garage/id_tunnel");
        const piPid = (await sh("backup1", "systemctl show -P MainPID reverse-ssh-tunnel-pi")).trim();
        expect((await sh(lab.main, "pgrep -u tunnel-garage | wc -l")).trim()).not.toBe("0");
        await setStackConfig(stack, { ...base, backups: [{ ...PI, keyRotation: "rotation-1" }] });
        await timed("removeBackupUpMs", () => stack.up());
        expect((await sh(lab.main, "pgrep -u tunnel-garage | wc -l; ss -Hltn 'sport = :2223' | wc -l")).trim()).toBe("0\n0");
        expect(keyRefused(lab, "tunnel-garage", garageKey)).toBe(true);
        expect((await sh("backup2", "ls /etc/reverse-ssh-tunnel 2>/dev/null | wc -l")).trim()).toBe("0");
        // Its script library and the upload went with their last user.
        expect((await sh("backup2", `ls -d ${HOST_LIBRARY_DIR} ~${BACKUP_ADMIN}/.cache/reverse-ssh-tunnel 2>/dev/null | wc -l`)).trim()).toBe("0");
        // pi's ssh process never restarted.
        expect((await sh("backup1", "systemctl show -P MainPID reverse-ssh-tunnel-pi")).trim()).toBe(piPid);
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
    });

    it("a compromised, unreachable backup: main-side revocation completes and destroy finishes unaided", async () => {
        const stolen = await sh("backup1", "cat /etc/reverse-ssh-tunnel/pi/id_tunnel");
        // The box is gone from the operator's reach (its home link is cut) but its tunnel is still up.
        await setLink("backup1", "down", "home", lab);
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
        await setStackConfig(stack, { ...base, backups: [{ ...PI, keyRotation: "rotation-1", compromised: true }] });
        const mark = await timed("markCompromisedUpMs", () => stack.up());
        expect(mark.summary.result).toBe("succeeded");
        const res = await timed("destroyMs", () => stack.destroy());
        expect(res.summary.result).toBe("succeeded");
        expect((await sh(lab.main, "pgrep -u tunnel-pi | wc -l; ss -Hltn 'sport = :2222' | wc -l; getent passwd tunnel-pi | wc -l")).trim()).toBe("0\n0\n0");
        expect(keyRefused(lab, "tunnel-pi", stolen)).toBe(true);
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(false);
        // The health command goes with this stack unless another stack's tunnel (or an unmarked one) is left on main.
        const left = await sh(lab.main, `for f in /etc/ssh/ssh_config.d/reverse-ssh-tunnel-*.conf; do [ -e "$f" ] || continue; grep -m1 '^${OWNER_LINE_PREFIX}' "$f" || echo unmarked; done; test -e ${HEALTH_COMMAND_PATH} && echo health-present || echo health-absent`);
        const ours = OWNER_LINE_PREFIX + stackOwnerPrefix("organization", "reverse-ssh-tunnel", stack.name);
        const others = left.split("\n").filter((l) => l !== "" && !l.startsWith("health-") && !l.startsWith(ours));
        expect(left.trim().split("\n").pop()).toBe(others.length > 0 ? "health-present" : "health-absent");
        // None of this stack's library marks is left; the library goes with its last user.
        const marks = (await sh(lab.main, `ls ${HOST_LIBRARY_DIR}/users/*/ 2>/dev/null || true`)).trim().split("\n").filter(Boolean);
        expect(marks.filter((m) => libraryMarks.includes(m))).toEqual([]);
        if (marks.length === 0) expect((await sh(lab.main, `test -e ${HOST_LIBRARY_DIR} && echo present || echo absent`)).trim()).toBe("absent");
        await setLink("backup1", "up", "home", lab);
    });
});
