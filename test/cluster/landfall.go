package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// BinaryEnv names a landfall binary already built from this tree: make test builds one for
// the packages that run it (test/e2e, test/chart, cmd/landfall), instead of each linking its
// own, and hands it to them in this variable. Unset, each builds its own.
const BinaryEnv = "LANDFALL_TEST_BINARY"

// LandfallBinary returns the landfall binary of BinaryEnv, or builds cmd/landfall into dir
// (within 10 minutes, or until ctx ends). It is linked without symbol tables and debug
// information: tests and the demo read its logs, never debug it.
func LandfallBinary(ctx context.Context, dir string) (string, error) {
	if bin := os.Getenv(BinaryEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("%s: %w", BinaryEnv, err)
		}
		return bin, nil
	}
	bin := filepath.Join(dir, "landfall")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags=-s -w", "-o", bin, "./cmd/landfall")
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/landfall: %w\n%s", err, out)
	}
	return bin, nil
}
