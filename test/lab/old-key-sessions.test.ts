/**
 * Issue 18, point 4: every key change ends the live sessions that the new key file
 * no longer allows, on main, whatever the backup does. sshd checks a key line (the
 * key, `from=`, `expiry-time`) only at login, so an attacker holding a session with
 * the old key keeps it unless main ends it. Each case: the attacker (on the operator,
 * another host than the backup) holds a live session with the leaked key; after the
 * apply the session is gone within 5 s, and the real backup's tunnel is back.
 *
 * The apply is run as ReverseTunnel's commands run it (test/support/apply): the
 * account update is main's whole part of a key change; what differs between the
 * cases is what runs after it (nothing: the main half alone; a backup update that
 * fails; the backup's update and the finalizer).
 *
 * Each test ran red on the code before this change (the account update killed
 * nothing; only the finalizer did, after a successful backup update).
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as c from "../support/internals";
import { LabDescription, loadLab } from "../../lab/client";
import { applyTunnel, destroyTunnel, generateTunnelKey, LabTunnel, runScript, StepResult } from "../support/apply";
import { keyRefused, sh, tunnelWorks, waitFor, writeReport } from "../support/hosts";

const T: LabTunnel = { name: "oldkey", backupHost: "backup8", port: 2270 };
const USER = `tunnel-${T.name}`;

/** An attacker's live `ssh -N` session on main with a leaked key, from the operator's address. */
class Attacker {
    readonly proc: ChildProcess;
    exitedAt: number | undefined;
    private readonly dir: string;

