// A Go stack that uses the TypeScript components through Pulumi's multi-language
// component support. Its SDK (sdks/reverse-ssh-tunnel, not committed) is what
// `pulumi package add <path to reverse-ssh-tunnel>` generates for a Go project; the
// replace in go.mod is what `package add` links. One tunnel, as in ../consumer-yaml.
package main

import (
	"example.com/pulumi-reverse-ssh-tunnel/sdk/go/reversesshtunnel"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		nas, err := reversesshtunnel.NewReverseTunnel(ctx, "nas", &reversesshtunnel.ReverseTunnelArgs{
			Name: pulumi.StringRef("nas"),
			Main: &reversesshtunnel.HostConnectionArgs{
				Host:       pulumi.String(cfg.Require("mainHost")),
				User:       pulumi.String(cfg.Get("mainUser")),
				HostKey:    pulumi.String(cfg.Require("mainHostKey")),
				PrivateKey: cfg.RequireSecret("mainPrivateKey"),
			},
			MainPublicHost: pulumi.String(cfg.Require("mainPublicHost")),
			Backup: &reversesshtunnel.HostConnectionArgs{
				Host:       pulumi.String(cfg.Require("backupHost")),
				User:       pulumi.String(cfg.Get("backupUser")),
				HostKey:    pulumi.String(cfg.Require("backupHostKey")),
				PrivateKey: cfg.RequireSecret("backupPrivateKey"),
			},
			Port:      pulumi.IntRef(cfg.RequireInt("port")),
			LoginUser: pulumi.StringRef(cfg.Get("loginUser")),
		})
		if err != nil {
			return err
		}
		// Main's loopback port of the backup's SSH, the key's fingerprint and
		// main's `ssh backup-nas` config block.
		ctx.Export("port", nas.Port)
		ctx.Export("keyFingerprint", nas.KeyFingerprint)
		ctx.Export("sshConfig", nas.SshConfig)
		return nil
	})
}
