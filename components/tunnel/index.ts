import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderKeyOptions, TUNNEL_ACCOUNT_TYPE, tunnelAccountCommand, TunnelAccountParts } from "../account";
import { HostConnection, validateConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { joinScripts } from "../shell/bundle";
import { mainHostLibrary } from "../library/main";
import { TUNNEL_KEY_PAIR_TYPE, tunnelKeyPairKey, TunnelKeyAlgorithm } from "../keypair";
import { defaultServiceUser, defaultTunnelUser, ForwardSpec, parseBackupHostKeys, parseTunnelRun, PLACEHOLDER_KEY, renderSshClientConfig, servicePaths, TUNNEL_SERVICE_TYPE, tunnelRunScript, tunnelServiceCommands } from "../service";
import { SSHD_MATCH_BLOCK_TYPE, sshdMatchBlockCommand, SshdPlacement } from "../sshd";
import {
    ConfigError,
    assertUnique,
    forTunnel,
    parseHostKeyList,
    parsePrivateKeyFingerprint,
    validateHost,
    validatePort,
    validateTunnelName,
    validateUserName,
} from "../validation";
import {
    renderClientConfigInstallScript,
    renderClientConfigRemoveScript,
    renderMainClientConfig,
    renderReadHostKeysScript,
} from "./render";
import { claimOnMain } from "./registry";
import { recordLastStep } from "./lastStep";
import { ownerOf } from "../ownership";
import { checkHandoff, HANDOFF_VERSION, TunnelHandoff } from "./handoff";

export * from "./render";
export type { TunnelHandoff } from "./handoff";

/**
 * Inputs of ReverseTunnel.
 *
 * Give `main`, `backup` or both. With both, one component builds the whole tunnel.
 * With `main` only (the main half), the tunnel key is generated and main is set up;
 * its `handoff` output feeds the backup half in another stack (through a
 * StackReference). With `backup` only (the backup half), give that `handoff` (or, the
 * older way, `port`, `privateKey`, `mainHostKeys` and `mainPublicHost` one by one).
 * Every other setting defaults from the name alone, the same in both halves; what the
 * backup half still sets itself is checked against the handoff at preview.
 *
 * `name`, `port`, `extraForwards`, `backupSshPort`, the account names,
 * `keyAlgorithm`, `sshdPlacement` and the flags stay plain values: they name
 * accounts, units, files and the ports main listens on (what the tunnel is), so a
 * change must show at preview as a planned replacement. Values that may come from
 * another resource (addresses, ports, users, host keys, private keys) take Inputs.
 */
export interface ReverseTunnelArgs {
    /**
     * Backup name (1-24 of a-z, 0-9, '-'); used in account, unit and host-alias names.
     * @default the resource name
     */
    readonly name?: string;
    /** How Pulumi reaches main. Omit it for the backup half only. */
    readonly main?: HostConnection;
    /**
     * Main's address as the backup dials it. Required without `main`.
     * @default main.host
     */
    readonly mainPublicHost?: pulumi.Input<string>;
    /**
     * Main's SSH port as the backup dials it.
     * @default main.port, else 22
     */
    readonly mainPublicPort?: pulumi.Input<number>;
    /** How Pulumi reaches the backup (directly at home, or through main via `proxy`). Omit it for the main half only. */
    readonly backup?: HostConnection;
    /**
     * Main's loopback port that reaches the backup's SSH (1024-65535). Required, except
     * in a backup half given `handoff` (which carries it; if given too, they must agree).
     */
    readonly port?: number;
    /**
     * Further forwards (e.g. a web UI), each pinned to its own port on main.
     * @default none
     */
    readonly extraForwards?: ForwardSpec[];
    /**
     * Tunnel account on main.
     * @default "tunnel-<name>"
     */
    readonly tunnelUser?: string;
    /**
     * Account on the backup that `ssh backup-<name>` logs into. The default is the
     * account Pulumi logs into on the backup, because it certainly exists and accepts
     * SSH keys; Raspberry Pi OS has had no `pi` account since 2022. Apply fails with a
     * clear error when the account does not exist.
     * @default backup.user, else "root"
     */
    readonly loginUser?: string;
    /**
     * Port of the backup's own sshd, the target of main's forward. The default is where
     * the backup's sshd really listens, read on the backup at apply (its ssh.socket,
     * else `sshd -T`).
     * @default read on the backup
     */
    readonly backupSshPort?: number;
    /**
     * Service account on the backup.
     * @default "rst-<name>"
     */
    readonly serviceUser?: string;
    /**
     * Tunnel key algorithm.
     * @default "ED25519"
     */
    readonly keyAlgorithm?: TunnelKeyAlgorithm;
    /**
     * Change to rotate the tunnel key.
     * @default none
     */
    readonly keyRotation?: string;
    /**
     * Last day (`YYYYMMDD`) main accepts the key.
     * @default no expiry
     */
    readonly keyExpiry?: string;
    /**
     * sshd `from=` patterns the key is accepted from.
     * @default anywhere
     */
    readonly allowedSources?: string[];
    /**
     * Where main's Match block goes.
     * @default "auto"
     */
    readonly sshdPlacement?: SshdPlacement;
    /**
     * Install main's `ssh backup-<name>` client config under /etc/ssh/ssh_config.d
     * (it needs the backup's host keys: from `backup`, or `backupHostKeys`).
     * @default true
     */
    readonly installClientConfig?: boolean;
    /**
     * The backup is compromised or unreachable: backup-side resources are retained on
     * delete so destroy needs main only.
     * @default false
     */
    readonly compromised?: boolean;
    /**
     * Backup half only: the main half's `handoff` output (e.g.
     * `mainStack.requireOutput("handoff")`): the port, account names, main's public
     * address and host keys and the key, in one value. Settings given here as well
     * must agree with it (an error at preview names the one that does not).
     * @default none (then `port`, `privateKey`, `mainHostKeys`, `mainPublicHost` are required)
     */
    readonly handoff?: pulumi.Input<TunnelHandoff>;
    /** Backup half only, without `handoff`: the tunnel's private key, the main half's `privateKey` output (secret). */
    readonly privateKey?: pulumi.Input<string>;
    /**
     * Main's host keys (OpenSSH lines), which the backup pins. Backup half without
     * `handoff`: required, the main half's `mainHostKeys` output. With `main`: optional;
     * given, this tunnel does not read them from main itself: with many tunnels on one
     * main, pass the first tunnel's `mainHostKeys` output to the others, and each saves
     * a command, a login on main and that command's state.
     * @default with `main`: read from main by a command of this tunnel
     */
    readonly mainHostKeys?: pulumi.Input<string[]>;
    /** Main half only: the backup's host keys (the backup half's `backupHostKeys` output), so main's `ssh backup-<name>` config can be installed. */
    readonly backupHostKeys?: pulumi.Input<string[]>;
    /**
     * Who owns this tunnel's entries on main and on the backup (account, key file, sshd
     * block, client config, unit): each carries it. An up refuses, before any change, an
     * entry of the same name another owner holds, or a port another tunnel on that main
     * holds; a destroy leaves another owner's entries alone. See docs/ownership.md.
     * @default "<org>/<project>/<stack>/<name>": the running stack and this component's resource name
     */
    readonly owner?: string;
    /**
     * Move this backup from the stack (or component) that owns its entries to this one:
     * they are re-marked as ours, the tunnel reconnects with this stack's key, and the
     * other stack's destroy then leaves it alone. Set it for the up that moves the backup
     * (keeping it afterwards is harmless). Never needed for ports: a port another tunnel
     * holds is refused whatever this says.
     * @default false
     */
    readonly adopt?: boolean;
}

/** Dial retries towards main unless the connection sets its own (about 36 s in all). */
export const MAIN_DIAL_ERROR_LIMIT = 15;
/** Dial retries towards a backup unless the connection sets its own (about 61 s in all). */
export const BACKUP_DIAL_ERROR_LIMIT = 20;

/** True when `v` is known now (not an Output or a promise). */
function isKnown(v: unknown): boolean {
    return !pulumi.Output.isInstance(v) && !(v instanceof Promise);
}

/**
 * Checks the settings that are known now and returns the defaults filled in (throws
 * ConfigError naming the tunnel and the setting, e.g. `backup "pi": port: ...`).
 * `mainPublicHost`, `mainPublicPort` and the default `loginUser` (from `backup.user`)
 * may be Outputs; those are checked when they resolve, before the command that needs
 * them runs.
 *
 * @param defaultName - the name when `args.name` is not given (ReverseTunnel passes its resource name).
 */
export function resolveTunnelSettings(args: ReverseTunnelArgs, defaultName?: string) {
    const name = args.name ?? defaultName;
    // An invalid name is still the best label the user has for the tunnel.
    return name === undefined ? checkTunnelSettings(args, defaultName) : forTunnel(String(name), () => checkTunnelSettings(args, defaultName));
}

function checkTunnelSettings(args: ReverseTunnelArgs, defaultName: string | undefined) {
    if (args.main === undefined && args.backup === undefined) {
        throw new ConfigError("main", "give main, backup or both (a ReverseTunnel needs at least one side)");
    }
    if (args.main !== undefined) validateConnection("main.connection", args.main);
    if (args.backup !== undefined) validateConnection("backup.connection", args.backup);
    const name = validateTunnelName("name", args.name ?? defaultName);
    const fromHandoff = args.handoff !== undefined;
    if (fromHandoff && args.main !== undefined) {
        throw new ConfigError("handoff", "only a backup half (no `main`) takes a handoff; the main half and the whole tunnel export it as their `handoff` output");
    }
    if (fromHandoff) {
        for (const k of ["privateKey", "mainHostKeys"] as const) {
            if (args[k] !== undefined) throw new ConfigError(k, "the handoff carries it: drop it here, or drop `handoff` and give the settings one by one");
        }
    }
    // A backup half given a handoff learns its port when the handoff resolves.
    const port = args.port === undefined && fromHandoff ? undefined : validatePort("port", args.port, 1024);
    const backupSshPort = args.backupSshPort === undefined ? undefined : validatePort("backupSshPort", args.backupSshPort);
    const forwards: ForwardSpec[] = [...(port !== undefined ? [{ remotePort: port, localPort: backupSshPort ?? 22, localHost: "127.0.0.1" }] : []), ...(args.extraForwards ?? [])];
    forwards.forEach((f, i) => validatePort(`forwards[${i}].remotePort`, f.remotePort, 1024));
    assertUnique("forwards", "remote port", forwards.map((f) => f.remotePort));
    if (args.main === undefined && !fromHandoff) {
        for (const k of ["mainPublicHost", "privateKey", "mainHostKeys"] as const) {
            if (args[k] === undefined) throw new ConfigError(k, "required for the backup half (no main): pass the main half's `handoff` output instead, or this setting from its outputs");
        }
    }
    const mainPublicHost: pulumi.Input<string> | undefined = args.mainPublicHost ?? args.main?.host;
    const mainPublicPort: pulumi.Input<number> | undefined = args.mainPublicPort ?? args.main?.port ?? (fromHandoff ? undefined : 22);
    if (mainPublicHost !== undefined && isKnown(mainPublicHost)) validateHost("mainPublicHost", mainPublicHost);
    if (mainPublicPort !== undefined && isKnown(mainPublicPort)) validatePort("mainPublicPort", mainPublicPort);
    const tunnelUser = validateUserName("tunnelUser", args.tunnelUser ?? defaultTunnelUser(name));
    const serviceUser = validateUserName("serviceUser", args.serviceUser ?? defaultServiceUser(name));
    const loginUser: pulumi.Input<string> = args.loginUser ?? args.backup?.user ?? "root";
    if (isKnown(loginUser)) validateUserName("loginUser", loginUser);
    if (args.keyRotation !== undefined && typeof args.keyRotation !== "string") {
        throw new ConfigError("keyRotation", "must be a string");
    }
    if (args.keyAlgorithm !== undefined && args.keyAlgorithm !== "ED25519" && args.keyAlgorithm !== "RSA") {
        throw new ConfigError("keyAlgorithm", `${JSON.stringify(args.keyAlgorithm)} is not supported; use "ED25519" or "RSA"`);
    }
    const listenPorts = forwards.map((f) => f.remotePort);
    // Render once with placeholders: every remaining check runs now, not mid-apply
    // (with a handoff, the service's rendering checks the values once they resolve).
    if (port === undefined) return { name, port, forwards, listenPorts, mainPublicHost, mainPublicPort, tunnelUser, serviceUser, loginUser, backupSshPort };
    renderKeyOptions({
        user: tunnelUser,
        listenPorts,
        publicKey: "",
        ...(args.keyExpiry !== undefined ? { expiry: args.keyExpiry } : {}),
        ...(args.allowedSources !== undefined ? { allowedSources: args.allowedSources } : {}),
    });
    renderSshClientConfig({
        name,
        mainHost: mainPublicHost !== undefined && isKnown(mainPublicHost) ? (mainPublicHost as string) : "pending.invalid",
        mainPort: mainPublicPort !== undefined && isKnown(mainPublicPort) ? (mainPublicPort as number) : 22,
        tunnelUser,
        serviceUser,
        forwards,
        mainHostKeys: [PLACEHOLDER_KEY],
    });
    return { name, port, forwards, listenPorts, mainPublicHost, mainPublicPort, tunnelUser, serviceUser, loginUser, backupSshPort };
}

/**
 * Reads main's host keys (OpenSSH lines) with one command, `NAME-hostkeys`: what a
 * ReverseTunnel does for itself without `mainHostKeys`. A program with many tunnels on
 * one main calls it once and gives the result to each tunnel's `mainHostKeys`.
 */
export function readMainHostKeys(name: string, connection: HostConnection, opts: pulumi.CustomResourceOptions = {}): pulumi.Output<string[]> {
    return hostKeysCommand(`${name}-hostkeys`, { dialErrorLimit: MAIN_DIAL_ERROR_LIMIT, ...connection }, opts);
}

/** The command reading main's host keys, and its parsed output (`check` labels a parse error, e.g. with the tunnel). */
function hostKeysCommand(resourceName: string, connection: HostConnection, opts: pulumi.CustomResourceOptions, check: (parse: () => string[]) => string[] = (parse) => parse()) {
    const read = remoteScript(resourceName, { connection, connectionKey: "main.connection", create: renderReadHostKeysScript(), quiet: true }, opts);
    return read.stdout.apply((out) => check(() => parseHostKeyList("main host keys", out).map((k) => k.line)));
}

/**
 * One backup's complete reverse tunnel: keypair, tunnel account and sshd policy on
 * main, the service on the backup, and main's client entry for `ssh backup-<name>`;
 * or one half of it (see ReverseTunnelArgs).
 *
 * Order on create: policy, then account (so the key is never accepted without the
 * policy in force), then the backup. On delete the reverse: the backup (unless
 * compromised), then the account, whose removal kills the live tunnel, and only then
 * the policy: revocation never depends on sshd taking a configuration change.
 */
export class ReverseTunnel extends pulumi.ComponentResource {
    /** The backup's name. */
    readonly backupName: pulumi.Output<string>;
    /** Main's loopback port of the backup's SSH. */
    readonly port: pulumi.Output<number>;
    /** All forwarded ports on main. */
    readonly ports: pulumi.Output<number[]>;
    /** The tunnel account on main. */
    readonly tunnelUser: pulumi.Output<string>;
    /** The systemd unit on the backup. */
    readonly unitName: pulumi.Output<string>;
    /** SHA256 fingerprint of the tunnel key. */
    readonly keyFingerprint: pulumi.Output<string>;
    /** The tunnel key's public half (OpenSSH line). */
    readonly publicKey: pulumi.Output<string>;
    /** The tunnel key's private half (secret): the backup half's `privateKey` input. */
    readonly privateKey: pulumi.Output<string>;
    /** Main's host keys (OpenSSH lines): the backup half's `mainHostKeys` input. */
    readonly mainHostKeys: pulumi.Output<string[]>;
    /** The backup's host keys (OpenSSH lines), read from the backup or given; empty when neither. */
    readonly backupHostKeys: pulumi.Output<string[]>;
    /** Ready-to-paste `~/.ssh/config` block for main (`ssh backup-<name>`); empty without the backup's host keys. */
    readonly sshConfig: pulumi.Output<string>;
    /** Last day main accepts the key (`YYYYMMDD`); empty without an expiry. */
    readonly keyExpiry: pulumi.Output<string>;
    /** A reminder to rotate before the expiry; empty without an expiry. */
    readonly rotationReminder: pulumi.Output<string>;
    /**
     * Everything the backup half needs, in one value (secret: it holds the key). Export
     * it from the stack that owns main and pass it to the backup half's `handoff`.
     */
    readonly handoff: pulumi.Output<TunnelHandoff>;

    constructor(name: string, args: ReverseTunnelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("reverse-ssh-tunnel:index:ReverseTunnel", name, {}, opts);
        const s = resolveTunnelSettings(args, name);
        const listenPorts = s.listenPorts;
        // Before any child exists: a clash with another tunnel of this program on the same main is refused whole.
        if (args.main !== undefined) claimOnMain(args.main, { name: s.name, resourceName: name, ports: listenPorts, tunnelUser: s.tunnelUser });
        /** Checks that run when an Output resolves name the tunnel too. */
        const named = <T>(check: () => T): T => forTunnel(s.name, check);
        // The key, the sshd block, the account and the service are this component's own
        // children, not each the child of a component of its own (as up to 0.1.0): each
        // component cost the engine three checkpoint writes per tunnel on a fresh up (begin,
        // end, outputs), about half of a tunnel's writes. The alias gives each its former
        // URN, so an upgrade updates it in place: a delete would revoke the tunnel.
        const formerlyUnder = (type: string): pulumi.CustomResourceOptions => ({ parent: this, aliases: [{ parent: pulumi.createUrn(name, type, this) }] });
        // One owner for every entry of this tunnel, on main and on the backup.
        const owner = ownerOf(name, args.owner);
        const ownership = { owner, ...(args.adopt === true ? { adopt: true } : {}) };
        // A backup half's handoff, checked against what this half says itself; its
        // non-secret part feeds the plain settings without making them secret.
        const handoffIn =
            args.handoff === undefined
                ? undefined
                : pulumi.secret(args.handoff).apply((h) =>
                      named(() =>
                          checkHandoff(h, {
                              name: s.name,
                              tunnelUser: s.tunnelUser,
                              serviceUser: s.serviceUser,
                              ...(s.port !== undefined ? { port: s.port } : {}),
                              ...(args.extraForwards !== undefined ? { extraPorts: args.extraForwards.map((f) => f.remotePort) } : { extraPorts: [] }),
                              ...(typeof args.mainPublicHost === "string" ? { mainPublicHost: args.mainPublicHost } : {}),
                              ...(typeof args.mainPublicPort === "number" ? { mainPublicPort: args.mainPublicPort } : {}),
                          }),
                      ),
                  );
        const handoffPublic = handoffIn === undefined ? undefined : pulumi.unsecret(handoffIn.apply(({ privateKey: _key, ...rest }) => rest));
        const mainPublicHost: pulumi.Input<string> = s.mainPublicHost ?? handoffPublic!.apply((h) => h.mainPublicHost);
        const mainPublicPort: pulumi.Input<number> = s.mainPublicPort ?? handoffPublic!.apply((h) => h.mainPublicPort);
        const forwardsOut: pulumi.Output<ForwardSpec[]> =
            s.port !== undefined
                ? pulumi.output(s.forwards)
                : handoffPublic!.apply((h) => [{ remotePort: h.port, localPort: s.backupSshPort ?? 22, localHost: "127.0.0.1" }, ...(args.extraForwards ?? [])]);
        // Dial retries where the library relies on reconnecting (upstream: limit N = N+1
        // attempts, backoff 0.1 s x1.5 capped at 5 s, ~11 s for 10). Main: 15 (~36 s), for an
        // sshd restart under load. Backup: 20 (~61 s), for a reboot (a Pi takes 30-60 s) and,
        // through main, for the tunnel's own reconnect (<= ConnectTimeout + RestartSec = 13 s).
        // An explicit dialErrorLimit wins.
        const main = args.main === undefined ? undefined : { dialErrorLimit: MAIN_DIAL_ERROR_LIMIT, ...args.main };
        const backup = args.backup === undefined ? undefined : { dialErrorLimit: BACKUP_DIAL_ERROR_LIMIT, ...args.backup };

        // The key: generated by the main half (or the whole tunnel), given to the backup half.
        let publicKey: pulumi.Output<string>;
        let privateKey: pulumi.Output<string>;
        let keyFingerprint: pulumi.Output<string>;
        if (main !== undefined) {
            ({ publicKey, privateKey, fingerprint: keyFingerprint } = tunnelKeyPairKey(
                `${name}`,
                { ...(args.keyAlgorithm !== undefined ? { algorithm: args.keyAlgorithm } : {}), ...(args.keyRotation !== undefined ? { rotation: args.keyRotation } : {}) },
                formerlyUnder(TUNNEL_KEY_PAIR_TYPE),
            ));
        } else {
            // Checked before the service gets it: a bad key fails the install before it runs.
            const checked = pulumi.secret(handoffIn !== undefined ? handoffIn.apply((h) => h.privateKey) : args.privateKey!).apply((k) => ({ key: k, ...named(() => parsePrivateKeyFingerprint("privateKey", k)) }));
            privateKey = checked.apply((c) => c.key);
            publicKey = pulumi.unsecret(checked.apply((c) => c.publicKey));
            keyFingerprint = pulumi.unsecret(checked.apply((c) => c.fingerprint));
        }

        // Main's host keys: given (a handoff, or mainHostKeys with or without main), else read from main.
        const mainHostKeys: pulumi.Output<string[]> =
            main !== undefined && args.mainHostKeys === undefined
                ? hostKeysCommand(`${name}-main-hostkeys`, main, { parent: this }, named)
                : (handoffPublic !== undefined ? handoffPublic.apply((h) => h.mainHostKeys) : pulumi.output(args.mainHostKeys!)).apply((keys) => named(() => parseHostKeyList("mainHostKeys", keys.join("\n"))).map((k) => k.line));
        let account: TunnelAccountParts | undefined;
        if (main !== undefined) {
            const policy = sshdMatchBlockCommand(
                `${name}`,
                {
                    connection: main,
                    user: s.tunnelUser,
                    listenPorts,
                    description: `backup ${s.name}`,
                    ...(args.sshdPlacement !== undefined ? { placement: args.sshdPlacement } : {}),
                    ...ownership,
                },
                formerlyUnder(SSHD_MATCH_BLOCK_TYPE),
            );
            account = tunnelAccountCommand(
                `${name}`,
                {
                    connection: main,
                    user: s.tunnelUser,
                    listenPorts,
                    publicKey,
                    description: `backup ${s.name}`,
                    // A compromised backup gets no overlap: its old key dies at once.
                    overlapKeysOnUpdate: args.compromised !== true,
                    ...ownership,
                    ...(args.keyExpiry !== undefined ? { expiry: args.keyExpiry } : {}),
                    ...(args.allowedSources !== undefined ? { allowedSources: args.allowedSources } : {}),
                },
                { ...formerlyUnder(TUNNEL_ACCOUNT_TYPE), dependsOn: [policy] },
            );
        }

        let service: command.remote.Command | undefined;
        let backupHostKeys: pulumi.Output<string[]> = pulumi.output(args.backupHostKeys ?? []);
        if (backup !== undefined) {
            // The service install reads the backup's sshd listener (the first forward's
            // target), checks loginUser and prints the host keys main's client config pins:
            // a separate read (up to 0.1.0) cost a login and a record of its own per backup.
            service = tunnelServiceCommands(
                `${name}`,
                {
                    connection: backup,
                    name: s.name,
                    mainHost: mainPublicHost,
                    mainPort: mainPublicPort,
                    tunnelUser: s.tunnelUser,
                    serviceUser: s.serviceUser,
                    forwards: forwardsOut,
                    mainHostKeys,
                    privateKey,
                    ...(args.compromised !== undefined ? { compromised: args.compromised } : {}),
                    ...ownership,
                },
                { ...formerlyUnder(TUNNEL_SERVICE_TYPE), ...(account !== undefined ? { dependsOn: [account.command] } : {}) },
                { loginUser: s.loginUser, ...(s.backupSshPort !== undefined ? { sshPort: s.backupSshPort } : {}) },
                // Main's finalizer (below) waits for the tunnel: the install does not wait 5 s itself.
                main !== undefined,
            );
            backupHostKeys = service.stdout.apply((out) => named(() => parseBackupHostKeys("backup host keys", out)));
        }
        // Main's client entry needs the backup's host keys: read from it, or given.
        const haveBackupKeys = backup !== undefined || args.backupHostKeys !== undefined;
        if (main !== undefined && !haveBackupKeys && args.installClientConfig !== false) {
            pulumi.log.warn(
                `backup ${JSON.stringify(s.name)}: main's \`ssh backup-${s.name}\` entry is not installed: this main half has no backupHostKeys to pin. Pass the backup half's \`backupHostKeys\` output (a StackReference), or set installClientConfig: false to say you do not want it`,
                this,
            );
        }
        const clientArgs = haveBackupKeys
            ? pulumi.all([backupHostKeys, s.loginUser, forwardsOut]).apply(([keys, loginUser, fw]) => ({
                  name: s.name,
                  port: fw[0]!.remotePort,
                  loginUser,
                  backupHostKeys: named(() => parseHostKeyList("backupHostKeys", keys.join("\n"))).map((k) => k.line),
              }))
            : undefined;
        // Rotation without downtime: main accepted the new key next to the old one
        // (account update); once the backup has switched, only the new key remains.
        // The main half alone has no backup to wait for: the previous key then
        // expires by itself ROTATION_OVERLAP_MINUTES after the rotation.
        const finalize = main !== undefined && account !== undefined && service !== undefined ? account.finalizeCommand : undefined;
        const client =
            main !== undefined && clientArgs !== undefined && args.installClientConfig !== false
                ? { create: clientArgs.apply((c) => renderClientConfigInstallScript({ ...c, ...ownership })), delete: renderClientConfigRemoveScript(s.name, owner) }
                : undefined;
        let last: pulumi.Resource | undefined;
        if (main !== undefined && (finalize !== undefined || client !== undefined)) {
            // Both run on main once the backup's service is in place, so one command does
            // both on one login, the finalizer first: a key that must go goes before
            // anything else can fail. Its name stays the client config's (an upgrade
            // updates that command; the old finalizer's delete only releases its mark).
            // The unit's run the service install printed: each start of the tunnel changes
            // this command, so main checks every new run (the install no longer waits itself).
            const run = service !== undefined && finalize !== undefined ? service.stdout.apply(parseTunnelRun) : pulumi.output("");
            const create =
                finalize !== undefined && client !== undefined
                    ? pulumi.all([finalize, client.create, run]).apply(([f, c, r]) => joinScripts(tunnelRunScript(r), f, c))
                    : finalize !== undefined
                      ? pulumi.all([finalize, run]).apply(([f, r]) => joinScripts(tunnelRunScript(r), f))
                      : client!.create;
            last = remoteScript(
                client !== undefined ? `${name}-client-config` : `${name}-key-finalize`,
                { connection: main, connectionKey: "main.connection", create, ...(client !== undefined ? { delete: client.delete } : {}), library: mainHostLibrary },
                { parent: this, dependsOn: [service ?? account!.command] },
            );
        }

        recordLastStep(this, last ?? service ?? account!.command);

        this.backupName = pulumi.output(s.name);
        this.port = forwardsOut.apply((fw) => fw[0]!.remotePort);
        this.ports = forwardsOut.apply((fw) => fw.map((f) => f.remotePort));
        this.tunnelUser = pulumi.output(s.tunnelUser);
        this.unitName = pulumi.output(servicePaths(s.name).unitName);
        this.keyFingerprint = keyFingerprint;
        this.publicKey = publicKey;
        this.privateKey = pulumi.secret(privateKey);
        this.mainHostKeys = mainHostKeys;
        this.backupHostKeys = backupHostKeys;
        this.sshConfig = clientArgs !== undefined ? clientArgs.apply(renderMainClientConfig) : pulumi.output("");
        const expiry = args.keyExpiry;
        this.keyExpiry = pulumi.output(expiry ?? "");
        this.rotationReminder = pulumi.output(
            expiry === undefined
                ? ""
                : `the tunnel key of backup ${s.name} stops working after ${expiry.slice(0, 4)}-${expiry.slice(4, 6)}-${expiry.slice(6)}: change keyRotation (and keyExpiry) and run pulumi up before then`,
        );
        this.handoff =
            handoffIn ??
            pulumi.secret(
                pulumi.all([mainPublicHost, mainPublicPort, privateKey, mainHostKeys, keyFingerprint]).apply(([host, hostPort, key, hostKeys, fingerprint]) =>
                    named(
                        (): TunnelHandoff => ({
                            version: HANDOFF_VERSION,
                            name: s.name,
                            port: s.port!,
                            ports: listenPorts,
                            tunnelUser: s.tunnelUser,
                            serviceUser: s.serviceUser,
                            mainPublicHost: validateHost("mainPublicHost", host),
                            mainPublicPort: validatePort("mainPublicPort", hostPort),
                            mainHostKeys: hostKeys,
                            privateKey: key,
                            keyFingerprint: fingerprint,
                        }),
                    ),
                ),
            );
        // The state records only what names the tunnel. The keys, host keys, client
        // block and handoff are properties (and, for a package consumer, the component's
        // outputs) but not registered: the state already holds each of them in the
        // resource that made it, a copy here would be stored again for every backup in a
        // checkpoint the engine rewrites after each step, and the handoff would be one more
        // copy of the private key.
        this.registerOutputs({
            backupName: this.backupName,
            port: this.port,
            ports: this.ports,
            tunnelUser: this.tunnelUser,
            unitName: this.unitName,
            keyFingerprint: this.keyFingerprint,
            keyExpiry: this.keyExpiry,
        });
    }
}
