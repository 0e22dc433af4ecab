// Package shim exposes the TLS provider, which upstream keeps in an internal
// package. Its module path sits under github.com/hashicorp/terraform-provider-tls
// so that Go's internal-package rule lets it import that package; the wrapper
// module maps the path to this directory with a replace directive.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the upstream Terraform TLS provider (plugin framework).
func NewProvider() provider.Provider { return upstream.New() }
