import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { backupHostLibrary } from "../library/backup";
import { ownerOf } from "../ownership";
import { validateHost, validatePort } from "../validation";
import {
    ForwardSpec,
    PLACEHOLDER_KEY,
    renderKeyInstallScript,
    renderServiceInstallScript,
    renderServiceRemoveScript,
    renderSshClientConfig,
    servicePaths,
} from "./render";

export * from "./render";

/** Default tunnel account on main for tunnel `name`: `tunnel-<name>`. */
export function defaultTunnelUser(name: string): string {
    return `tunnel-${name}`;
}

/**
 * Inputs of TunnelService.
 *
 * `name`, `tunnelUser` and `serviceUser` stay plain: they name the unit, its files
 * and accounts, i.e. the identity of what is installed; they must be known at
 * preview so a change is a planned replacement.
 */
export interface TunnelServiceArgs {
    /** How Pulumi reaches the backup. */
    readonly connection: HostConnection;
    /** Tunnel name (1-24 of a-z, 0-9, '-'): unit `reverse-ssh-tunnel-<name>.service`, files under `/etc/reverse-ssh-tunnel/<name>/`. */
    readonly name: string;
    /** Main's address as the backup dials it (public name or IP). */
    readonly mainHost: pulumi.Input<string>;
    /**
     * Main's SSH port as the backup dials it.
     * @default 22
     */
    readonly mainPort?: pulumi.Input<number>;
    /**
     * Tunnel account on main.
     * @default "tunnel-<name>"
     */
    readonly tunnelUser?: string;
    /**
     * Reverse forwards; the first is the SSH port main uses to reach the backup. May
     * come from another resource (e.g. the backup's sshd port read at apply); a
     * plain list is checked at construction, an Output before the first command.
     */
    readonly forwards: pulumi.Input<ForwardSpec[]>;
    /**
     * Local account the service runs as.
     * @default "rst-<name>"
     */
    readonly serviceUser?: string;
    /** Main's host keys (OpenSSH lines), e.g. read from main over the pinned provisioning connection. */
    readonly mainHostKeys: pulumi.Input<string[]>;
    /** The tunnel's private key (secret); delivered on stdin only. */
    readonly privateKey: pulumi.Input<string>;
    /**
     * The backup is considered compromised or gone: its resources are kept out of
     * delete (retainOnDelete), so destroy completes with main-side revocation alone.
     * Set it, run `pulumi up`, then destroy.
     * @default false
     */
    readonly compromised?: boolean;
    /**
     * Who owns what this component writes on the host: every entry carries it, and an
     * apply refuses an entry another owner holds (before any change), a destroy leaves it.
     * @default "<org>/<project>/<stack>/<name>": the running stack and this component's resource name
     */
    readonly owner?: string;
    /**
     * Take over the entries of the same name that another stack (or component) owns on
     * the host: they are re-marked as ours, and the other owner's destroy then leaves
     * them alone. Without it such an entry refuses the apply before any change, naming
     * its owner.
     * @default false
     */
    readonly adopt?: boolean;
}

/** Type token of {@link TunnelService}. */
export const TUNNEL_SERVICE_TYPE = "reverse-ssh-tunnel:index:TunnelService";

/**
 * The commands of a {@link TunnelService}, made with `opts` (their parent and aliases):
 * the key's, then the service's, which it returns (waiting for it waits for both).
 * ReverseTunnel makes them as its own children: a component around them costs the
 * engine three checkpoint writes per tunnel and up.
 *
 * @param backupFacts - what the service install reads on the backup itself (see
 *   `TunnelServiceRenderArgs.backupFacts`; the host keys are then in its stdout). Default: none.
 */
