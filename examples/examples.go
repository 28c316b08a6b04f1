// Package examples holds the example flows a new server loads on first start.
package examples

import "embed"

// Flows are the example definitions, one YAML file each.
//
//go:embed flows/*.yaml
var Flows embed.FS
