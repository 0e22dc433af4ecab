/**
 * One tunnel from its two halves, the way two stacks build it: the main half (what
 * the stack that owns main runs) generates the key and sets up main; the backup half
 * (what a stack at home runs) takes the main half's `privateKey` and `mainHostKeys`.
 * Across stacks these arrive through a StackReference and the main stack runs first;
 * in one program `dependsOn` gives the same order.
 */
import * as pulumi from "@pulumi/pulumi";
import { ReverseTunnel } from "reverse-ssh-tunnel";

const cfg = new pulumi.Config();
const port = cfg.requireNumber("port");

const mainHalf = new ReverseTunnel("nas-main", {
    name: "nas",
    main: {
        host: cfg.require("mainHost"),
        user: cfg.get("mainUser") ?? "root",
        hostKey: cfg.require("mainHostKey"),
        privateKey: cfg.requireSecret("mainPrivateKey"),
    },
    port,
    loginUser: cfg.get("loginUser") ?? "pi",
    // Known to the owner of main (e.g. the backup stack's `backupHostKeys` output):
    // lets main's `ssh backup-nas` entry be installed and pinned.
    backupHostKeys: [cfg.require("backupHostKey")],
});

const backupHalf = new ReverseTunnel(
    "nas-backup",
    {
        name: "nas",
        backup: {
            host: cfg.require("backupHost"),
            user: cfg.get("backupUser") ?? "root",
            hostKey: cfg.require("backupHostKey"),
            privateKey: cfg.requireSecret("backupPrivateKey"),
        },
        port,
        mainPublicHost: cfg.require("mainPublicHost"),
        privateKey: mainHalf.privateKey,
        mainHostKeys: mainHalf.mainHostKeys,
    },
    { dependsOn: [mainHalf] },
);

/** Main's `ssh backup-nas` config block. */
export const sshConfig = mainHalf.sshConfig;
/** The same key seen from both halves. */
export const keyFingerprints = [mainHalf.keyFingerprint, backupHalf.keyFingerprint];