export function tunnelServiceCommands(
    name: string,
    args: TunnelServiceArgs,
    opts: pulumi.CustomResourceOptions,
    backupFacts?: { readonly loginUser: pulumi.Input<string>; readonly sshPort?: number },
    awaitedByMain = false,
): command.remote.Command {
    const { connection, privateKey, mainHostKeys, compromised, mainHost, mainPort, forwards, owner, ...rest } = args;
    const plain = { ...rest, tunnelUser: rest.tunnelUser ?? defaultTunnelUser(rest.name), owner: ownerOf(name, owner) };
    const retain = compromised === true ? { retainOnDelete: true } : {};
    // Validate now (preview) with stand-ins for values still to come; those are
    // checked by the renderer when they resolve, before the install runs.
    const known = <T>(v: pulumi.Input<T> | undefined, standIn: T): T | undefined =>
        pulumi.Output.isInstance(v) || v instanceof Promise ? standIn : (v as T | undefined);
    const knownPort = known(mainPort, 22);
    renderSshClientConfig({
        ...plain,
        mainHost: known(mainHost, "pending.invalid")!,
        ...(knownPort !== undefined ? { mainPort: knownPort } : {}),
        forwards: known(forwards, [{ remotePort: 1024 }])!,
        mainHostKeys: [PLACEHOLDER_KEY],
    });
    // Through main and this very tunnel: restarts and the removal are scheduled, not awaited.
    const viaTunnel = connection.proxy !== undefined;
    const remove = renderServiceRemoveScript({ ...plain, viaTunnel });
    const key = remoteScript(
        `${name}-tunnel-key`,
        {
            connection,
            connectionKey: "backup.connection",
            create: renderKeyInstallScript({ ...plain, viaTunnel }),
            // Through the tunnel the service's scheduled removal takes the key too; a
            // second delete could find the tunnel already gone.
            ...(viaTunnel ? {} : { delete: remove }),
            stdin: privateKey,
            sensitive: true,
            triggers: [plain.name],
            library: backupHostLibrary,
            unreachableOnDelete: viaTunnel,
        },
        { ...opts, ...retain },
    );
    return remoteScript(
        `${name}-service`,
        {
            connection,
            connectionKey: "backup.connection",
            create: pulumi.all([mainHostKeys, mainHost, mainPort, forwards, backupFacts?.loginUser]).apply(([keys, host, port, fwd, loginUser]) =>
                renderServiceInstallScript({
                    ...plain,
                    viaTunnel,
                    mainHost: validateHost("mainHost", host),
                    ...(port !== undefined ? { mainPort: validatePort("mainPort", port) } : {}),
                    forwards: fwd as ForwardSpec[],
                    mainHostKeys: keys,
                    ...(backupFacts !== undefined ? { backupFacts: { loginUser: loginUser!, ...(backupFacts.sshPort !== undefined ? { sshPort: backupFacts.sshPort } : {}) } } : {}),
                    ...(awaitedByMain ? { awaitedByMain } : {}),
                }),
            ),
            delete: remove,
            triggers: [plain.name],
            library: backupHostLibrary,
            // Through the tunnel, the last delete that reaches the backup: it releases the
            // library mark of the key too. The host-key read a ReverseTunnel made up to 0.1.0
            // had no delete there: its mark goes when this command next runs.
            ...(viaTunnel ? { releasesMarksOf: [`${name}-tunnel-key`], retiresMarksOf: [`${name}-backup-hostkeys`] } : {}),
        },
        // The key waits for whatever the caller's dependsOn names, so the service waits for it through the key.
        { ...opts, dependsOn: [key], ...retain },
    );
}

/**
 * The backup side: a sandboxed systemd service that keeps `ssh -N -R` to main up
 * forever, with its key in a root-only file and main's host key pinned.
 */
export class TunnelService extends pulumi.ComponentResource {
    /** systemd unit name on the backup. */
    readonly unitName: string;
    /** The tunnel account on main the service logs into. */
    readonly tunnelUser: pulumi.Output<string>;
    /** The command that installs and starts the unit. */
    readonly command: command.remote.Command;

    constructor(name: string, args: TunnelServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TUNNEL_SERVICE_TYPE, name, {}, opts);
        this.command = tunnelServiceCommands(name, args, { parent: this });
        this.unitName = servicePaths(args.name).unitName;
        this.tunnelUser = pulumi.output(args.tunnelUser ?? defaultTunnelUser(args.name));
        this.registerOutputs({ unitName: this.unitName, tunnelUser: this.tunnelUser });
    }
}
