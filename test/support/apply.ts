/**
 * Applies what the components render to lab hosts the way @pulumi/command runs it:
 * a short command string (`bash -s -- create`, through sudo for a non-root admin) goes through the remote login
 * shell over a real SSH connection with a pinned host key, stdin piped. Used by the
 * lab tests and benchmarks where the Pulumi engine is not needed.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderAccountApplyScript, renderAccountRevokeScript } from "../../components/account";
import { privilegedPhase } from "../../components/connection";
import { type ForwardSpec, parseBackupHostKeys, renderKeyInstallScript, renderServiceInstallScript, renderServiceRemoveScript } from "../../components/service";
import { renderPackedBundle } from "../../components/shell";
import { SshdPlacement, renderSshdApplyScript, renderSshdRemoveScript } from "../../components/sshd";
import { type ReverseTunnelArgs, renderClientConfigInstallScript, renderClientConfigRemoveScript, renderMainClientConfig, renderReadHostKeysScript, resolveTunnelSettings } from "../../components/tunnel";
import { parseHostKeyList, parsePublicKey } from "../../components/validation";
import { adminSsh, getHost, LabDescription, loadLab } from "../../lab/client";

/** Result of one remote command. */
export interface StepResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs a rendered script on a lab host as its (sudo-capable) admin. Throws on failure unless `allowFail`. */
export async function runScript(host: string, script: string, opts: { stdin?: string; allowFail?: boolean; lab?: LabDescription } = {}): Promise<StepResult> {
    const lab = opts.lab ?? loadLab();
    const h = getHost(host, lab);
    // As remoteScript runs it: a short command, the packed script bundle and its data on stdin.
    const cmd = privilegedPhase({ user: h.adminUser }, "create");
    const stdin = renderPackedBundle({ create: script, update: script }, opts.stdin ?? "");
    const dial = () => adminSsh(host, cmd, { stdin, timeoutMs: 120_000 }, lab);
    let r = await dial();
    // Like @pulumi/command's dialErrorLimit: a dial that fails (e.g. while sshd re-executes
    // itself on a reload and rebinds its socket) is retried; the script never started.
    for (let i = 0; i < 10 && r.code === 255 && /Connection refused|Connection reset|kex_exchange_identification|Connection closed by/.test(r.stderr) && r.stdout === ""; i++) {
        await new Promise((res) => setTimeout(res, 500));
        r = await dial();
    }
    if (r.code !== 0 && !opts.allowFail) {
        throw new Error(`script failed on ${host} (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r;
}

/** A tunnel keypair made with ssh-keygen (what TunnelKeyPair makes with @pulumi/tls). */
export function generateTunnelKey(type: "ed25519" | "rsa" = "ed25519"): { privateKey: string; publicKey: string; fingerprint: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-tk-"));
    const f = path.join(dir, "id");
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "rsa" ? ["-b", "4096"] : []), "-N", "", "-C", "", "-f", f]);
    const privateKey = fs.readFileSync(f, "utf8");
    const pub = parsePublicKey("key", fs.readFileSync(`${f}.pub`, "utf8"));
    fs.rmSync(dir, { recursive: true, force: true });
    return { privateKey, publicKey: pub.line, fingerprint: pub.fingerprint };
}

/** One backup's tunnel on the lab, as ReverseTunnel would configure it. */
export interface LabTunnel {
    /** Backup name (tunnel name). */
    name: string;
    /** Lab host name of the backup (e.g. backup1). */
    backupHost: string;
    /** Main's loopback port. */
    port: number;
    /** Extra forwards. */
    extraForwards?: ForwardSpec[];
    /** sshd placement. */
    placement?: SshdPlacement;
    /** The key; generated when absent. */
    key?: { privateKey: string; publicKey: string };
    /** Extra keys kept authorized. */
    additionalPublicKeys?: string[];
    /** Keep the previous key for the rotation overlap (ReverseTunnel's account update). */
    keepPreviousKey?: boolean;
    /** sshd `from=` patterns. */
    allowedSources?: string[];
    /** Last day the key is accepted (`YYYYMMDD`). */
    keyExpiry?: string;
    /** Account `ssh backup-<name>` logs into. Default: the lab's backup user. */
    loginUser?: string;
    /** Port of the backup's sshd. Default: read on the backup. */
    backupSshPort?: number;
}

/** Everything the applier produced, for assertions. */
export interface AppliedTunnel {
    settings: ReturnType<typeof resolveTunnelSettings>;
    key: { privateKey: string; publicKey: string };
    mainHostKeys: string[];
    backupHostKeys: string[];
    sshConfig: string;
    steps: Array<{ step: string; host: string; output: string }>;
}

function tunnelArgs(t: LabTunnel, lab: LabDescription): ReverseTunnelArgs {
    const main = getHost(lab.main, lab);
    const backup = getHost(t.backupHost, lab);
    return {
        name: t.name,
        main: { host: main.addresses.operator, user: main.adminUser, hostKey: main.hostKeys.ed25519, ...(main.sshPort && main.sshPort !== 22 ? { port: main.sshPort } : {}) },
        mainPublicHost: main.addresses.public ?? main.addresses.operator,
        ...(main.sshPort && main.sshPort !== 22 ? { mainPublicPort: main.sshPort } : {}),
        backup: { host: backup.addresses.operator, user: backup.adminUser, hostKey: backup.hostKeys.ed25519, ...(backup.sshPort && backup.sshPort !== 22 ? { port: backup.sshPort } : {}) },
        port: t.port,
        loginUser: t.loginUser ?? backup.backupUser ?? lab.mainAdminKey.backupUser,
        ...(t.backupSshPort !== undefined ? { backupSshPort: t.backupSshPort } : {}),
        ...(t.allowedSources ? { allowedSources: t.allowedSources } : {}),
        ...(t.keyExpiry ? { keyExpiry: t.keyExpiry } : {}),
        ...(t.extraForwards ? { extraForwards: t.extraForwards } : {}),
        ...(t.placement ? { sshdPlacement: t.placement } : {}),
    };
}

/** Creates (or updates: every script is idempotent) one tunnel, in ReverseTunnel's order. */
export async function applyTunnel(t: LabTunnel, lab: LabDescription = loadLab()): Promise<AppliedTunnel> {
    const args = tunnelArgs(t, lab);
    const s = resolveTunnelSettings(args);
    const key = t.key ?? generateTunnelKey();
    const steps: AppliedTunnel["steps"] = [];
    const run = async (step: string, host: string, script: string, stdin?: string) => {
        const r = await runScript(host, script, { lab, ...(stdin !== undefined ? { stdin } : {}) });
        steps.push({ step, host, output: `${r.stdout}${r.stderr}` });
        return r;
    };
    const mainHostKeys = parseHostKeyList("main", (await run("main-hostkeys", lab.main, renderReadHostKeysScript())).stdout).map((k) => k.line);
    await run("sshd", lab.main, renderSshdApplyScript({ user: s.tunnelUser, listenPorts: s.listenPorts, description: `backup ${s.name}`, ...(t.placement ? { placement: t.placement } : {}) }));
    await run(
        "account",
        lab.main,
        renderAccountApplyScript({
            user: s.tunnelUser,
            listenPorts: s.listenPorts,
            publicKey: key.publicKey,
            description: `backup ${s.name}`,
            ...(t.additionalPublicKeys ? { additionalPublicKeys: t.additionalPublicKeys } : {}),
            ...(t.allowedSources ? { allowedSources: t.allowedSources } : {}),
            ...(t.keyExpiry ? { expiry: t.keyExpiry } : {}),
            ...(t.keepPreviousKey ? { keepPreviousKey: true } : {}),
        }),
    );
    await run("tunnel-key", t.backupHost, renderKeyInstallScript({ name: s.name }), key.privateKey);
    // As a ReverseTunnel's service: it reads the backup's sshd listener and prints its host keys.
    const installed = await run(
        "service",
        t.backupHost,
        // The lab's args are plain values, so the settings are too.
        renderServiceInstallScript({
            name: s.name,
            mainHost: s.mainPublicHost as string,
            mainPort: s.mainPublicPort as number,
            tunnelUser: s.tunnelUser,
            serviceUser: s.serviceUser,
            forwards: s.forwards,
            mainHostKeys,
            backupFacts: { loginUser: s.loginUser as string, ...(s.backupSshPort !== undefined ? { sshPort: s.backupSshPort } : {}) },
        }),
    );
    const backupHostKeys = parseBackupHostKeys("backup", installed.stdout);
    const clientArgs = { name: s.name, port: s.port!, loginUser: s.loginUser as string, backupHostKeys };
    await run("client-config", lab.main, renderClientConfigInstallScript(clientArgs));
    return { settings: s, key, mainHostKeys, backupHostKeys, sshConfig: renderMainClientConfig(clientArgs), steps };
}

/**
 * Deletes one tunnel in ReverseTunnel's delete order. With `backupReachable: false`
 * (a compromised box) only main-side revocation runs, as with `compromised: true`.
 */
export async function destroyTunnel(t: LabTunnel, opts: { backupReachable?: boolean } = {}, lab: LabDescription = loadLab()): Promise<void> {
    const s = resolveTunnelSettings(tunnelArgs(t, lab));
    await runScript(lab.main, renderClientConfigRemoveScript(s.name), { lab });
    if (opts.backupReachable !== false) {
        await runScript(t.backupHost, renderServiceRemoveScript({ name: s.name, serviceUser: s.serviceUser }), { lab });
    }
    await revokeOnMain(t, lab);
}

/** Main-side revocation only: the account first (kills the live tunnel), then the policy. */
export async function revokeOnMain(t: LabTunnel, lab: LabDescription = loadLab()): Promise<void> {
    const s = resolveTunnelSettings(tunnelArgs(t, lab));
    await runScript(lab.main, renderAccountRevokeScript({ user: s.tunnelUser, listenPorts: s.listenPorts }), { lab });
    await runScript(lab.main, renderSshdRemoveScript({ user: s.tunnelUser }), { lab });
}
