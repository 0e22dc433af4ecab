// Command pulumi-tfgen-tls generates the Pulumi schema (schema.json) and the
// bridge metadata (bridge-metadata.json) that pulumi-resource-tls embeds:
//
//	pulumi-tfgen-tls schema --out DIR
package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"rst.local/toolchain/pulumi-resource-tls/provider"
)

func main() {
	pftfgen.Main("tls", provider.Provider([]byte("{}")))
}
