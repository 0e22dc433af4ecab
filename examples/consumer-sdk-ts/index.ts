// A TypeScript stack that uses the components through the generated SDK
// (`pulumi package gen-sdk <path to reverse-ssh-tunnel> --language nodejs --local`,
// installed as @pulumi/reverse-ssh-tunnel), the way any other language does: the
// components run in the package's own provider process, not in this program. (A
// TypeScript program would normally import the npm package directly: ../consumer-ts.)
// One tunnel, as in ../consumer-yaml, ../consumer-go and ../consumer-python.
import * as pulumi from "@pulumi/pulumi";
import * as rst from "@pulumi/reverse-ssh-tunnel";

const cfg = new pulumi.Config();

const nas = new rst.ReverseTunnel("nas", {
    name: "nas",
    main: {
        host: cfg.require("mainHost"),
        user: cfg.get("mainUser"),
        hostKey: cfg.require("mainHostKey"),
        privateKey: cfg.requireSecret("mainPrivateKey"),
    },
    mainPublicHost: cfg.require("mainPublicHost"),
    backup: {
        host: cfg.require("backupHost"),
        user: cfg.get("backupUser"),
        hostKey: cfg.require("backupHostKey"),
        privateKey: cfg.requireSecret("backupPrivateKey"),
    },
    port: cfg.requireNumber("port"),
    loginUser: cfg.get("loginUser"),
});

/** Main's loopback port of the backup's SSH. */
export const port: pulumi.Output<number> = nas.port;
/** The tunnel key's fingerprint. */
export const keyFingerprint = nas.keyFingerprint;
/** Main's `ssh backup-nas` config block. */
export const sshConfig = nas.sshConfig;
