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
 * tunnels): lists each backup, whether its listener is up and whether ssh through it
 * reaches the pinned host; non-zero exit when one is down.
 */
export class MainHealthCheck extends pulumi.ComponentResource {
    /** The command to run on main (e.g. from cron or a monitoring agent). */
    readonly command: pulumi.Output<string>;

    constructor(name: string, args: MainHealthCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("reverse-ssh-tunnel:index:MainHealthCheck", name, {}, opts);
        remoteScript(
            `${name}-health`,
            { connection: args.connection, connectionKey: "main.connection", create: renderHealthInstallScript(), delete: renderHealthRemoveScript() },
            { parent: this },
        );
        this.command = pulumi.output(HEALTH_COMMAND_PATH);
        this.registerOutputs({ command: this.command });
    }
}
