"""A Python stack that uses the TypeScript components through Pulumi's multi-language
component support. Its SDK (sdks/reverse-ssh-tunnel, not committed) is what
`pulumi package gen-sdk <path to reverse-ssh-tunnel> --language python --local` (or
`pulumi package add`) generates. One tunnel, as in ../consumer-yaml and ../consumer-go."""
import pulumi
import pulumi_reverse_ssh_tunnel as rst

cfg = pulumi.Config()

nas = rst.ReverseTunnel(
    "nas",
    name="nas",
    main=rst.HostConnectionArgs(
        host=cfg.require("mainHost"),
        user=cfg.get("mainUser"),
        host_key=cfg.require("mainHostKey"),
        private_key=cfg.require_secret("mainPrivateKey"),
    ),
    main_public_host=cfg.require("mainPublicHost"),
    backup=rst.HostConnectionArgs(
        host=cfg.require("backupHost"),
        user=cfg.get("backupUser"),
        host_key=cfg.require("backupHostKey"),
        private_key=cfg.require_secret("backupPrivateKey"),
    ),
    port=cfg.require_int("port"),
    login_user=cfg.get("loginUser"),
)

# Main's loopback port of the backup's SSH, the key's fingerprint and main's
# `ssh backup-nas` config block.
pulumi.export("port", nas.port)
pulumi.export("keyFingerprint", nas.key_fingerprint)
pulumi.export("sshConfig", nas.ssh_config)
