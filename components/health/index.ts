import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { HEALTH_COMMAND_PATH, renderHealthInstallScript, renderHealthRemoveScript } from "./render";

export * from "./render";

/** Inputs of MainHealthCheck. */
export interface MainHealthCheckArgs {
    /** How Pulumi reaches main. */
    readonly connection: HostConnection;
}

/**
 * Installs `reverse-ssh-tunnel-health` on main (one per main, shared by all its
 * tunnels, also those of other stacks): lists each backup, whether its listener is
 * up and whether ssh through it reaches the pinned host; non-zero exit when one is
 * down. Give the tunnels as `dependsOn`: destroy then removes the command after
 * them, and only when no tunnel into main is left.
 */
export class MainHealthCheck extends pulumi.ComponentResource {
    /** The command to run on main (e.g. from cron or a monitoring agent). */
    readonly command: pulumi.Output<string>;

    constructor(name: string, args: MainHealthCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("reverse-ssh-tunnel:index:MainHealthCheck", name, {}, opts);
        remoteScript(
            `${name}-health`,
            { connection: args.connection, connectionKey: "main.connection", create: renderHealthInstallScript(), delete: renderHealthRemoveScript() },
            // The component's dependsOn, on the command itself: the order destroy follows.
            { parent: this, ...(opts?.dependsOn !== undefined ? { dependsOn: opts.dependsOn } : {}) },
        );
        this.command = pulumi.output(HEALTH_COMMAND_PATH);
        this.registerOutputs({ command: this.command });
    }
}
