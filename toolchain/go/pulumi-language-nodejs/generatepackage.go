package main

// GeneratePackage: the call behind `pulumi package gen-sdk --language nodejs` and `pulumi
// package add` in a TypeScript project. The upstream 3.68 host answers "method
// GeneratePackage not implemented", so the shim serves it with the toolchain's
// rst-sdkgen (toolchain/go/rst-sdkgen: upstream codegen/nodejs at the CLI's version):
// started for this one call as a Node.js language plugin, the call forwarded to it
// byte for byte, the process stopped afterwards. The shim itself stays free of pkg/v3
// (it is built for every `pulumi up`; rst-sdkgen only when asked).

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

const generatePackageMethod = "/pulumirpc.LanguageRuntime/GeneratePackage"

// sdkgenEnv overrides where rst-sdkgen is (default: beside this binary).
const sdkgenEnv = "RST_SDKGEN"

func sdkgenPath() (string, error) {
	if p := os.Getenv(sdkgenEnv); p != "" {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(self), "rst-sdkgen"), nil
}

func generatePackage(ss grpc.ServerStream) error {
	bin, err := sdkgenPath()
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return status.Errorf(codes.Unimplemented,
			"GeneratePackage for Node.js needs %s (build it: toolchain/setup.sh --with rst-sdkgen): %v", bin, err)
	}
	// Like the engine starts a language plugin: its address last (unused by rst-sdkgen).
	args := []string{"-language", "nodejs"}
	if n := len(os.Args); n > 1 {
		args = append(args, os.Args[n-1])
	}
	cmd := exec.CommandContext(ss.Context(), bin, args...)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return status.Errorf(codes.Internal, "GeneratePackage: starting %s: %v", bin, err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return status.Errorf(codes.Internal, "GeneratePackage: %s printed no port: %v", bin, err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return status.Errorf(codes.Internal, "GeneratePackage: %s printed %q instead of a port", bin, strings.TrimSpace(line))
	}
	conn, err := grpc.NewClient(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
	if err != nil {
		return fmt.Errorf("GeneratePackage: %w", err)
	}
	defer conn.Close()
	return (&front{upstream: conn}).forward(generatePackageMethod, ss)
}
