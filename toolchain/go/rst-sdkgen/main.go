// Command rst-sdkgen is a language plugin that does one thing: GeneratePackage, the call
// behind `pulumi package gen-sdk` and the first half of `pulumi package add`, for the
// languages whose hosts the Go module proxy does not serve (pulumi-language-python,
// -go, -dotnet live in modules it refuses) or serves too old (the Node.js host is 3.68,
// which has no GeneratePackage; the project's shim forwards the call here).
//
// setup.sh installs it as bin/rst-sdkgen and hard-links it as bin/pulumi-language-python,
// bin/pulumi-language-go and bin/pulumi-language-dotnet, where the CLI looks for
// language plugins; the language is the suffix of the name it was started as (or
// -language). Like the upstream hosts' GeneratePackage, it binds the schema through
// the engine's schema loader (req.LoaderTarget; dangling references allowed) and runs
// the upstream generator at the CLI's version, github.com/pulumi/pulumi/pkg/v3/codegen/
// {nodejs,python,go}, writing the files under req.Directory. Two deliberate
// differences, both for local SDKs:
//
//   - go: with `--local` (req.Local) SupportPack is turned on, as `package add` does, so
//     the SDK gets a go.mod that a consumer's `replace` can point at (upstream's Go host
//     ignores req.Local and writes no go.mod for gen-sdk);
//   - dotnet: pkg/v3 no longer holds the C# generator (moved to pulumi-dotnet, whose
//     module the proxy refuses), so it runs rst-sdkgen-dotnet (beside this binary), built
//     on the last pkg/v3 that still has it.
//
// Every other LanguageRuntime method answers Unimplemented: programs in these languages
// cannot run with this toolchain.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/pkg/v3/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	pythongen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
)

// Version is the CLI version whose generators this binary carries (set by setup.sh).
var Version = "3.259.0"

// dotnetEnv overrides where rst-sdkgen-dotnet is (default: beside this binary).
const dotnetEnv = "RST_SDKGEN_DOTNET"

func main() {
	language := flag.String("language", "", "nodejs, python, go or dotnet (default: from the name this binary runs as, pulumi-language-LANG)")
	flag.Parse()
	if *language == "" {
		*language = strings.TrimPrefix(filepath.Base(os.Args[0]), "pulumi-language-")
	}
	switch *language {
	case "nodejs", "python", "go", "dotnet":
	default:
		fmt.Fprintf(os.Stderr, "rst-sdkgen: unknown language %q (run as pulumi-language-LANG or with -language)\n", *language)
		os.Exit(2)
	}
	// The engine passes its address last; nothing here calls back into it.
	h, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, &host{language: *language})
			return nil
		},
		Options: []grpc.ServerOption{grpc.MaxSendMsgSize(400 * 1024 * 1024)},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "rst-sdkgen: %v\n", err)
		os.Exit(1)
	}
	// Like every plugin: the port on the first stdout line.
	fmt.Printf("%d\n", h.Port)
	if err := <-h.Done; err != nil {
		fmt.Fprintf(os.Stderr, "rst-sdkgen: %v\n", err)
		os.Exit(1)
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	language string
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (h *host) GeneratePackage(ctx context.Context, req *pulumirpc.GeneratePackageRequest) (*pulumirpc.GeneratePackageResponse, error) {
	if h.language == "dotnet" {
		return generateDotnet(ctx, req)
	}
	if h.language == "go" && len(req.ExtraFiles) > 0 {
		return nil, errors.New("overlays are not supported for Go")
	}
	loader, err := schema.NewLoaderClient(req.LoaderTarget)
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.Schema), &spec); err != nil {
		return nil, err
	}
	cached := schema.NewCachedLoader(loader)
	pkg, diags, err := schema.BindSpec(spec, cached, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}
	if diags.HasErrors() {
		return resp, nil
	}
	var files map[string][]byte
	switch h.language {
	case "nodejs":
		files, err = nodejsgen.GeneratePackage("pulumi-language-nodejs", pkg, req.ExtraFiles, req.LocalDependencies, req.Local, cached)
	case "python":
		files, err = pythongen.GeneratePackage("pulumi-language-python", pkg, req.ExtraFiles, cached)
	case "go":
		if req.Local {
			pkg.SupportPack = true
		}
		files, err = gogen.GeneratePackage("pulumi-language-go", pkg, req.LocalDependencies)
	}
	if err != nil {
		return nil, err
	}
	if err := writeFiles(req.Directory, files); err != nil {
		return nil, err
	}
	return resp, nil
}

func writeFiles(dir string, files map[string][]byte) error {
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("could not create output directory %s: %w", filepath.Dir(name), err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("could not write output file %s: %w", name, err)
		}
	}
	return nil
}

// generateDotnet runs rst-sdkgen-dotnet with the schema on stdin; it binds through
// the same loader and writes into req.Directory.
func generateDotnet(ctx context.Context, req *pulumirpc.GeneratePackageRequest) (*pulumirpc.GeneratePackageResponse, error) {
	bin := os.Getenv(dotnetEnv)
	if bin == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(filepath.Dir(self), "rst-sdkgen-dotnet")
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, status.Errorf(codes.Unimplemented,
			"C# SDKs need %s (build it: toolchain/setup.sh --with rst-sdkgen-dotnet): %v", bin, err)
	}
	if len(req.ExtraFiles) > 0 {
		return nil, errors.New("overlays are not supported by rst-sdkgen-dotnet")
	}
	args := []string{"-loader", req.LoaderTarget, "-out", req.Directory}
	for name, dir := range req.LocalDependencies {
		args = append(args, "-local-dependency", name+"="+dir)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(req.Schema)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", bin, err, out)
	}
	return &pulumirpc.GeneratePackageResponse{}, nil
}
