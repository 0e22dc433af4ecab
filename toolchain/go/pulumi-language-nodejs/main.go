// Command pulumi-language-nodejs is a small Node.js language host for the
// Pulumi engine, written for this project because the upstream language host
// module (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
// is not served by the Go module proxy reachable here.
//
// It implements the parts of the LanguageRuntime gRPC service that the CLI
// needs to run an ordinary Node.js / TypeScript program:
//
//   - Run: starts `node @pulumi/pulumi/cmd/run` (from the program's own
//     node_modules) with the monitor/engine addresses and configuration,
//   - GetRequiredPackages/GetRequiredPlugins: lists the resource plugins that
//     installed npm packages declare (package.json "pulumi" field or
//     pulumi-plugin.json),
//   - GetProgramDependencies, About, GetPluginInfo, Handshake,
//     RuntimeOptionsPrompts, InstallDependencies (`npm install`).
//
// Everything else answers Unimplemented, which the engine tolerates.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Exit code with which @pulumi/pulumi's run script signals that it has already
// reported the error to the user.
const exitCodeErrorAlreadyReported = 32

func main() {
	engineAddress, tracing := parseArgs(os.Args[1:])

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Exit when the engine goes away, so that no host is left behind.
	if engineAddress != "" {
		// Healthcheck polls the engine in the background and cancels ctx
		// once the engine stops answering.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err == nil {
			go func() {
				<-ctx.Done()
				os.Exit(0)
			}()
		}
	}

	host := &nodeHost{engineAddress: engineAddress, tracing: tracing}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "fatal: language host RPC server stopped: %v\n", err)
		os.Exit(1)
	}
}

// parseArgs ignores the engine's logging flags (-v=N, --logtostderr,
// --logflow, --tracing URL, and any other -flag[=value]) and returns the last
// positional argument: the engine's address.
func parseArgs(args []string) (engine string, tracing string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--tracing" || a == "-tracing":
			if i+1 < len(args) {
				tracing = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--tracing=") || strings.HasPrefix(a, "-tracing="):
			tracing = a[strings.Index(a, "=")+1:]
		case strings.HasPrefix(a, "-"):
			// other flags (boolean or -flag=value): ignored
		default:
			engine = a
		}
	}
	return engine, tracing
}

type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	tracing       string
}

func (h *nodeHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *nodeHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: strings.TrimPrefix(version.Version, "v")}, nil
}

func (h *nodeHost) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *nodeHost) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("could not find node on the PATH")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// programDir returns the directory holding the program (where package.json is).
func programDir(info *pulumirpc.ProgramInfo, fallbacks ...string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	for _, f := range fallbacks {
		if f != "" {
			return f
		}
	}
	wd, _ := os.Getwd()
	return wd
}

// --- plugins declared by installed npm packages ---

type pulumiPluginInfo struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Main                 string            `json:"main"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	Pulumi               *pulumiPluginInfo `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &p, nil
}

// findNodeModules walks up from dir to the first directory that has a
// node_modules folder.
func findNodeModules(dir string) string {
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		nm := filepath.Join(d, "node_modules")
		if st, err := os.Stat(nm); err == nil && st.IsDir() {
			return nm
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// pluginOf reports the resource plugin a package directory declares, if any.
func pluginOf(pkgDir string) (*pulumiPluginInfo, error) {
	if b, err := os.ReadFile(filepath.Join(pkgDir, "pulumi-plugin.json")); err == nil {
		var pi pulumiPluginInfo
		if err := json.Unmarshal(b, &pi); err != nil {
			return nil, fmt.Errorf("parsing %s/pulumi-plugin.json: %w", pkgDir, err)
		}
		if pi.Resource {
			return &pi, nil
		}
		return nil, nil
	}
	p, err := readPackageJSON(filepath.Join(pkgDir, "package.json"))
	if err != nil || p.Pulumi == nil || !p.Pulumi.Resource {
		return nil, nil //nolint:nilerr // a package without a readable package.json declares nothing
	}
	pi := *p.Pulumi
	if pi.Name == "" {
		pi.Name = strings.TrimPrefix(p.Name, "@pulumi/")
	}
	if pi.Version == "" {
		pi.Version = p.Version
	}
	return &pi, nil
}

// scanPlugins visits every package under a node_modules tree (scoped
// packages and nested node_modules included).
func scanPlugins(nodeModules string, seen map[string]bool, out *[]pulumiPluginInfo) error {
	entries, err := os.ReadDir(nodeModules)
	if err != nil {
		return nil //nolint:nilerr // no node_modules: nothing to report
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := filepath.Join(nodeModules, name)
		st, err := os.Stat(full) // follows symlinks (workspaces, pnpm)
		if err != nil || !st.IsDir() {
			continue
		}
		if strings.HasPrefix(name, "@") {
			if err := scanPlugins(full, seen, out); err != nil {
				return err
			}
			continue
		}
		pi, err := pluginOf(full)
		if err != nil {
			return err
		}
		if pi != nil {
			key := pi.Name + "@" + pi.Version
			if !seen[key] {
				seen[key] = true
				*out = append(*out, *pi)
			}
		}
		if err := scanPlugins(filepath.Join(full, "node_modules"), seen, out); err != nil {
			return err
		}
	}
	return nil
}

func requiredPlugins(dir string) ([]pulumiPluginInfo, error) {
	nm := findNodeModules(dir)
	if nm == "" {
		return nil, nil
	}
	var out []pulumiPluginInfo
	if err := scanPlugins(nm, map[string]bool{}, &out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

func normVersion(v string) string {
	if v == "" || strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

func (h *nodeHost) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	plugins, err := requiredPlugins(programDir(req.GetInfo(), req.GetProgram(), req.GetPwd()))
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range plugins {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: "resource", Version: normVersion(p.Version), Server: p.Server,
		})
	}
	return resp, nil
}

func (h *nodeHost) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	plugins, err := requiredPlugins(programDir(req.GetInfo()))
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, p := range plugins {
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{
			Name: p.Name, Kind: "resource", Version: normVersion(p.Version), Server: p.Server,
		})
	}
	return resp, nil
}

