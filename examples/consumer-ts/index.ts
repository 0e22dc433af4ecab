/**
 * A consumer's own stack: main arrives as Outputs (here from config; in a real stack
 * from the resource that creates main, e.g. a VM's address and host key), and one
 * backup is tunnelled into it. The package is installed from its npm tarball.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, ReverseTunnel } from "reverse-ssh-tunnel";

const cfg = new pulumi.Config();

const main: HostConnection = {
    host: pulumi.output(cfg.require("mainHost")),
    user: cfg.get("mainUser") ?? "root",
    hostKey: pulumi.output(cfg.require("mainHostKey")),
    privateKey: cfg.requireSecret("mainPrivateKey"),
};

const nas = new ReverseTunnel("nas", {
    name: "nas",
    main,
    // Default: main.host (an Output here). The lab needs main's public address instead.
    mainPublicHost: cfg.get("mainPublicHost"),
    backup: {
        host: cfg.require("backupHost"),
        user: cfg.get("backupUser") ?? "root",
        hostKey: cfg.require("backupHostKey"),
        privateKey: cfg.requireSecret("backupPrivateKey"),
    },
    port: cfg.requireNumber("port"),
    loginUser: cfg.get("loginUser") ?? "pi",
});

/** Main's loopback port of the backup's SSH. */
export const port = nas.port;
/** The tunnel key's fingerprint. */
export const keyFingerprint = nas.keyFingerprint;
/** Main's `ssh backup-nas` config block. */
export const sshConfig = nas.sshConfig;
