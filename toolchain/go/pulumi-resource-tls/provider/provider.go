// Package provider maps the upstream Terraform TLS provider (wrapped by the
// local shim module) to the Pulumi "tls" package through the Terraform bridge.
//
// Resources and functions get the standard tokens the published @pulumi/tls
// SDK uses: tls_private_key -> tls:index/privateKey:PrivateKey,
// tls_public_key (data source) -> tls:index/getPublicKey:getPublicKey, ...
package provider

import (
	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"

	tlsshim "github.com/hashicorp/terraform-provider-tls/shim"
)

// Version is the plugin version (no leading "v"), set at link time with
// -X rst.local/toolchain/pulumi-resource-tls/provider.Version=5.5.1
var Version = "0.0.0-dev"

// Provider returns the bridge configuration. metadata is the bridge metadata
// (bridge-metadata.json) produced by the schema generator; "{}" for the
// generator itself.
func Provider(metadata []byte) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pfbridge.ShimProvider(tlsshim.NewProvider()),
		Name:         "tls",
		Version:      Version,
		DisplayName:  "TLS",
		Publisher:    "Pulumi",
		Description:  "A Pulumi package to create TLS resources in Pulumi programs.",
		Keywords:     []string{"tls", "category/utility"},
		License:      "Apache-2.0",
		Homepage:     "https://pulumi.io",
		Repository:   "https://github.com/pulumi/pulumi-tls",
		GitHubOrg:    "hashicorp",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
	}
	info.MustComputeTokens(tokens.SingleModule("tls_", "index", tokens.MakeStandard("tls")))
	return info
}
