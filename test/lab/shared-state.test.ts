/**
 * A team sharing one stack in Pulumi's PostgreSQL backend (issue 15), against the lab:
 * two operators, each with a working directory of their own (as two clones of the
 * repo: same Pulumi.yaml and Pulumi.shared.yaml, same passphrase), one real
 * PostgreSQL server (Debian's package, loopback only, started here).
 *
 * (a) A's up, then B's up changes nothing;
 * (b) A and B up at the same moment: one proceeds, the other is refused with
 *     Pulumi's lock message; the state stays valid and converged;
 * (c) a `pulumi up` SIGKILLed mid-apply: the documented recovery (pulumi cancel,
 *     refresh --clear-pending-creates, up) converges and the hosts hold nothing half-done;
 * and no private key is readable in the PostgreSQL table.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLab, type LabDescription } from "../../lab/client";
import { listProcs } from "../../lab/procfs";
import { changes, engineEnv, LAB_PASSPHRASE, ROOT, setStackConfig } from "../support/engine";
import { sh, tunnelWorks, writeReport } from "../support/hosts";
import { startPostgres, type PgServer } from "../support/postgres";

const STACK = "shared";
const LOCK_MESSAGE = /the stack is currently locked by \d+ lock\(s\)/;
/**
 * Pulumi's DIY lock check lists the lock rows, then reads each one: when the other
 * operator's row goes away in between (it backed off or finished), the check fails
 * with this instead of the lock message (pkg/backend/diy/lock.go, checkForLock). The
 * operator is refused all the same, before anything is applied.
 */
const LOCK_RACE = /key not found: sql: no rows in result set/;
const A_ = { name: "team-a", lab: "backup1", tunnelPort: 2501 };
const B_ = { name: "team-b", lab: "backup2", tunnelPort: 2502 };
const C_ = { name: "team-c", lab: "backup3", tunnelPort: 2503 };

/** An operator's working directory: the project's files as in a clone (symlinks), its own stack settings. */
function operatorDir(name: string): string {
    const dir = path.join(ROOT, ".state", "operators", name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const f of ["index.ts", "components", "node_modules", "package.json", "tsconfig.json"]) {
        fs.symlinkSync(path.join(ROOT, f), path.join(dir, f));
    }
    return dir;
}

/**
 * Kills what a SIGKILLed `pulumi up` left running in DIR: the CLI starts its language
 * host and the program in process groups of their own, so the group kill leaves the
 * program orphaned, and a Node program whose engine is gone was seen spinning a core
 * (and 9 GB) for the rest of the run. A crash of the operator's machine would end them
 * too. Only processes whose working directory is DIR (this test's project) are touched.
 */
function killLeftoversIn(dir: string): string[] {
    const killed: string[] = [];
    for (const p of listProcs()) {
        let cwd: string;
        try {
            cwd = fs.readlinkSync(`/proc/${p.pid}/cwd`);
        } catch {
            continue;
        }
        if (p.pid === process.pid || (cwd !== dir && !cwd.startsWith(`${dir}/`))) continue;
        try {
            process.kill(p.pid, "SIGKILL");
            killed.push(`${p.pid} ${p.argv.join(" ").slice(0, 120)}`);
        } catch {
            // gone already
        }
    }
    return killed;
}

function errorText(e: unknown): string {
    return e instanceof Error ? `${e.message}\n${(e as { stderr?: string }).stderr ?? ""}` : String(e);
}

/** Leftovers of an interrupted host-side script: temporary copies, a held host-wide lock. */
async function halfDone(host: string): Promise<string> {
    return (
        await sh(
            host,
            "find /etc /run/reverse-ssh-tunnel -name '.rst-tmp.*' 2>/dev/null; " +
                "[ ! -e /run/reverse-ssh-tunnel/lock ] || flock -n /run/reverse-ssh-tunnel/lock true || echo 'lock held'",
        )
    ).trim();
}

/** Base64 body lines (those of 40+ characters) of an OpenSSH private key. */
function keyBodyLines(pem: string): string[] {
    return pem.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"));
}

