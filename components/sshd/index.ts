import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { mainHostLibrary } from "../library/main";
import { ownerOf } from "../ownership";
import { renderSshdApplyScript, renderSshdRemoveScript, SshdPlacement } from "./render";

export * from "./policy";
export * from "./render";

/**
 * Inputs of SshdMatchBlock. All plain: they are the policy itself (account, ports,
 * placement), checked at preview and visible there as changes.
 */
export interface SshdMatchBlockArgs {
    /** How Pulumi reaches main. */
    readonly connection: HostConnection;
    /** The tunnel account on main. */
    readonly user: string;
    /** Ports on main's loopback that this account alone may listen on (`-R`). */
    readonly listenPorts: number[];
    /**
     * Where the block goes: `auto` (a drop-in when sshd reads sshd_config.d before
     * its first Match, else a managed block), `dropin` or `managed-block`.
     * @default "auto"
     */
    readonly placement?: SshdPlacement;
    /**
     * Label written into the block's header, e.g. the backup's name.
     * @default the user
     */
    readonly description?: string;
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

/** Type token of {@link SshdMatchBlock}. */
export const SSHD_MATCH_BLOCK_TYPE = "reverse-ssh-tunnel:index:SshdMatchBlock";

/**
 * The command that owns a `Match User` block (see {@link SshdMatchBlock}), made with
 * `opts` (its parent and aliases). ReverseTunnel makes it as its own child: a component
 * around one command costs the engine three checkpoint writes per tunnel and up.
 */
export function sshdMatchBlockCommand(name: string, args: SshdMatchBlockArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const { connection, owner, ...rest } = args;
    const render = { ...rest, owner: ownerOf(name, owner) };
    return remoteScript(
        `${name}-sshd`,
        {
            connection,
            connectionKey: "main.connection",
            create: renderSshdApplyScript(render),
            delete: renderSshdRemoveScript(render),
            triggers: [args.user],
            library: mainHostLibrary,
        },
        opts,
    );
}

/**
 * The `Match User` policy that confines a tunnel account to its own reverse
 * listeners. Written as a drop-in (or a managed block), validated with `sshd -t` and
 * `sshd -T -C user=...` before sshd is reloaded; restored on any failure.
 */
export class SshdMatchBlock extends pulumi.ComponentResource {
    /** The account the block confines. */
    readonly user: pulumi.Output<string>;
    /** The loopback ports on main the account may listen on. */
    readonly listenPorts: pulumi.Output<number[]>;
    /** The remote command that owns the block. */
    readonly command: command.remote.Command;

    constructor(name: string, args: SshdMatchBlockArgs, opts?: pulumi.ComponentResourceOptions) {
        super(SSHD_MATCH_BLOCK_TYPE, name, {}, opts);
        this.command = sshdMatchBlockCommand(name, args, { parent: this });
        this.user = pulumi.output(args.user);
        this.listenPorts = pulumi.output([...args.listenPorts]);
        this.registerOutputs({ user: this.user, listenPorts: this.listenPorts });
    }
}
