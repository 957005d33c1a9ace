package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/landfall-dev/landfall/test/cluster"
)

// workDir holds every environment's cluster, controller log and Git cache; it is kept
// when a test fails, so the component logs can be read afterwards.
var workDir string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// The tests' own clients log nothing worth reading; the controller's log is a file.
	ctrllog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "landfall-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	workDir = dir
	code := m.Run()
	stopEnvs()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: cluster and controller logs kept in %s\n", dir)
		return code
	}
	_ = os.RemoveAll(dir)
	return code
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// landfallBinary builds cmd/landfall once per package run: the tests run the real binary.
func landfallBinary() (string, error) {
	buildOnce.Do(func() { binPath, buildErr = cluster.LandfallBinary(context.Background(), workDir) })
	return binPath, buildErr
}

var (
	sharedOnce sync.Once
	sharedEnv  *env
	sharedErr  error

	envsMu  sync.Mutex
	started []*env // every environment of the package run, stopped at its end
)

// shared returns the package's environment, starting it on first use, and prints the
// controller's log lines of this test if it fails.
func shared(tb testing.TB) *env {
	tb.Helper()
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		rules := filepath.Join(workDir, "health-rules.yaml")
		if sharedErr = os.WriteFile(rules, []byte(globalHealthRules), 0o600); sharedErr != nil {
			return
		}
		sharedEnv, sharedErr = startEnv(ctx, "shared", 2, "--health-rules", rules)
		if sharedErr == nil {
			keep(sharedEnv)
		}
	})
	if sharedErr != nil {
		tb.Fatalf("starting the shared environment: %v", sharedErr)
	}
	sharedEnv.dumpOnFailure(tb)
	return sharedEnv
}

// newEnv starts an environment for one test, stopped when the test ends.
func newEnv(t *testing.T, name string) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e, err := startEnv(ctx, name, 2)
	if err != nil {
		t.Fatalf("starting environment %s: %v", name, err)
	}
	t.Cleanup(e.stop)
	e.dumpOnFailure(t)
	return e
}

func keep(e *env) {
	envsMu.Lock()
	defer envsMu.Unlock()
	started = append(started, e)
}

func stopEnvs() {
	envsMu.Lock()
	defer envsMu.Unlock()
	for _, e := range started {
		e.stop()
	}
	started = nil
	for _, stop := range stops {
		stop()
	}
	stops = nil
}
