/**
 * The stack program: one ReverseTunnel per configured backup. All configuration is
 * validated (planStack) before any resource is registered, so bad input fails at
 * preview time without touching a host.
 */
import * as pulumi from "@pulumi/pulumi";
import { planStack } from "./components/config";
import { DEFAULT_TEXTFILE_DIRECTORY, MainHealthCheck, MONITOR_TEXTFILE_NAME } from "./components/health";
import { skipSdkPromiseTraces, trimSdkStackTraces } from "./components/program/sdkStackTraces";
import { readMainHostKeys, ReverseTunnel } from "./components/tunnel";

// Before any resource: the SDK's per-promise traces are half the program's CPU under
// ts-node, and each record's stored trace is mostly loader frames (components/program/sdkStackTraces.ts).
trimSdkStackTraces();
skipSdkPromiseTraces();

const config = new pulumi.Config("reverse-ssh-tunnel");
const plan = planStack(
    {
        main: config.requireObject("main"),
        backups: config.requireObject("backups"),
        ...(config.get("lab") !== undefined ? { lab: config.require("lab") } : {}),
        ...(config.getSecret("mainPrivateKey") !== undefined ? { mainPrivateKey: config.requireSecret("mainPrivateKey") } : {}),
        ...(config.getSecret("backupPrivateKey") !== undefined ? { backupPrivateKey: config.requireSecret("backupPrivateKey") } : {}),
    },
    __dirname,
);

// Main's host keys, read once for all the tunnels (each would otherwise read them itself).
const mainHostKeys = readMainHostKeys("main", plan.main);
const tunnels = plan.tunnels.map((args) => ({ args, tunnel: new ReverseTunnel(args.name, { ...args, mainHostKeys }) }));
// It depends on the tunnels, so the timer's list follows them; destroy therefore removes it
// first, and its delete keeps the health command only while other stacks' tunnels remain.
// The health timer checks this stack's tunnels (main.monitor: settings, or false for none).
const health = new MainHealthCheck(
    "main",
    {
        connection: plan.main,
        ...(plan.monitor === false
            ? {}
            : {
                  monitor: plan.monitor,
                  backups: tunnels.map(({ tunnel: t }) => ({ name: t.backupName, port: t.port, tunnelUser: t.tunnelUser, keyFingerprint: t.keyFingerprint, keyExpiry: t.keyExpiry })),
              }),
    },
    { dependsOn: tunnels.map((t) => t.tunnel) },
);

/** Run this on main (cron, monitoring): exit 0 when every backup's tunnel is up. */
export const healthCommand = health.command;

/**
 * The health timer on main: its unit, the fleet status command (`npm run status`
 * runs it over SSH), and where node_exporter finds the metrics.
 */
export const monitor = pulumi.all([health.timer, health.statusCommand]).apply(([timer, statusCommand]) =>
    timer === "" ? {} : { timer, statusCommand, textfile: `${plan.monitor === false ? "" : (plan.monitor.textfileDirectory ?? DEFAULT_TEXTFILE_DIRECTORY)}/${MONITOR_TEXTFILE_NAME}` },
);

/**
 * Per backup: its port on main, key fingerprint and unit. Its `ssh backup-NAME` block
 * is in `sshConfig` only: the state holds every output, and a copy here would be one
 * more kB per backup.
 */
export const backups = Object.fromEntries(
    tunnels.map(({ args, tunnel: t }) => [
        args.name,
        {
            port: t.port,
            ports: t.ports,
            keyFingerprint: t.keyFingerprint,
            unit: t.unitName,
            ...(args.keyExpiry !== undefined ? { keyExpiry: t.keyExpiry, rotationReminder: t.rotationReminder } : {}),
        },
    ]),
);

/**
 * Every backup's `Host backup-NAME` block, ready to paste into `~/.ssh/config` on main
 * (the stack already installs each one under /etc/ssh/ssh_config.d/):
 * `pulumi stack output sshConfig` prints it as plain text.
 */
export const sshConfig = pulumi.all(tunnels.map(({ tunnel: t }) => t.sshConfig)).apply((blocks) => blocks.map((b) => b.trimEnd()).join("\n\n") + "\n");

/**
 * One line per backup with what an operator needs after `pulumi up`: main's port, the
 * tunnel key's fingerprint, and the command to run on main.
 */
export const summary = pulumi
    .all(tunnels.map(({ tunnel: t }) => pulumi.all([t.backupName, t.port, t.keyFingerprint])))
    .apply((rows) => Object.fromEntries(rows.map(([name, port, fp]) => [name, `port ${port} on main's loopback, tunnel key ${fp}; on main run: ssh backup-${name}`])));
