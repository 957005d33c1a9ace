// Package prometheus runs a real Prometheus server for tests: the binary from the system
// (Debian's prometheus package, installed by hack/install-test-deps.sh) as a child process
// on a free loopback port, with its own configuration and storage in a temporary
// directory, scraping loopback targets every second. Target serves gauges the test sets.
package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/landfall-dev/landfall/test/child"
	"github.com/landfall-dev/landfall/test/ports"
)

// BinaryEnv names the environment variable that overrides the prometheus binary.
const BinaryEnv = "LANDFALL_PROMETHEUS"

// StartTimeout bounds how long Start waits for the server to be ready.
const StartTimeout = 60 * time.Second

// Server is a running Prometheus.
type Server struct {
	// URL is the base URL of the HTTP API, e.g. http://127.0.0.1:40123.
	URL  string
	api  promv1.API
	proc *child.Process
}

// Binary returns the prometheus binary to run: $LANDFALL_PROMETHEUS, else prometheus on
// PATH, else /usr/bin/prometheus.
func Binary() (string, error) {
	if b := os.Getenv(BinaryEnv); b != "" {
		return b, nil
	}
	if b, err := exec.LookPath("prometheus"); err == nil {
		return b, nil
	}
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus", nil
	}
	return "", fmt.Errorf("prometheus not found: run hack/install-test-deps.sh or set %s", BinaryEnv)
}

// Start runs Prometheus scraping the targets (host:port, each serving /metrics) every
// second, and stops it when the test ends. It fails the test if the server is not ready
// within StartTimeout.
func Start(t testing.TB, targets ...string) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(configFor(targets)), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin,
		"--config.file="+config,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	s := &Server{URL: "http://" + addr, proc: child.Start(t, cmd)}
	client, err := promapi.NewClient(promapi.Config{Address: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	s.api = promv1.NewAPI(client)
	s.waitReady(t)
	return s
}

func configFor(targets []string) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	b.WriteString("scrape_configs:\n- job_name: landfall-test\n  static_configs:\n  - targets: [")
	for i, tg := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", tg)
	}
	b.WriteString("]\n")
	return b.String()
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := ports.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func (s *Server) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-s.proc.Exited():
			t.Fatalf("prometheus exited before it was ready:\n%s", s.proc.Log())
		default:
		}
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after %s:\n%s", StartTimeout, s.proc.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitFor polls an instant query until it returns exactly one sample for which ok is
// true, and returns that value. It fails the test after timeout, showing the last result.
func (s *Server) WaitFor(t testing.TB, query string, timeout time.Duration, ok func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, _, _, err := s.api.Query(ctx, query, time.Time{})
		cancel()
		if err != nil {
			last = err.Error()
		} else {
			last = v.String()
			if vec, isVec := v.(model.Vector); isVec && len(vec) == 1 && ok(float64(vec[0].Value)) {
				return float64(vec[0].Value)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %q: no matching value after %s; last result: %s\nprometheus log:\n%s", query, timeout, last, s.proc.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
