package cluster

import (
	"fmt"
	"path/filepath"
	"runtime"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/landfall-dev/landfall/test/testbin"
)

// RepoRoot is the root of the Landfall repository, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// CRDDir is where the generated CRDs live.
func CRDDir() string { return filepath.Join(RepoRoot(), "charts", "landfall", "crds") }

// NewEnvtest returns an envtest environment (etcd and kube-apiserver from testbin) with
// Landfall's CRDs installed. Start it with Start and stop it with Stop.
func NewEnvtest() (*envtest.Environment, error) {
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if testbin.Path(b) == "" {
			return nil, fmt.Errorf("%s is missing in %s: run `make testbin`", b, testbin.Dir())
		}
	}
	return &envtest.Environment{
		BinaryAssetsDirectory: testbin.Dir(),
		CRDDirectoryPaths:     []string{CRDDir()},
		ErrorIfCRDPathMissing: true,
	}, nil
}
