/**
 * One tunnel from its two halves in two stacks of this project, the way a team splits
 * it: the stack that owns main (`role: main`) runs the main half, which generates the
 * key, sets up main and exports one `handoff` value; the stack at home
 * (`role: home`) reads that value through a StackReference and runs the backup half,
 * repeating nothing. The main stack runs first. A setting the home stack still gives
 * (here `port`, when set) must agree with the handoff, or its preview fails naming it.
 */
import * as pulumi from "@pulumi/pulumi";
import { ReverseTunnel, TunnelHandoff } from "reverse-ssh-tunnel";

const cfg = new pulumi.Config();
const role = cfg.require("role");

function mainHalf() {
    const nas = new ReverseTunnel("nas", {
        main: {
            host: cfg.require("mainHost"),
            user: cfg.get("mainUser") ?? "root",
            hostKey: cfg.require("mainHostKey"),
            privateKey: cfg.requireSecret("mainPrivateKey"),
        },
        // The backups dial this address; it travels in the handoff.
        mainPublicHost: cfg.get("mainPublicHost") ?? cfg.require("mainHost"),
        port: cfg.requireNumber("port"),
        loginUser: cfg.get("loginUser") ?? "pi",
        // Known to the owner of main (e.g. the home stack's `backupHostKeys` output):
        // lets main's `ssh backup-nas` entry be installed and pinned.
        backupHostKeys: [cfg.require("backupHostKey")],
    });
    return { handoff: nas.handoff, sshConfig: nas.sshConfig, keyFingerprint: nas.keyFingerprint };
}

function homeHalf() {
    const mainStack = new pulumi.StackReference(cfg.require("mainStack"));
    const port = cfg.getNumber("port");
    const nas = new ReverseTunnel("nas", {
        backup: {
            host: cfg.require("backupHost"),
            user: cfg.get("backupUser") ?? "root",
            hostKey: cfg.require("backupHostKey"),
            privateKey: cfg.requireSecret("backupPrivateKey"),
        },
        handoff: mainStack.requireOutput("handoff") as pulumi.Output<TunnelHandoff>,
        ...(port !== undefined ? { port } : {}),
    });
    return { backupHostKeys: nas.backupHostKeys, keyFingerprint: nas.keyFingerprint, port: nas.port };
}

const out = role === "main" ? mainHalf() : role === "home" ? homeHalf() : (() => { throw new Error(`role: "main" or "home", not ${JSON.stringify(role)}`); })();

/** Main stack: everything the home stack needs, in one secret value. */
export const handoff = "handoff" in out ? out.handoff : undefined;
/** Main stack: main's `ssh backup-nas` config block. */
export const sshConfig = "sshConfig" in out ? out.sshConfig : undefined;
/** Home stack: the backup's host keys, for the main stack's `backupHostKeys`. */
export const backupHostKeys = "backupHostKeys" in out ? out.backupHostKeys : undefined;
/** Home stack: main's loopback port for the backup, as the handoff gave it. */
export const port = "port" in out ? out.port : undefined;
/** Both: the tunnel key's fingerprint, the same on both sides. */
export const keyFingerprint = out.keyFingerprint;
