// Command pulumi-resource-tls is the Pulumi resource plugin for the "tls"
// package. schema.json and bridge-metadata.json are generated at build time by
// pulumi-tfgen-tls (toolchain/setup.sh builds in a scratch copy of this module)
// and are not kept in the repository.
package main

import (
	"context"
	_ "embed"

	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"rst.local/toolchain/pulumi-resource-tls/provider"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	pfbridge.Main(context.Background(), "tls", provider.Provider(metadata),
		pfbridge.ProviderMetadata{PackageSchema: schema})
}
