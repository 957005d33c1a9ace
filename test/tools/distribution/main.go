// Command registry is the CNCF distribution OCI registry, built from its module so tests need
// no download. Only the storage driver the tests use (filesystem) and htpasswd auth are linked.
package main

import (
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"

	"github.com/distribution/distribution/v3/registry"
)

func main() {
	// Errors are printed and the process exits non-zero by cobra.
	_ = registry.RootCmd.Execute()
}
