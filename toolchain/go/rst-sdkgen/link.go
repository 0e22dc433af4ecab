package main

// The second half of `pulumi package add` in a Go project: Link and InstallDependencies,
// as the upstream Go host does them, so that `package add` works end to end for Go.
// Other languages answer Unimplemented ("linking package: ... not implemented"): the SDK
// is then under sdks/ and is added to the project by hand.
//
//   - Link: for each generated SDK (a directory with a go.mod, as `package add` writes
//     it), the project's go.mod gets `require <module> v0.0.0` and
//     `replace <module> => ./<path>`;
//   - InstallDependencies: `go mod tidy` in the project, its output streamed back.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/mod/modfile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func (h *host) Link(_ context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	if h.language != "go" {
		return nil, status.Errorf(codes.Unimplemented, "rst-sdkgen links only Go projects; add the %s SDK under sdks/ to the project by hand", h.language)
	}
	dir := req.GetInfo().GetProgramDirectory()
	path := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read go.mod: %w", err)
	}
	mod, err := modfile.Parse(path, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse go.mod: %w", err)
	}
	var instructions []string
	for _, dep := range req.GetPackages() {
		sdkMod, err := os.ReadFile(filepath.Join(dir, dep.GetPath(), "go.mod"))
		if err != nil {
			return nil, fmt.Errorf("the SDK at %s has no go.mod (generate it with --local): %w", dep.GetPath(), err)
		}
		modulePath := modfile.ModulePath(sdkMod)
		if modulePath == "" {
			return nil, fmt.Errorf("%s/go.mod names no module", dep.GetPath())
		}
		if err := mod.AddRequire(modulePath, "v0.0.0"); err != nil {
			return nil, fmt.Errorf("add require: %w", err)
		}
		if err := mod.AddReplace(modulePath, "", "./"+filepath.ToSlash(filepath.Clean(dep.GetPath())), ""); err != nil {
			return nil, fmt.Errorf("add replace: %w", err)
		}
		instructions = append(instructions, fmt.Sprintf("import the packages of %s (e.g. %s/%s)", modulePath, modulePath,
			strings.ReplaceAll(dep.GetPackage().GetName(), "-", "")))
	}
	mod.Cleanup()
	out, err := mod.Format()
	if err != nil {
		return nil, fmt.Errorf("format go.mod: %w", err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return nil, err
	}
	return &pulumirpc.LinkResponse{ImportInstructions: strings.Join(instructions, "\n")}, nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, ss grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	if h.language != "go" {
		return status.Errorf(codes.Unimplemented, "rst-sdkgen installs dependencies only for Go projects")
	}
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory() //nolint:staticcheck // older engines fill only this
	}
	cmd := exec.CommandContext(ss.Context(), "go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Stdout = streamWriter(func(b []byte) error { return ss.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b}) })
	cmd.Stderr = streamWriter(func(b []byte) error { return ss.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b}) })
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod tidy in %s: %w", dir, err)
	}
	return nil
}

type streamWriter func([]byte) error

func (w streamWriter) Write(p []byte) (int, error) {
	if err := w(append([]byte(nil), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}
