package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// runPluginModule is what the Node.js SDK (>= 3.14x) ships to serve a package's
// ComponentResource classes as a provider (same default as the upstream host).
const runPluginModule = "@pulumi/pulumi/cmd/run-plugin"

// runPlugin serves one RunPlugin call: a server stream of stdout/stderr chunks, then
// the exit code.
func runPlugin(ss grpc.ServerStream) error {
	var in frame
	if err := ss.RecvMsg(&in); err != nil {
		return err
	}
	req := &pulumirpc.RunPluginRequest{}
	if err := proto.Unmarshal(in.b, req); err != nil {
		return status.Errorf(codes.InvalidArgument, "RunPlugin request: %v", err)
	}
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		return status.Error(codes.InvalidArgument, "RunPlugin: the request names no plugin directory (info.program_directory)")
	}
	opts := req.GetInfo().GetOptions().AsMap()

	node, err := exec.LookPath("node")
	if err != nil {
		return status.Errorf(codes.FailedPrecondition, "RunPlugin: node is not on PATH: %v", err)
	}
	runPath, err := resolveRunPlugin(node, dir)
	if err != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}

	args := []string{runPath}
	if s, ok := opts["nodeargs"].(string); ok {
		// Whitespace-separated (the upstream host also honours shell quoting; not needed here).
		args = append(args, strings.Fields(s)...)
	}
	args = append(args, dir)
	args = append(args, req.GetArgs()...)

	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}
	// Runtime options as the upstream host passes them (typescript defaults to true).
	if ts, ok := opts["typescript"].(bool); !ok || ts {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if s, ok := opts["tsconfig"].(string); ok && s != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+s)
	}

	cmd := exec.CommandContext(ss.Context(), node, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = withInspectGuard(env, guard)
	// The engine cancels the call when it is done with the provider: stop the process
	// group gently first (node's children too), then kill.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second

	var mu sync.Mutex
	send := func(resp *pulumirpc.RunPluginResponse) error {
		b, err := proto.Marshal(resp)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		return ss.SendMsg(&frame{b: b})
	}
	cmd.Stdout = writerFunc(func(p []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: bytes.Clone(p)}})
	})
	cmd.Stderr = writerFunc(func(p []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: bytes.Clone(p)}})
	})

	err = cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case ss.Context().Err() != nil:
		return ss.Context().Err()
	default:
		return status.Errorf(codes.Internal, "RunPlugin: could not run %s %s: %v", node, strings.Join(args, " "), err)
	}
	if ss.Context().Err() != nil {
		// Cancelled by the engine: nobody is listening for the exit code.
		return nil
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

// resolveRunPlugin finds run-plugin with Node's own module resolution from the plugin
// directory (so a hoisted or nested @pulumi/pulumi is found like `require` would).
func resolveRunPlugin(node, dir string) (string, error) {
	script := `process.stdout.write(require.resolve(process.argv[1] + "/package.json", { paths: [process.argv[2]] }))`
	out, err := exec.Command(node, "-e", script, "@pulumi/pulumi", dir).Output()
	if err != nil {
		var stderr string
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			stderr = strings.TrimSpace(string(exit.Stderr))
		}
		return "", fmt.Errorf("RunPlugin: cannot find @pulumi/pulumi from %s (run `npm install` there): %v %s", dir, err, stderr)
	}
	p := filepath.Join(filepath.Dir(string(out)), "cmd", "run-plugin")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("RunPlugin: %s has no %s (component providers need @pulumi/pulumi >= 3.142): %v", filepath.Dir(string(out)), runPluginModule, err)
	}
	return p, nil
}

type writerFunc func([]byte) error

func (w writerFunc) Write(p []byte) (int, error) {
	if err := w(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
