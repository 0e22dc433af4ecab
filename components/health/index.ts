import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "../connection";
import { remoteScript } from "../connection/remoteScript";
import type { ReverseTunnel } from "../tunnel";
import { HEALTH_COMMAND_PATH, renderHealthInstallScript, renderHealthRemoveScript } from "./render";
import { MainMonitorArgs, MONITOR_COMMAND_PATH, MonitoredBackup, renderMonitorInstallScript, renderMonitorRemoveScript, resolveMonitorSettings } from "./monitor";
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
     * The tunnels into main that the health timer checks (the stack's; other stacks on
     * the same main list theirs). Give them as `dependsOn` too.
     * @default none: no health timer
     */
    readonly tunnels?: ReverseTunnel[];
    /**
     * Settings of the health timer (Prometheus textfile, alert command); `false` for
     * no timer even with `tunnels`.
     * @default every 30 s, textfile in /var/lib/prometheus/node-exporter, no alert command
     */
    readonly monitor?: MainMonitorArgs | false;
}

/**
 * Installs `reverse-ssh-tunnel-health` on main (one per main, shared by all its
 * tunnels, also those of other stacks): lists each backup, whether its listener is
 * up and whether ssh through it reaches the pinned host; non-zero exit when one is
 * down. With `tunnels`, also the health timer (`reverse-ssh-tunnel-monitor.timer`):
 * every 30 s it checks each tunnel end to end, writes node_exporter's textfile and
 * runs the alert command (see docs/observability.md). Give the tunnels as
 * `dependsOn`: the timer's list follows them (a removed backup leaves it before its
 * tunnel goes, so no alert), and the timer is removed with the last list on main.
 */
export class MainHealthCheck extends pulumi.ComponentResource {
    /** The command to run on main (e.g. from cron or a monitoring agent). */
    readonly command: pulumi.Output<string>;
    /** The fleet status on main (`… --status`, or `--json`); empty without the health timer. */
    readonly statusCommand: pulumi.Output<string>;
    /** The health timer's unit on main; empty without it. */
    readonly timer: pulumi.Output<string>;

    constructor(name: string, args: MainHealthCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("reverse-ssh-tunnel:index:MainHealthCheck", name, {}, opts);
        // The component's dependsOn, on the commands themselves: the order destroy follows.
        const after = { parent: this, ...(opts?.dependsOn !== undefined ? { dependsOn: opts.dependsOn } : {}) };
        remoteScript(
            `${name}-health`,
            { connection: args.connection, connectionKey: "main.connection", create: renderHealthInstallScript(), delete: renderHealthRemoveScript() },
            after,
        );
        const monitorArgs = args.monitor === false ? undefined : (args.monitor ?? {});
        const withTimer = args.tunnels !== undefined && monitorArgs !== undefined;
        if (withTimer) {
            const settings = resolveMonitorSettings(monitorArgs);
            // The owner of this list on main: the stack and this component, so that two
            // stacks (or two health checks of one) never overwrite each other's list.
            const owner = `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
            const backups = pulumi.all(args.tunnels!.map((t) => pulumi.all([t.backupName, t.port, t.tunnelUser, t.keyFingerprint, t.keyExpiry]))).apply((rows) =>
                rows.map(([n, port, user, fp, expiry]): MonitoredBackup => ({ name: n, port, tunnelUser: user, keyFingerprint: fp, keyExpiry: expiry })),
            );
            remoteScript(
                `${name}-monitor`,
                {
                    connection: args.connection,
                    connectionKey: "main.connection",
                    create: backups.apply((b) => renderMonitorInstallScript(settings, owner, b)),
                    delete: renderMonitorRemoveScript(settings, owner),
                },
                { ...after, dependsOn: [...toArray(opts?.dependsOn), ...args.tunnels!] },
            );
        }
        this.command = pulumi.output(HEALTH_COMMAND_PATH);
        this.statusCommand = pulumi.output(withTimer ? `${MONITOR_COMMAND_PATH} --status` : "");
        this.timer = pulumi.output(withTimer ? MONITOR_TIMER : "");
        this.registerOutputs({ command: this.command, statusCommand: this.statusCommand, timer: this.timer });
    }
}

function toArray(d: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined): pulumi.Input<pulumi.Resource>[] {
    if (d === undefined) return [];
    return Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];
}
