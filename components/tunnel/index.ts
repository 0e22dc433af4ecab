import * as pulumi from "@pulumi/pulumi";
import { renderKeyOptions, TunnelAccount } from "../account";
import { HostConnection, validateConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { TunnelKeyPair, TunnelKeyAlgorithm } from "../keypair";
import { defaultServiceUser, ForwardSpec, PLACEHOLDER_KEY, renderSshClientConfig, TunnelService } from "../service";
import { SshdMatchBlock, SshdPlacement } from "../sshd";
import { ConfigError, assertUnique, parseHostKeyList, validateHost, validatePort, validateTunnelName, validateUserName } from "../validation";
import {
    renderClientConfigInstallScript,
    renderClientConfigRemoveScript,
    renderMainClientConfig,
    renderReadHostKeysScript,
} from "./render";

export * from "./render";

/** Inputs of {@link ReverseTunnel}. */
export interface ReverseTunnelArgs {
    /** Backup name (1-24 of a-z, 0-9, '-'); used in account, unit and host-alias names. */
    readonly name: string;
    /** How Pulumi reaches main. */
    readonly main: HostConnection;
    /** Main's address as the backup dials it. Default: `main.host`. */
    readonly mainPublicHost?: string;
    /** Main's SSH port as the backup dials it. Default: `main.port` or 22. */
    readonly mainPublicPort?: number;
    /** How Pulumi reaches the backup (directly at home, or through main via `proxy`). */
    readonly backup: HostConnection;
    /** Main's loopback port that reaches the backup's SSH. Required (1024-65535). */
    readonly port: number;
    /** Further forwards (e.g. a web UI), each pinned to its own port. Default none. */
    readonly extraForwards?: readonly ForwardSpec[];
    /** Tunnel account on main. Default `tunnel-<name>`. */
    readonly tunnelUser?: string;
    /** Account on the backup that `ssh backup-<name>` logs into. Default `pi`. */
    readonly loginUser?: string;
    /** Service account on the backup. Default `rst-<name>`. */
    readonly serviceUser?: string;
    /** Tunnel key algorithm. Default `ED25519`. */
    readonly keyAlgorithm?: TunnelKeyAlgorithm;
    /** Change to rotate the tunnel key. Default none. */
    readonly keyRotation?: string;
    /** Last day (`YYYYMMDD`) main accepts the key. Default: no expiry. */
    readonly keyExpiry?: string;
    /** sshd `from=` patterns the key is accepted from. Default: anywhere. */
    readonly allowedSources?: readonly string[];
    /** Where main's Match block goes. Default `auto`. */
    readonly sshdPlacement?: SshdPlacement;
    /** Install main's `ssh backup-<name>` client config under /etc/ssh/ssh_config.d. Default true. */
    readonly installClientConfig?: boolean;
    /**
     * The backup is compromised or unreachable: backup-side resources are retained on
     * delete so destroy needs main only. Default false.
     */
    readonly compromised?: boolean;
}

/** Checks plain settings and returns the defaults filled in (throws {@link ConfigError}). */
export function resolveTunnelSettings(args: ReverseTunnelArgs) {
    validateConnection("main.connection", args.main);
    validateConnection("backup.connection", args.backup);
    const name = validateTunnelName("name", args.name);
    const port = validatePort("port", args.port, 1024);
    const forwards: ForwardSpec[] = [{ remotePort: port, localPort: 22, localHost: "localhost" }, ...(args.extraForwards ?? [])];
    forwards.forEach((f, i) => validatePort(`forwards[${i}].remotePort`, f.remotePort, 1024));
    assertUnique("forwards", "remote port", forwards.map((f) => f.remotePort));
    const mainPublicHost = validateHost("mainPublicHost", args.mainPublicHost ?? args.main.host);
    const mainPublicPort = validatePort("mainPublicPort", args.mainPublicPort ?? args.main.port ?? 22);
    const tunnelUser = validateUserName("tunnelUser", args.tunnelUser ?? `tunnel-${name}`);
    const serviceUser = validateUserName("serviceUser", args.serviceUser ?? defaultServiceUser(name));
    const loginUser = validateUserName("loginUser", args.loginUser ?? "pi");
    if (args.keyRotation !== undefined && typeof args.keyRotation !== "string") {
        throw new ConfigError("keyRotation", "must be a string");
    }
    if (args.keyAlgorithm !== undefined && args.keyAlgorithm !== "ED25519" && args.keyAlgorithm !== "RSA") {
        throw new ConfigError("keyAlgorithm", `${JSON.stringify(args.keyAlgorithm)} is not supported; use "ED25519" or "RSA"`);
    }
    const listenPorts = forwards.map((f) => f.remotePort);
    // Render once with a placeholder key: every remaining check runs now, not mid-apply.
    renderKeyOptions({
        user: tunnelUser,
        listenPorts,
        publicKey: "",
        ...(args.keyExpiry !== undefined ? { expiry: args.keyExpiry } : {}),
        ...(args.allowedSources !== undefined ? { allowedSources: args.allowedSources } : {}),
    });
    renderSshClientConfig({ name, mainHost: mainPublicHost, mainPort: mainPublicPort, tunnelUser, serviceUser, forwards, mainHostKeys: [PLACEHOLDER_KEY] });
    return { name, port, forwards, listenPorts, mainPublicHost, mainPublicPort, tunnelUser, serviceUser, loginUser };
}

/**
 * One backup's complete reverse tunnel: keypair, tunnel account and sshd policy on
 * main, the service on the backup, and main's client entry for `ssh backup-<name>`.
 *
 * Order on create: account, then policy (the key file is only consulted once the
 * policy points sshd at it), then the backup. On delete the reverse: the backup
 * (unless compromised), the policy, then the account, whose removal kills the live
 * tunnel.
 */
export class ReverseTunnel extends pulumi.ComponentResource {
    /** Main's loopback port of the backup's SSH. */
    readonly port: number;
    /** All forwarded ports on main. */
    readonly ports: number[];
    /** SHA256 fingerprint of the tunnel key. */
    readonly keyFingerprint: pulumi.Output<string>;
    /** The tunnel key's public half. */
    readonly publicKey: pulumi.Output<string>;
    /** Ready-to-paste `~/.ssh/config` block for main (`ssh backup-<name>`). */
    readonly sshConfig: pulumi.Output<string>;
    /** The backup's name. */
    readonly backupName: string;
    /** The tunnel account on main. */
    readonly tunnelUser: string;
    /** The unit on the backup. */
    readonly unitName: string;
    /** Last day main accepts the key (`YYYYMMDD`), when an expiry is set. */
    readonly keyExpiry?: string;
    /** A reminder to rotate before the expiry, when one is set. */
    readonly rotationReminder?: string;

    constructor(name: string, args: ReverseTunnelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("reverse-ssh-tunnel:index:ReverseTunnel", name, {}, opts);
        const s = resolveTunnelSettings(args);
        const listenPorts = s.listenPorts;
        const retain = args.compromised === true ? { retainOnDelete: true } : {};

        const keys = new TunnelKeyPair(
            `${name}`,
            { ...(args.keyAlgorithm !== undefined ? { algorithm: args.keyAlgorithm } : {}), ...(args.keyRotation !== undefined ? { rotation: args.keyRotation } : {}) },
            { parent: this },
        );
        const mainHostKeys = remoteScript(
            `${name}-main-hostkeys`,
            { connection: args.main, connectionKey: "main.connection", create: renderReadHostKeysScript() },
            { parent: this },
        );
        const account = new TunnelAccount(
            `${name}`,
            {
                connection: args.main,
                user: s.tunnelUser,
                listenPorts,
                publicKey: keys.publicKey,
                description: `backup ${s.name}`,
                overlapKeysOnUpdate: true,
                ...(args.keyExpiry !== undefined ? { expiry: args.keyExpiry } : {}),
                ...(args.allowedSources !== undefined ? { allowedSources: args.allowedSources } : {}),
            },
            { parent: this },
        );
        const policy = new SshdMatchBlock(
            `${name}`,
            {
                connection: args.main,
                user: s.tunnelUser,
                listenPorts,
                description: `backup ${s.name}`,
                ...(args.sshdPlacement !== undefined ? { placement: args.sshdPlacement } : {}),
            },
            { parent: this, dependsOn: [account] },
        );
        const service = new TunnelService(
            `${name}`,
            {
                connection: args.backup,
                name: s.name,
                mainHost: s.mainPublicHost,
                mainPort: s.mainPublicPort,
                tunnelUser: s.tunnelUser,
                serviceUser: s.serviceUser,
                forwards: s.forwards,
                mainHostKeys: mainHostKeys.stdout.apply((out) => parseHostKeyList("main host keys", out).map((k) => k.line)),
                privateKey: keys.privateKey,
                ...(args.compromised !== undefined ? { compromised: args.compromised } : {}),
            },
            { parent: this, dependsOn: [policy] },
        );
        // Rotation without downtime: main accepted the new key next to the old one
        // (account update); once the backup has switched, only the new key remains.
        remoteScript(
            `${name}-key-finalize`,
            { connection: args.main, connectionKey: "main.connection", create: account.finalizeCommand },
            { parent: this, dependsOn: [service] },
        );
        const backupHostKeys = remoteScript(
            `${name}-backup-hostkeys`,
            { connection: args.backup, connectionKey: "backup.connection", create: renderReadHostKeysScript() },
            { parent: this, ...retain },
        );
        const clientArgs = backupHostKeys.stdout.apply((out) => ({
            name: s.name,
            port: s.port,
            loginUser: s.loginUser,
            backupHostKeys: parseHostKeyList("backup host keys", out).map((k) => k.line),
        }));
        if (args.installClientConfig !== false) {
            remoteScript(
                `${name}-client-config`,
                {
                    connection: args.main,
                    connectionKey: "main.connection",
                    create: clientArgs.apply(renderClientConfigInstallScript),
                    delete: renderClientConfigRemoveScript(s.name),
                },
                { parent: this, dependsOn: [service] },
            );
        }

        this.port = s.port;
        this.ports = listenPorts;
        this.keyFingerprint = keys.fingerprint;
        this.publicKey = keys.publicKey;
        this.sshConfig = clientArgs.apply(renderMainClientConfig);
        this.backupName = s.name;
        this.tunnelUser = s.tunnelUser;
        this.unitName = service.unitName;
        if (args.keyExpiry !== undefined) {
            this.keyExpiry = args.keyExpiry;
            this.rotationReminder = `the tunnel key of backup ${s.name} stops working after ${args.keyExpiry.slice(0, 4)}-${args.keyExpiry.slice(4, 6)}-${args.keyExpiry.slice(6)}: change keyRotation (and keyExpiry) and run pulumi up before then`;
        }
        this.registerOutputs({
            port: this.port,
            keyFingerprint: this.keyFingerprint,
            sshConfig: this.sshConfig,
            tunnelUser: this.tunnelUser,
        });
    }
}