    constructor(lab: LabDescription, privateKey: string) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-att-"));
        fs.writeFileSync(path.join(this.dir, "k"), privateKey, { mode: 0o600 });
        this.proc = spawn(
            "ssh",
            ["-F", "/dev/null", "-i", path.join(this.dir, "k"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${lab.knownHostsPath}`, "-N", `${USER}@${lab.hosts[lab.main]!.addresses.operator}`],
            { stdio: "ignore" },
        );
        this.proc.on("exit", () => (this.exitedAt = Date.now()));
    }

    /** Waits until the session is logged in on main (a process of the account from the operator's address). */
    async established(lab: LabDescription): Promise<void> {
        const from = lab.hosts[lab.main]!.addresses.operatorPeer;
        const ms = await waitFor(async () => this.exitedAt === undefined && (await sessionsFrom(lab, from)) > 0, 10_000, 200);
        expect(ms, "the attacker's session is up").toBeGreaterThanOrEqual(0);
    }

    /**
     * Milliseconds from `t0` until the session ended (negative: it ended before `t0`,
     * during the apply), or null when it is still up `ms` after `t0`.
     */
    async endedWithin(t0: number, ms: number): Promise<number | null> {
        await waitFor(async () => this.exitedAt !== undefined, Math.max(0, t0 + ms - Date.now()), 50);
        return this.exitedAt === undefined ? null : this.exitedAt - t0;
    }

    stop(): void {
        this.proc.kill("SIGKILL");
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** Established TCP connections to main's sshd from `addr` held by a session of the account. */
async function sessionsFrom(lab: LabDescription, addr: string): Promise<number> {
    const out = await sh(
        lab.main,
        `n=0; for p in $(pgrep -u ${USER}); do pp=$(ps -o ppid= -p $p | tr -d ' '); ss -Htnp state established "( dst ${addr} )" | grep -Eq "pid=($p|$pp)," && n=$((n+1)); done; echo $n`,
        { allowFail: true },
    );
    return Number(out.trim() || "0");
}

describe.sequential("issue 18.4: a key change ends the old key's live sessions on main", () => {
    let lab: LabDescription;
    const figures: Record<string, number> = {};
    let attacker: Attacker | undefined;

    /** The account update as ReverseTunnel's account command renders it (overlap unless compromised). */
    const accountUpdate = (publicKey: string, extra: Partial<c.TunnelAccountRenderArgs>): Promise<StepResult> =>
        runScript(lab.main, c.renderAccountApplyScript({ user: USER, listenPorts: [T.port], publicKey, description: `backup ${T.name}`, ...extra }), { lab });

    /** Runs `apply`, then measures how long the attacker's session survives it (ms after the apply ended). */
    const timedKill = async (label: string, apply: () => Promise<unknown>) => {
        const t0 = Date.now();
        await apply();
        const t1 = Date.now();
        const ended = await attacker!.endedWithin(t1, 5000);
        figures[`${label}ApplyMs`] = t1 - t0;
        // Negative: the session was gone before the apply returned.
        if (ended !== null) figures[`${label}SessionEndedAfterApplyMs`] = ended;
        return ended;
    };

    beforeAll(() => {
        lab = loadLab();
    });
    afterEach(async () => {
        attacker?.stop();
        attacker = undefined;
        await destroyTunnel(T, {}, lab).catch(() => undefined);
    });
    afterAll(async () => {
        await sh(lab.main, "rm -f /var/log/auth.log", { allowFail: true });
        writeReport("old-key-sessions.json", figures);
    });

    it("(a) compromised: true: the account update ends the old key's session at once, without waiting for the backup", async () => {
        const a = await applyTunnel(T, lab);
        attacker = new Attacker(lab, a.key.privateKey);
        await attacker.established(lab);
        const d = generateTunnelKey();
        // No overlap for a compromised backup; nothing runs on the backup before the check.
        const ended = await timedKill("compromised", () => accountUpdate(d.publicKey, {}));
        expect(ended, "the old key's session is gone within 5 s of the apply").not.toBeNull();
        expect(figures.compromisedApplyMs).toBeLessThan(15_000);
        expect(keyRefused(lab, USER, a.key.privateKey)).toBe(true);
        // The backup, once reachable, gets the new key (the rest of that pulumi up): its tunnel is back.
        await applyTunnel({ ...T, key: d }, lab);
        figures.compromisedTunnelBackMs = await waitFor(() => tunnelWorks(lab.main, T.name, T.backupHost), 30_000);
        expect(figures.compromisedTunnelBackMs).toBeGreaterThanOrEqual(0);
    });

    it("(b) the main half alone (no backup half, no finalizer): its account update ends the old key's session", async () => {
        const a = await applyTunnel(T, lab);
        attacker = new Attacker(lab, a.key.privateKey);
        await attacker.established(lab);
        // The main half's update: the new key, the old one kept for the overlap. Nothing else runs.
        const d = generateTunnelKey();
        const ended = await timedKill("mainHalf", () => accountUpdate(d.publicKey, { keepPreviousKey: true }));
        expect(ended, "the old key's session is gone within 5 s of the apply").not.toBeNull();
        // The real backup (its half not applied yet) logs in again with the overlapping key.
        figures.mainHalfTunnelBackMs = await waitFor(() => tunnelWorks(lab.main, T.name, T.backupHost), 30_000);
        expect(figures.mainHalfTunnelBackMs).toBeGreaterThanOrEqual(0);
    });

    it("(c) a failed or interrupted backup update: the old key's session is gone anyway", async () => {
        const a = await applyTunnel(T, lab);
        attacker = new Attacker(lab, a.key.privateKey);
        await attacker.established(lab);
        const d = generateTunnelKey();
        const ended = await timedKill("failedBackup", async () => {
            await accountUpdate(d.publicKey, { keepPreviousKey: true });
            // The backup's key install is killed half-way (SIGKILL: no trap runs); the finalizer never runs.
            const script = c.renderKeyInstallScript({ name: T.name });
            const injected = script.replace('    cat >"$tmp"\n', () => '    cat >"$tmp"\n    kill -KILL $$\n');
            expect(injected).not.toBe(script);
            const r = await runScript(T.backupHost, injected, { lab, stdin: d.privateKey, allowFail: true });
            expect(r.code).not.toBe(0);
        });
        expect(ended, "the old key's session is gone within 5 s of the apply").not.toBeNull();
        figures.failedBackupTunnelBackMs = await waitFor(() => tunnelWorks(lab.main, T.name, T.backupHost), 30_000);
        expect(figures.failedBackupTunnelBackMs).toBeGreaterThanOrEqual(0);
    });

    it("(d) narrowing allowedSources without a new key: the session from a source no longer allowed ends, and cannot come back", async () => {
        const a = await applyTunnel(T, lab);
        // The leaked key itself, used from the operator's address (not the backup's NAT address).
        attacker = new Attacker(lab, a.key.privateKey);
        await attacker.established(lab);
        const nat = lab.router.wanAddress;
        const ended = await timedKill("narrowing", () => accountUpdate(a.key.publicKey, { keepPreviousKey: true, allowedSources: [nat] }));
        expect(ended, "the old key's session is gone within 5 s of the apply").not.toBeNull();
        expect(keyRefused(lab, USER, a.key.privateKey)).toBe(true);
        figures.narrowingTunnelBackMs = await waitFor(() => tunnelWorks(lab.main, T.name, T.backupHost), 30_000);
        expect(figures.narrowingTunnelBackMs).toBeGreaterThanOrEqual(0);
    });

    it("(e) an account update cut off after it wrote the new key file, before its sweep: the next run ends the old key's session", async () => {
        const a = await applyTunnel(T, lab);
        attacker = new Attacker(lab, a.key.privateKey);
        await attacker.established(lab);
        // Narrowing: the same key, now only from the backup's NAT address (the attacker is elsewhere).
        const script = c.renderAccountApplyScript({ user: USER, listenPorts: [T.port], publicKey: a.key.publicKey, description: `backup ${T.name}`, keepPreviousKey: true, allowedSources: [lab.router.wanAddress] });
        // What a dropped connection does between the file's install and the sweep (SIGKILL: no trap runs).
        const cut = script.replace('rst_install_file "$rst_keys_file" 644 root root <"$rst_keys_new"\n', (line) => `${line}kill -KILL $$\n`);
        expect(cut).not.toBe(script);
        expect((await runScript(lab.main, cut, { lab, allowFail: true })).code).not.toBe(0);
        expect(keyRefused(lab, USER, a.key.privateKey)).toBe(true);
        expect(attacker.exitedAt, "cut off before its sweep, the run left the old session up").toBeUndefined();
        // The next run finds the file already as wanted; the pending sweep still ends the session.
        const ended = await timedKill("cutOffSweep", () => runScript(lab.main, script, { lab }));
        expect(ended, "the old key's session is gone within 5 s of the next run").not.toBeNull();
        expect(await sh(lab.main, "ls -A /run/reverse-ssh-tunnel")).not.toContain(`sweep-pending-${USER}`);
        figures.cutOffSweepTunnelBackMs = await waitFor(() => tunnelWorks(lab.main, T.name, T.backupHost), 30_000);
        expect(figures.cutOffSweepTunnelBackMs).toBeGreaterThanOrEqual(0);
    });

    it("the finalizer's attribution is sshd's own journal record: a forged syslog line naming the current key does not save an old-key session", async () => {
        const a = await applyTunnel(T, lab);
        const d = generateTunnelKey();
        // The rotation's overlap; the backup is back with the old key, then the attacker logs in with it too.
        await accountUpdate(d.publicKey, { keepPreviousKey: true });
        expect(await waitFor(() => tunnelWorks(lab.main, T.name, T.backupHost), 30_000)).toBeGreaterThanOrEqual(0);
        attacker = new Attacker(lab, a.key.privateKey);
        await attacker.established(lab);
        const child = (await sh(lab.main, `pgrep -n -u ${USER}`)).trim();
        const monitor = (await sh(lab.main, `ps -o ppid= -p ${child}`)).trim();
        // Any local user can send syslog a message tagged "sshd[PID]" (logger -t). The lab
        // runs no rsyslog; the line appended is what rsyslog's default template writes
        // for that message into /var/log/auth.log. sshd itself cuts a client's user name
        // at ':' (user:style), so an invalid user name cannot spell "SHA256:...".
        const forged = `Accepted publickey for ${USER} from ${lab.router.wanAddress} port 40000 ssh2: ED25519 ${d.fingerprint}`;
        await sh(lab.main, `runuser -u nobody -- logger -p auth.info -t ${c.shQuote(`sshd[${monitor}]`)} ${c.shQuote(forged)}
            printf '%s main sshd[%s]: %s\n' "$(date --iso-8601=ns | sed 's/,/./')" ${monitor} ${c.shQuote(forged)} >>/var/log/auth.log`);
        // The backup switches to the new key; then the finalizer runs (the end of that pulumi up).
        await runScript(T.backupHost, c.renderKeyInstallScript({ name: T.name }), { lab, stdin: d.privateKey });
        const ended = await timedKill("finalizerForgedSyslog", () =>
            runScript(lab.main, c.renderAccountFinalizeScript({ user: USER, listenPorts: [T.port], publicKey: d.publicKey, description: `backup ${T.name}` }), { lab }),
        );
        expect(ended, "the old key's session is gone within 5 s of the finalizer").not.toBeNull();
        expect(await tunnelWorks(lab.main, T.name, T.backupHost)).toBe(true);
        expect((await sh(lab.main, `grep -c -v '^#' ${c.authorizedKeysPath(USER)}`)).trim()).toBe("1");
        // Run again (a later up, where the key file already holds exactly the final key and
        // the finalizer skips its apply): the file (same inode and time) and the tunnel's session stay.
        const file = c.authorizedKeysPath(USER);
        const before = await sh(lab.main, `stat -c '%i %Y %a %U' ${file}; pgrep -u ${USER} | sort`);
        await runScript(lab.main, c.renderAccountFinalizeScript({ user: USER, listenPorts: [T.port], publicKey: d.publicKey, description: `backup ${T.name}` }), { lab });
        expect(await sh(lab.main, `stat -c '%i %Y %a %U' ${file}; pgrep -u ${USER} | sort`)).toBe(before);
    });
});
