// Command switchyard is the flow execution server and its command-line
// client: switchyard serve, flows, jobs, breakpoints, version, completion
// (backend/cli; docs/cli.md).
package main

import (
	"os"

	"github.com/switchyard/switchyard/backend/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	cli.Version = version
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
