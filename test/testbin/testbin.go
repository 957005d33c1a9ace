// Package testbin finds the control-plane and tool binaries that `make testbin` builds from
// the pinned modules under test/tools into a cache outside the repository.
package testbin

import (
	"os"
	"path/filepath"
	"testing"
)

// KubernetesVersion is the version of the Kubernetes binaries the harness builds and runs.
const KubernetesVersion = "v1.37.2"

// Dir is where the binaries live: $LANDFALL_TESTBIN, or ~/.cache/landfall/testbin/<version>.
func Dir() string {
	if d := os.Getenv("LANDFALL_TESTBIN"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "landfall", "testbin", KubernetesVersion)
}

// Path returns the path of a built binary, or an error-free empty string when it is missing.
func Path(name string) string {
	p := filepath.Join(Dir(), name)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return ""
	}
	return p
}

// Require returns the path of a built binary. A missing binary fails the test under CI (where
// `make test` builds them first) and skips it elsewhere, saying how to build it.
func Require(t testing.TB, name string) string {
	t.Helper()
	if p := Path(name); p != "" {
		return p
	}
	msg := name + " is not built in " + Dir() + ": run `make testbin`"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
