import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import { stackOwner } from "../ownership";
import { narrowDependsOn } from "../tunnel/lastStep";
import { HEALTH_COMMAND_PATH, renderHealthInstallScript, renderHealthRemoveScript } from "./render";
import { MainMonitorArgs, MONITOR_COMMAND_PATH, MonitoredBackupArgs, renderMonitorInstallScript, renderMonitorRemoveScript, resolveMonitorSettings } from "./monitor";
import { MONITOR_TIMER } from "./units";

export * from "./render";
export * from "./monitor";
export * from "./units";
export * from "./core";
export * from "./status";

/** Inputs of MainHealthCheck. */
export interface MainHealthCheckArgs {
    /** How Pulumi reaches main. */
    readonly connection: HostConnection;
    /**
     * The backups whose tunnels the health timer checks, from each tunnel's outputs
     * (`backupName`, `port`, `tunnelUser`, `keyFingerprint`, `keyExpiry`). Give the
     * tunnels as `dependsOn` too. Other stacks on the same main list theirs.
     * @default none: no health timer
     */
    readonly backups?: MonitoredBackupArgs[];
    /**
     * Settings of the health timer (Prometheus textfile, alert command).
     * @default every 30 s, textfile in /var/lib/prometheus/node-exporter, no alert command
     */
    readonly monitor?: MainMonitorArgs;
}

/**
 * Installs `reverse-ssh-tunnel-health` on main (one per main, shared by all its
 * tunnels, also those of other stacks): lists each backup, whether its listener is
 * up and whether ssh through it reaches the pinned host; non-zero exit when one is
 * down. With `backups`, also the health timer (`reverse-ssh-tunnel-monitor.timer`):
 * every 30 s it checks each tunnel end to end, writes node_exporter's textfile and
 * runs the alert command (docs/observability.md). Give the tunnels as `dependsOn`:
 * the timer's list follows them (a removed backup leaves the list before its tunnel
 * goes, so its removal raises no alert), and the timer goes with the last list on main.
 */
export class MainHealthCheck extends pulumi.ComponentResource {
    /** The command to run on main (e.g. from cron or a monitoring agent). */
    readonly command: pulumi.Output<string>;
    /** The fleet status on main (`… --status`, or `--json`); empty without the health timer. */
    readonly statusCommand: pulumi.Output<string>;
    /** The health timer's unit on main; empty without it. */
    readonly timer: pulumi.Output<string>;

    constructor(name: string, args: MainHealthCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        // A tunnel in dependsOn counts as its last step: the same order, one URN per tunnel.
        const dependsOn = narrowDependsOn(opts?.dependsOn);
        super("reverse-ssh-tunnel:index:MainHealthCheck", name, {}, { ...opts, ...(dependsOn !== undefined ? { dependsOn } : {}) });
        // The component's dependsOn, on the commands themselves: the order destroy follows.
        const after = { parent: this, ...(dependsOn !== undefined ? { dependsOn } : {}) };
        remoteScript(
            `${name}-health`,
            { connection: args.connection, connectionKey: "main.connection", create: renderHealthInstallScript(), delete: renderHealthRemoveScript(stackOwner()) },
            after,
        );
        const withTimer = args.backups !== undefined;
        if (withTimer) {
            const settings = resolveMonitorSettings(args.monitor);
            // The owner of this list on main: the stack and this component, so that two
            // stacks (or two health checks of one) never overwrite each other's list.
            const owner = `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
            const backups = pulumi.output(args.backups!).apply((list) =>
                list.map((b) => ({ name: b.name, port: b.port, tunnelUser: b.tunnelUser, keyFingerprint: b.keyFingerprint, ...(b.keyExpiry ? { keyExpiry: b.keyExpiry } : {}) })),
            );
            remoteScript(
                `${name}-monitor`,
                {
                    connection: args.connection,
                    connectionKey: "main.connection",
                    create: backups.apply((b) => renderMonitorInstallScript(settings, owner, b)),
                    delete: renderMonitorRemoveScript(settings, owner),
                },
                after,
            );
        }
        this.command = pulumi.output(HEALTH_COMMAND_PATH);
        this.statusCommand = pulumi.output(withTimer ? `${MONITOR_COMMAND_PATH} --status` : "");
        this.timer = pulumi.output(withTimer ? MONITOR_TIMER : "");
        this.registerOutputs({ command: this.command, statusCommand: this.statusCommand, timer: this.timer });
    }
}
