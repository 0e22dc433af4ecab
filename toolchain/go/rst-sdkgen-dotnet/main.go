// Command rst-sdkgen-dotnet writes the C# SDK of a Pulumi package for rst-sdkgen (the
// toolchain's GeneratePackage plugin), which runs it for `pulumi package gen-sdk
// --language dotnet` and `package add` in a C# project.
//
// Its own binary because of where the generator lives: pkg/v3 deleted codegen/dotnet in
// 2026 (it moved to github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3/codegen,
// a module the Go module proxy refuses), and one binary can hold only one pkg/v3. So
// this module requires pkg/v3 v3.219.0, the last version the proxy serves that still
// has github.com/pulumi/pulumi/pkg/v3/codegen/dotnet (deprecated there, frozen), and
// runs its GeneratePackage unchanged, with the sdk/v3 of the same version (pkg 3.219
// does not build against later ones).
//
// No network: that generator downloads the package logo (by default Pulumi's, from
// raw.githubusercontent.com) into the SDK's logo.png. Here every HTTP request of the
// process is refused, and a schema without `logoUrl` (this package's) gets a plain
// 64x64 PNG drawn by this binary instead.
//
// Usage: rst-sdkgen-dotnet -loader HOST:PORT -out DIR [-local-dependency NAME=DIR]... < schema.json
// The schema is bound through the engine's schema loader at -loader (dangling
// references allowed, as the upstream hosts do).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	dotnetgen "github.com/pulumi/pulumi/pkg/v3/codegen/dotnet"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

type pairs map[string]string

func (p pairs) String() string { return fmt.Sprint(map[string]string(p)) }

func (p pairs) Set(v string) error {
	k, d, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want NAME=DIR, got %q", v)
	}
	p[k] = d
	return nil
}

// logoURL is what a schema without `logoUrl` gets: served by offlineTransport.
const logoURL = "rst-sdkgen-dotnet:logo.png"

// offlineTransport answers the generator's logo request and refuses every other one.
type offlineTransport struct{}

func (offlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.String() != logoURL {
		return nil, fmt.Errorf("rst-sdkgen-dotnet makes no network requests (asked for %s)", r.URL)
	}
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{R: 0x80, G: 0x5a, B: 0xc8, A: 0xff})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(&b), ContentLength: int64(b.Len()), Header: http.Header{"Content-Type": {"image/png"}}, Request: r}, nil
}

func main() {
	http.DefaultClient.Transport = offlineTransport{}
	loaderTarget := flag.String("loader", "", "the engine's schema loader (HOST:PORT)")
	out := flag.String("out", "", "directory to write the SDK into")
	local := pairs{}
	flag.Var(local, "local-dependency", "NAME=DIR of a local SDK to reference (repeatable)")
	flag.Parse()
	if *loaderTarget == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: rst-sdkgen-dotnet -loader HOST:PORT -out DIR [-local-dependency NAME=DIR]... < schema.json")
		os.Exit(2)
	}
	if err := run(*loaderTarget, *out, local); err != nil {
		fmt.Fprintf(os.Stderr, "rst-sdkgen-dotnet: %v\n", err)
		os.Exit(1)
	}
}

func run(loaderTarget, out string, local map[string]string) error {
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("the schema on stdin: %w", err)
	}
	loader, err := schema.NewLoaderClient(loaderTarget)
	if err != nil {
		return err
	}
	defer loader.Close()
	pkg, diags, err := schema.BindSpec(spec, schema.NewCachedLoader(loader), schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return diags
	}
	if pkg.LogoURL == "" {
		pkg.LogoURL = logoURL
	}
	files, err := dotnetgen.GeneratePackage("pulumi-language-dotnet", pkg, nil, local)
	if err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
