import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { renderSshdApplyScript, renderSshdRemoveScript, SshdMatchBlockRenderArgs } from "./render";

export * from "./policy";
export * from "./render";

/** Inputs of {@link SshdMatchBlock}. */
export interface SshdMatchBlockArgs extends SshdMatchBlockRenderArgs {
    /** How Pulumi reaches main. */
    readonly connection: HostConnection;
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
        super("reverse-ssh-tunnel:index:SshdMatchBlock", name, {}, opts);
        const { connection, ...render } = args;
        this.command = remoteScript(
            `${name}-sshd`,
            {
                connection,
                connectionKey: "main.connection",
                create: renderSshdApplyScript(render),
                delete: renderSshdRemoveScript(render),
                triggers: [args.user],
            },
            { parent: this },
        );
        this.user = pulumi.output(args.user);
        this.listenPorts = pulumi.output([...args.listenPorts]);
        this.registerOutputs({ user: this.user, listenPorts: this.listenPorts });
    }
}