func (h *nodeHost) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetProgram(), req.GetPwd())
	p, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reading package.json: %w", err)
	}
	names := map[string]bool{}
	for _, m := range []map[string]string{p.Dependencies, p.DevDependencies, p.OptionalDependencies} {
		for n := range m {
			names[n] = true
		}
	}
	nm := findNodeModules(dir)
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for n := range names {
		v := ""
		if nm != "" {
			if dp, err := readPackageJSON(filepath.Join(nm, n, "package.json")); err == nil {
				v = dp.Version
			}
		}
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: n, Version: v})
	}
	sort.Slice(resp.Dependencies, func(i, j int) bool { return resp.Dependencies[i].Name < resp.Dependencies[j].Name })
	return resp, nil
}

// --- running a program ---

// runScript locates @pulumi/pulumi/cmd/run in the program's node_modules.
func runScript(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", "run", "index.js")
		if _, err := os.Stat(candidate); err == nil {
			return filepath.Dir(candidate), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("it looks like the Pulumi SDK has not been installed: "+
				"no node_modules/@pulumi/pulumi found from %s; run `npm install`", dir)
		}
		d = parent
	}
}

func optionString(opts *structpb.Struct, key string) (string, bool) {
	if opts == nil {
		return "", false
	}
	v, ok := opts.GetFields()[key]
	if !ok {
		return "", false
	}
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return k.StringValue, true
	case *structpb.Value_BoolValue:
		return strconv.FormatBool(k.BoolValue), true
	case *structpb.Value_NumberValue:
		return strconv.FormatFloat(k.NumberValue, 'f', -1, 64), true
	}
	return "", false
}

func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := programDir(info, req.GetPwd())
	entry := "."
	if info != nil && info.GetEntryPoint() != "" {
		entry = info.GetEntryPoint()
	} else if req.GetProgram() != "" {
		entry = req.GetProgram()
	}
	script, err := runScript(dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the PATH: install Node.js"}, nil
	}

	var opts *structpb.Struct
	if info != nil {
		opts = info.GetOptions()
	}

	var args []string
	if nodeargs, ok := optionString(opts, "nodeargs"); ok && nodeargs != "" {
		args = append(args, strings.Fields(nodeargs)...)
	}
	args = append(args, script)
	args = append(args, "--monitor="+req.GetMonitorAddress())
	if h.engineAddress != "" {
		args = append(args, "--engine="+h.engineAddress)
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	args = append(args, "--project="+req.GetProject(), "--stack="+req.GetStack(), "--pwd="+dir)
	if info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root-directory="+info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		args = append(args, "--parallel="+strconv.Itoa(int(req.GetParallel())))
	}
	if h.tracing != "" {
		args = append(args, "--tracing="+h.tracing)
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}

	env := os.Environ()
	env = append(env, "PULUMI_CONFIG="+string(configJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON))
	typescript := true
	if v, ok := optionString(opts, "typescript"); ok {
		typescript = v == "true"
	}
	env = append(env, "PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(typescript))
	if v, ok := optionString(opts, "tsconfig"); ok && v != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+v)
	}

	cmd := exec.CommandContext(ctx, node, args...) //nolint:gosec // runs the user's program, by design
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code := exitErr.ExitCode()
			if code == exitCodeErrorAlreadyReported {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// --- dependencies ---

type streamWriter struct {
	send   func(*pulumirpc.InstallDependenciesResponse) error
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	msg := &pulumirpc.InstallDependenciesResponse{Stdout: b}
	if w.stderr {
		msg = &pulumirpc.InstallDependenciesResponse{Stderr: b}
	}
	if err := w.send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *nodeHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := programDir(req.GetInfo(), req.GetDirectory())
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return status.Errorf(codes.FailedPrecondition, "no package.json in %s", dir)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("could not find npm on the PATH")
	}
	args := []string{"install"}
	cmd := exec.CommandContext(server.Context(), npm, args...)
	cmd.Dir = dir
	cmd.Stdout = streamWriter{send: server.Send}
	cmd.Stderr = streamWriter{send: server.Send, stderr: true}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm %s failed: %w", strings.Join(args, " "), err)
	}
	return nil
}

var _ io.Writer = streamWriter{}
