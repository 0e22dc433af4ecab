import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { mainHostLibrary } from "../library/main";
import { ownerOf } from "../ownership";
import { renderAccountApplyScript, renderAccountFinalizeScript, renderAccountRevokeScript, renderKeyOptions } from "./render";

export * from "./render";

/**
 * Inputs of TunnelAccount.
 *
 * `user`, `listenPorts`, `expiry` and `allowedSources` stay plain: they are the
 * account and what its key may do, checked at preview and visible there as changes.
 */
export interface TunnelAccountArgs {
    /** How Pulumi reaches main. */
    readonly connection: HostConnection;
    /** Account name on main. */
    readonly user: string;
    /** Loopback ports on main this key may listen on. */
    readonly listenPorts: number[];
    /** The backup's public key (OpenSSH line). */
    readonly publicKey: pulumi.Input<string>;
    /**
     * Keys kept authorized next to it, with the same restrictions.
     * @default none
     */
    readonly additionalPublicKeys?: pulumi.Input<string[]>;
    /**
     * Last day the key is accepted, `YYYYMMDD` in main's time zone: sshd refuses it
     * from midnight at the end of that day.
     * @default no expiry
     */
    readonly expiry?: string;
    /**
     * Source addresses the key is accepted from (sshd `from=` patterns); a backup
     * behind a consumer NAT rarely has a fixed address.
     * @default any
     */
    readonly allowedSources?: string[];
    /**
     * Free-text label for the GECOS field, e.g. the backup's name.
     * @default none
     */
    readonly description?: string;
    /**
     * On an update, keep the previous key next to the new one (with the new options
     * and an expiry ROTATION_OVERLAP_MINUTES ahead), so a backup that has not switched
     * yet keeps working; the owner then runs the `finalizeCommand` output once the
     * backup has switched. Never set it for a compromised backup.
     * @default false
     */
    readonly overlapKeysOnUpdate?: boolean;
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

/** Type token of {@link TunnelAccount}. */
export const TUNNEL_ACCOUNT_TYPE = "reverse-ssh-tunnel:index:TunnelAccount";

/** What {@link tunnelAccountCommand} makes: the command and the finalizer's script. */
export interface TunnelAccountParts {
    /** The remote command that owns the account. */
    readonly command: command.remote.Command;
    /** The script that leaves exactly the current key(s) authorized (see TunnelAccount). */
    readonly finalizeCommand: pulumi.Output<string>;
}

/**
 * The command that owns a tunnel account (see {@link TunnelAccount}), made with `opts`
 * (its parent and aliases), and the finalizer's script. ReverseTunnel makes it as its
 * own child: a component around one command costs the engine three checkpoint writes
 * per tunnel and up.
 */
export function tunnelAccountCommand(name: string, args: TunnelAccountArgs, opts: pulumi.CustomResourceOptions): TunnelAccountParts {
    const plain = {
        user: args.user,
        listenPorts: args.listenPorts,
        ...(args.expiry !== undefined ? { expiry: args.expiry } : {}),
        ...(args.allowedSources !== undefined ? { allowedSources: args.allowedSources } : {}),
        ...(args.description !== undefined ? { description: args.description } : {}),
        owner: ownerOf(name, args.owner),
        ...(args.adopt === true ? { adopt: true } : {}),
    };
    // Fail at construction (preview) on bad plain input, before any host is touched.
    const revoke = renderAccountRevokeScript(plain);
    renderKeyOptions({ ...plain, publicKey: "" });
    const keys = pulumi.all([args.publicKey, args.additionalPublicKeys ?? []]);
    const render = (keepPreviousKey: boolean) =>
        keys.apply(([publicKey, additionalPublicKeys]) => renderAccountApplyScript({ ...plain, publicKey, additionalPublicKeys, keepPreviousKey }));
    const cmd = remoteScript(
        `${name}-account`,
        {
            connection: args.connection,
            connectionKey: "main.connection",
            create: render(false),
            // On update (e.g. a new key) the old key stays until finalizeKeys runs.
            update: render(args.overlapKeysOnUpdate === true),
            delete: revoke,
            triggers: [args.user],
            library: mainHostLibrary,
        },
        opts,
    );
    return { command: cmd, finalizeCommand: keys.apply(([publicKey, additionalPublicKeys]) => renderAccountFinalizeScript({ ...plain, publicKey, additionalPublicKeys })) };
}

/**
 * The tunnel-only account on main and its root-owned, restricted authorized key.
 * Deleting it is the revocation: key gone, account expired, live sessions killed
 * (the tunnel drops and its listener closes), account removed.
 */
export class TunnelAccount extends pulumi.ComponentResource {
    /** The account name. */
    readonly user: pulumi.Output<string>;
    /** The remote command that owns the account (dependents wait on it). */
    readonly command: command.remote.Command;
    /**
     * The script that leaves exactly the current key(s) authorized and ends live
     * sessions of any other key (ends a rotation's overlap).
     */
    readonly finalizeCommand: pulumi.Output<string>;

    constructor(name: string, args: TunnelAccountArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TUNNEL_ACCOUNT_TYPE, name, {}, opts);
        this.user = pulumi.output(args.user);
        ({ command: this.command, finalizeCommand: this.finalizeCommand } = tunnelAccountCommand(name, args, { parent: this }));
        // finalizeCommand stays a property only: as a registered output the state would
        // hold a copy of the script (~11 kB) for every backup.
        this.registerOutputs({ user: this.user });
    }
}