describe.sequential("shared state in PostgreSQL: two operators, one stack", () => {
    let lab: LabDescription;
    let pg: PgServer;
    let envVars: Record<string, string>;
    let dirA: string;
    let dirB: string;
    let A: Stack;
    let B: Stack;
    const figures: Record<string, unknown> = {};
    const cfg = (backups: Array<Record<string, unknown>>) => ({ lab: path.join(ROOT, ".state/lab/lab.json"), main: { lab: "main" }, backups });

    beforeAll(async () => {
        lab = loadLab();
        const t0 = Date.now();
        pg = await startPostgres("shared-state");
        figures.postgresStartMs = Date.now() - t0;
        envVars = { ...engineEnv(), ...pg.env, PULUMI_BACKEND_URL: pg.url, PULUMI_CONFIG_PASSPHRASE: LAB_PASSPHRASE };
        process.env.PATH = envVars.PATH;
        dirA = operatorDir("a");
        dirB = operatorDir("b");
    });

    afterAll(async () => {
        const t0 = Date.now();
        await (B ?? A)?.destroy({ continueOnError: true }).catch(() => undefined);
        figures.destroyMs = Date.now() - t0;
        pg?.stop();
        writeReport("shared-state.json", figures);
    });

    it("(a) operator A's up; operator B, from another working directory, has nothing to change", async () => {
        A = await LocalWorkspace.createStack({ stackName: STACK, workDir: dirA }, { envVars });
        await setStackConfig(A, cfg([A_]));
        let t0 = Date.now();
        const up = await A.up();
        figures.aFirstUpMs = Date.now() - t0;
        expect(up.summary.result).toBe("succeeded");
        expect(await tunnelWorks(lab.main, A_.name, A_.lab)).toBe(true);
        // B's clone has the same stack settings file (config and encryption salt), as from git
        fs.copyFileSync(path.join(dirA, `Pulumi.${STACK}.yaml`), path.join(dirB, `Pulumi.${STACK}.yaml`));
        B = await LocalWorkspace.selectStack({ stackName: STACK, workDir: dirB }, { envVars });
        t0 = Date.now();
        const noop = await B.up();
        figures.bNoopUpMs = Date.now() - t0;
        expect(noop.summary.result).toBe("succeeded");
        expect(changes(noop.summary.resourceChanges)).toEqual({});
        // the state lives in the table, not in either working directory
        expect(pg.stateRows().some((r) => r.key.endsWith(`/stacks/reverse-ssh-tunnel/${STACK}.json`))).toBe(true);
        expect(fs.readdirSync(dirA).filter((f) => f.startsWith(".pulumi"))).toEqual([]);
    });

    it("(b) A and B run up at the same moment: one proceeds, the other gets Pulumi's lock message; the state stays valid", async () => {
        // both clones pulled the same change: a second backup
        await setStackConfig(A, cfg([A_, B_]));
        await setStackConfig(B, cfg([A_, B_]));
        const outcomes: string[][] = [];
        let winner: "A" | "B" | null = null;
        let refusal = "";
        // Pulumi's DIY lock is check, write, check again: two writers within the same
        // few milliseconds can both back off (safe, nobody applies). Then they try again.
        for (let attempt = 1; attempt <= 3 && winner === null; attempt++) {
            const t0 = Date.now();
            const [ra, rb] = await Promise.allSettled([A.up(), B.up()]);
            const kind = (r: PromiseSettledResult<unknown>) =>
                r.status === "fulfilled" ? "ok" : LOCK_MESSAGE.test(errorText(r.reason)) ? "locked" : LOCK_RACE.test(errorText(r.reason)) ? "lock-race" : `error: ${errorText(r.reason)}`;
            const ka = kind(ra);
            const kb = kind(rb);
            outcomes.push([ka, kb, `${Date.now() - t0} ms`]);
            expect([ka, kb].filter((k) => k.startsWith("error")), "only the lock may stop an operator").toEqual([]);
            const refused = (k: string) => k === "locked" || k === "lock-race";
            if (ka === "ok" && refused(kb)) [winner, refusal] = ["A", errorText((rb as PromiseRejectedResult).reason)];
            if (kb === "ok" && refused(ka)) [winner, refusal] = ["B", errorText((ra as PromiseRejectedResult).reason)];
            expect(ka === "ok" && kb === "ok", "both applied at once: no lock").toBe(false);
        }
        figures.concurrentOutcomes = outcomes;
        expect(winner).not.toBeNull();
        expect(refusal).not.toContain(pg.env.PGPASSWORD!);
        if (LOCK_MESSAGE.test(refusal)) {
            // the lock names the holder, and the URL in the message carries no password
            expect(refusal).toMatch(/pulumi cancel/);
            expect(refusal).toMatch(/created by \S+@\S+ \(pid \d+\)/);
            figures.lockMessage = /error: (the stack is currently locked[^\n]*)/.exec(refusal)?.[1];
        } else {
            // The upstream race (see LOCK_RACE); (c) checks the lock message itself.
            figures.lockRaceMessage = LOCK_RACE.exec(refusal)?.[0];
        }

        const exported = await A.exportStack();
        const deployment = exported.deployment as { resources?: unknown[]; pending_operations?: unknown[] };
        expect(exported.version).toBe(3);
        expect(deployment.resources?.length).toBeGreaterThan(0);
        expect(deployment.pending_operations ?? []).toEqual([]);
        const other = winner === "A" ? B : A;
        const again = await other.up();
        expect(changes(again.summary.resourceChanges)).toEqual({});
        expect(await tunnelWorks(lab.main, A_.name, A_.lab)).toBe(true);
        expect(await tunnelWorks(lab.main, B_.name, B_.lab)).toBe(true);
        for (const h of [lab.main, A_.lab, B_.lab]) expect(await halfDone(h), h).toBe("");
    });

    it("(c) a pulumi up SIGKILLed mid-apply: cancel, refresh, up converge; nothing half-done on the hosts", async () => {
        // A's change: rotate team-a's key and add a third backup, so the apply runs many remote commands
        await setStackConfig(A, cfg([{ ...A_, keyRotation: "r1" }, B_, C_]));
        await setStackConfig(B, cfg([{ ...A_, keyRotation: "r1" }, B_, C_]));
        const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", STACK], {
            cwd: dirA,
            env: { ...process.env, ...envVars },
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (b: Buffer) => (out += b.toString()));
        child.stderr.on("data", (b: Buffer) => (out += b.toString()));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on("exit", (code, signal) => res({ code, signal })));
        // kill once remote commands are being created on the hosts
        const t0 = Date.now();
        while (!/command:remote:Command\s+\S+\s+creating/.test(out) && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 100));
        expect(out).toMatch(/command:remote:Command\s+\S+\s+creating/);
        await new Promise((r) => setTimeout(r, 1500));
        process.kill(-child.pid!, "SIGKILL");
        const ended = await exited;
        figures.killedAfterMs = Date.now() - t0;
        figures.leftoversKilled = killLeftoversIn(dirA);
        expect(ended.signal, `pulumi up had already finished:\n${out}`).toBe("SIGKILL");
        expect(out).not.toMatch(/Resources:\n/);

        // B, from the other clone, is refused: the dead process's lock is still there
        const refused = await B.up().then(
            () => "applied",
            (e: unknown) => errorText(e),
        );
        expect(refused).toMatch(LOCK_MESSAGE);
        expect(refused).toContain(`(pid ${child.pid})`);
        expect(refused).toMatch(/pulumi cancel/);
        expect(refused).not.toContain(pg.env.PGPASSWORD!);

        // what the killed run left in the state: operations it had started and not finished
        const pending = ((await B.exportStack()).deployment as { pending_operations?: Array<{ type: string }> }).pending_operations ?? [];
        figures.pendingOperationsAfterKill = pending.map((p) => p.type);

        // the documented recovery
        const t1 = Date.now();
        await B.cancel();
        const refresh = await B.refresh({ clearPendingCreates: true });
        expect(refresh.summary.result).toBe("succeeded");
        const up = await B.up();
        expect(up.summary.result).toBe("succeeded");
        figures.recoveryMs = Date.now() - t1;
        const again = await B.up();
        expect(changes(again.summary.resourceChanges)).toEqual({});
        for (const b of [A_, B_, C_]) expect(await tunnelWorks(lab.main, b.name, b.lab), b.name).toBe(true);
        // team-a runs on its rotated key only: one key line in its authorized_keys file
        expect((await sh(lab.main, `grep -vc '^#' /etc/ssh/reverse-ssh-tunnel/authorized_keys/tunnel-${A_.name}`)).trim()).toBe("1");
        for (const h of [lab.main, A_.lab, B_.lab, C_.lab]) expect(await halfDone(h), h).toBe("");
    });

    it("no private key is readable in clear in the PostgreSQL table", async () => {
        const rows = pg.stateRows();
        const decoded = rows.map((r) => r.decoded).join("\n");
        const raw = rows.map((r) => r.raw).join("\n");
        // positive controls: the table does hold this stack's state, and its secrets as ciphertext
        const pub = (await sh(A_.lab, `cat /etc/reverse-ssh-tunnel/${A_.name}/id_tunnel.pub 2>/dev/null || ssh-keygen -y -f /etc/reverse-ssh-tunnel/${A_.name}/id_tunnel`)).trim().split(" ")[1]!;
        expect(decoded).toContain(pub);
        expect(decoded).toContain('"ciphertext"');
        const secrets: Record<string, string> = {
            "lab admin key": fs.readFileSync(lab.admin.privateKeyPath, "utf8"),
            "main's admin key": fs.readFileSync(lab.mainAdminKey.privateKeyPath, "utf8"),
        };
        for (const b of [A_, B_, C_]) secrets[`tunnel key of ${b.name}`] = await sh(b.lab, `cat /etc/reverse-ssh-tunnel/${b.name}/id_tunnel`);
        for (const [what, pem] of Object.entries(secrets)) {
            const lines = keyBodyLines(pem);
            expect(lines.length, what).toBeGreaterThan(0);
            for (const l of lines) {
                expect(decoded.includes(l), `${what} in the decoded state`).toBe(false);
                expect(raw.includes(l), `${what} in the table`).toBe(false);
            }
        }
        expect(decoded).not.toMatch(/PRIVATE KEY-----/);
        expect(decoded).not.toContain(LAB_PASSPHRASE);
        figures.stateRows = rows.length;
        figures.stateBytes = raw.length;
    });
});
