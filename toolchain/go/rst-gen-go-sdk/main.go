// Command rst-gen-go-sdk writes the Go SDK of a Pulumi package from its schema the way
// `pulumi package add <package>` does it for a Go program, without the Go language host
// (pulumi-language-go is not served by the Go module proxy reachable here):
//
//   - bind the schema (dangling references allowed, as the Go language host does),
//     resolving references to other packages (e.g. `command`) from the dependency schema
//     files given after it (e.g. `pulumi package get-schema command` output);
//   - turn on SupportPack, as `package add` always does for a local SDK (so a go.mod is
//     written, with module path derived from the package);
//   - run the upstream generator, github.com/pulumi/pulumi/pkg/v3/codegen/go
//     GeneratePackage, at the CLI's version, and write its files under -out.
//
// Usage: rst-gen-go-sdk -out DIR SCHEMA.json [DEPENDENCY-SCHEMA.json ...]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

func main() {
	out := flag.String("out", "", "directory to write the SDK into (created; existing files are overwritten)")
	flag.Parse()
	if *out == "" || flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: rst-gen-go-sdk -out DIR SCHEMA.json [DEPENDENCY-SCHEMA.json ...]")
		os.Exit(2)
	}
	if err := run(*out, flag.Arg(0), flag.Args()[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "rst-gen-go-sdk: %v\n", err)
		os.Exit(1)
	}
}

func readSpec(file string) (schema.PackageSpec, error) {
	var spec schema.PackageSpec
	b, err := os.ReadFile(file)
	if err != nil {
		return spec, err
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return spec, fmt.Errorf("%s: %w", file, err)
	}
	return spec, nil
}

// fileLoader serves the dependency schemas given on the command line, by name (the
// version is not checked: one schema per package is given).
type fileLoader struct {
	specs map[string]schema.PackageSpec
	bound map[string]*schema.Package
}

func (l *fileLoader) LoadPackage(name string, version *semver.Version) (*schema.Package, error) {
	return l.LoadPackageV2(context.Background(), &schema.PackageDescriptor{Name: name, Version: version})
}

func (l *fileLoader) LoadPackageV2(ctx context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	if p, ok := l.bound[d.Name]; ok {
		return p, nil
	}
	spec, ok := l.specs[d.Name]
	if !ok {
		return nil, fmt.Errorf("no schema given for package %q (pass `pulumi package get-schema %s` output as a dependency schema)", d.Name, d.Name)
	}
	p, diags, err := schema.BindSpec(spec, l, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("package %q: %w", d.Name, diags)
	}
	l.bound[d.Name] = p
	return p, nil
}

func (l *fileLoader) LoadPackageReference(name string, version *semver.Version) (schema.PackageReference, error) {
	return l.LoadPackageReferenceV2(context.Background(), &schema.PackageDescriptor{Name: name, Version: version})
}

func (l *fileLoader) LoadPackageReferenceV2(ctx context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	p, err := l.LoadPackageV2(ctx, d)
	if err != nil {
		return nil, err
	}
	return p.Reference(), nil
}

func run(out, schemaFile string, deps []string) error {
	spec, err := readSpec(schemaFile)
	if err != nil {
		return err
	}
	loader := &fileLoader{specs: map[string]schema.PackageSpec{}, bound: map[string]*schema.Package{}}
	for _, f := range deps {
		d, err := readSpec(f)
		if err != nil {
			return err
		}
		if d.Name == "" {
			return fmt.Errorf("%s: the schema has no name", f)
		}
		loader.specs[d.Name] = d
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return err
	}
	for _, d := range diags {
		fmt.Fprintln(os.Stderr, d.Error())
	}
	if diags.HasErrors() {
		return errors.New("the schema does not bind (diagnostics above)")
	}
	pkg.SupportPack = true
	files, err := gogen.GeneratePackage("rst-gen-go-sdk", pkg, nil)
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
	fmt.Fprintf(os.Stderr, "wrote %d files of the Go SDK of %s %s to %s\n", len(files), pkg.Name, pkg.Version, out)
	return nil
}
