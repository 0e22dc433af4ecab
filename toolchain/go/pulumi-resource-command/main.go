// Command pulumi-resource-command is a Pulumi resource plugin for the
// "command" package, written for this project because the upstream provider
// module (github.com/pulumi/pulumi-command/provider) is not served by the Go
// module proxy reachable here. It speaks the same resource tokens and property
// names as the published @pulumi/command SDK (1.2.1), for the parts this
// project uses:
//
//   - command:local:Command  (create/update/delete, dir, environment,
//     interpreter, stdin, triggers, addPreviousOutputInEnv, logging)
//   - command:remote:Command (the same over SSH: connection with host, port,
//     user, password, privateKey, privateKeyPassword, agentSocketPath,
//     dialErrorLimit, perDialTimeout, hostKey and a proxy jump host)
//   - command:remote:CopyToRemote (a FileAsset, StringAsset or path FileArchive
//     copied over SFTP, with the same connection: copy.go)
//   - command:local:run      (invoke)
//
// Where upstream 1.2.1 was measured (dial retries and backoff, the meaning of
// dialErrorLimit 0/-1 and perDialTimeout, SSH agent use, host key algorithms,
// error text, streamed-output severity, connections kept open), this provider
// does the same: see ssh.go, run.go and test/conformance/.
//
// Not implemented: remote.CopyFile (deprecated upstream),
// local assetPaths/archivePaths (the assets/archive outputs stay empty).
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Version is the plugin version (no leading "v"), set at link time.
var Version = "1.2.1"

func main() {
	engineAddress := ""
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--tracing" || a == "-tracing":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			engineAddress = a
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	p := &commandProvider{}
	if engineAddress != "" {
		conn, err := grpc.NewClient(engineAddress,
			grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
		if err == nil {
			p.engine = pulumirpc.NewEngineClient(conn)
		}
		// Healthcheck polls the engine in the background and cancels ctx
		// once the engine stops answering.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err == nil {
			go func() {
				<-ctx.Done()
				os.Exit(0)
			}()
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, p)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
		os.Exit(1)
	}
}
