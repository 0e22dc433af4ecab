// Command pulumi-language-nodejs is the project's shim in front of the upstream Node.js
// language host (github.com/pulumi/pulumi/sdk/v3 v3.68.0, the last version the Go module
// proxy serves; built by setup.sh into ../libexec/pulumi-language-nodejs).
//
// It starts the upstream host as a child process with the arguments the engine gave,
// reads the child's port, and serves its own port: every LanguageRuntime call is
// forwarded to the child unchanged, byte for byte (any method, any field, any
// status), except RunPlugin, which the upstream 3.68 host stubs ("not supported") and
// which this shim implements itself, and GeneratePackage, which 3.68 lacks and which
// goes to the toolchain's rst-sdkgen (generatepackage.go). RunPlugin is how the engine starts a Node.js
// component provider (a directory with PulumiPlugin.yaml `runtime: nodejs`), e.g. for
// `pulumi package get-schema <dir>`, `pulumi package add <dir>` and the `packages:` of
// a YAML program. The behaviour follows the host that CLI 3.259 ships with:
//
//	cd <request pwd> && <env> node <@pulumi/pulumi/cmd/run-plugin, resolved from the
//	    plugin directory> [nodeargs] <plugin directory> <engine args...>
//
// streaming the child's stdout and stderr back to the engine and ending with its exit
// code. The child is killed when the engine cancels the call (it does when it is done
// with the provider).
//
// The host and the node processes it starts also get an inspect guard preload through
// NODE_OPTIONS (inspectguard.go): without it a program error in an Output hangs Node
// 20.20 (nodejs/node#64011) and with it `pulumi preview`.
//
// Why a front and not a patch: upstream code is used as a dependency, never copied or
// patched (DEVELOPERS.md); the host moved to a module the proxy refuses after 3.68.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// upstreamEnv overrides where the upstream host binary is (default: ../libexec/
// pulumi-language-nodejs relative to this binary, where setup.sh puts it).
const upstreamEnv = "RST_NODEJS_UPSTREAM_HOST"

// maxMsg matches the engine's own limit for plugin messages (schemas and
// GeneratePackage requests can be large).
const maxMsg = 400 * 1024 * 1024

// guard is the inspect guard preload's path ("" when there is none; inspectguard.go).
var guard string

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs (shim): %v\n", err)
		os.Exit(1)
	}
}

func upstreamPath() (string, error) {
	if p := os.Getenv(upstreamEnv); p != "" {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(self), "..", "libexec", "pulumi-language-nodejs"), nil
}

func run() error {
	bin, err := upstreamPath()
	if err != nil {
		return err
	}
	// The child gets exactly our arguments (flags, then the engine address last).
	child := exec.Command(bin, os.Args[1:]...)
	// The node processes the host starts inherit NODE_OPTIONS: see inspectguard.go.
	guard = inspectGuardPath()
	child.Env = withInspectGuard(os.Environ(), guard)
	child.Stderr = os.Stderr
	child.Stdin = os.Stdin
	out, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return fmt.Errorf("starting the upstream host %s (set %s to override): %w", bin, upstreamEnv, err)
	}
	// Signals the engine sends us are meant for the host.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			_ = child.Process.Signal(s)
		}
	}()

	// Like every plugin, the upstream host prints its port as the first stdout line.
	rd := bufio.NewReader(out)
	line, err := rd.ReadString('\n')
	if err != nil {
		_ = child.Process.Kill()
		_ = child.Wait()
		return fmt.Errorf("the upstream host %s printed no port: %w", bin, err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		_ = child.Process.Kill()
		_ = child.Wait()
		return fmt.Errorf("the upstream host printed %q instead of a port", strings.TrimSpace(line))
	}

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
	if err != nil {
		_ = child.Process.Kill()
		return err
	}
	defer conn.Close()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = child.Process.Kill()
		return err
	}
	f := &front{upstream: conn}
	srv := grpc.NewServer(
		grpc.UnknownServiceHandler(f.handle),
		grpc.ForceServerCodec(rawCodec{}),
		grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg),
	)
	go func() { _ = srv.Serve(lis) }()
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)
	// Anything else the host prints on stdout goes where it would have gone.
	go func() { _, _ = io.Copy(os.Stdout, rd) }()

	// The upstream host exits when the engine goes away (its health check); so do we.
	werr := child.Wait()
	srv.Stop()
	var exit *exec.ExitError
	if errors.As(werr, &exit) {
		os.Exit(exit.ExitCode())
	}
	return werr
}

// rawCodec passes messages through as bytes, so that fields the upstream host's older
// protocol does not know about reach it (and its answers reach the engine) unchanged.
type rawCodec struct{}

type frame struct{ b []byte }

func (rawCodec) Marshal(v any) ([]byte, error) {
	f, ok := v.(*frame)
	if !ok {
		return nil, fmt.Errorf("rawCodec: unexpected %T", v)
	}
	return f.b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return fmt.Errorf("rawCodec: unexpected %T", v)
	}
	f.b = append([]byte(nil), data...)
	return nil
}

// Name is "proto" so that the content type on the wire stays application/grpc+proto.
func (rawCodec) Name() string { return "proto" }

type front struct{ upstream *grpc.ClientConn }

const runPluginMethod = "/pulumirpc.LanguageRuntime/RunPlugin"

func (f *front) handle(_ any, ss grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return errors.New("no method in the stream")
	}
	switch method {
	case runPluginMethod:
		return runPlugin(ss)
	case generatePackageMethod:
		return generatePackage(ss)
	}
	return f.forward(method, ss)
}

// forward relays one call (unary or streaming) to the upstream host unchanged.
func (f *front) forward(method string, ss grpc.ServerStream) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	cs, err := f.upstream.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true},
		method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}
	go func() {
		for {
			var m frame
			if err := ss.RecvMsg(&m); err != nil {
				// io.EOF: the engine finished sending; anything else ends the call anyway.
				_ = cs.CloseSend()
				return
			}
			if err := cs.SendMsg(&m); err != nil {
				return
			}
		}
	}()
	first := true
	for {
		var m frame
		err := cs.RecvMsg(&m)
		if first {
			if h, herr := cs.Header(); herr == nil && len(h) > 0 {
				_ = ss.SendHeader(h)
			}
			first = false
		}
		if errors.Is(err, io.EOF) {
			ss.SetTrailer(cs.Trailer())
			return nil
		}
		if err != nil {
			// A status error from the host (e.g. Unimplemented) goes back as it is.
			ss.SetTrailer(cs.Trailer())
			return err
		}
		if err := ss.SendMsg(&m); err != nil {
			return err
		}
	}
}
