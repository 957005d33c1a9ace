// Package registry runs a real OCI registry for tests: CNCF distribution, built by
// `make testbin` from its Go module (test/tools/distribution) into the testbin cache, as a
// child process on a free loopback port with htpasswd basic auth and TLS from a throwaway CA,
// storing into a temporary directory. It is stopped by its PID when the test ends.
package registry

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/landfall-dev/landfall/test/child"
	"github.com/landfall-dev/landfall/test/ports"
	"github.com/landfall-dev/landfall/test/testbin"
	"github.com/landfall-dev/landfall/test/testca"
)

// StartTimeout bounds how long Start waits for the registry to answer.
const StartTimeout = 2 * time.Minute

// Registry is a running registry.
type Registry struct {
	// Host is "127.0.0.1:<port>", the registry part of a reference.
	Host string
	// Username and Password are the only credentials it takes.
	Username, Password string
	// CA signed its certificate; clients trust it through CA.PEM.
	CA   *testca.CA
	proc *child.Process
	data string // the storage's root directory
}

// Start runs a registry for the test. The binary must be built (`make testbin`): without
// it the test fails under CI and is skipped elsewhere.
func Start(t testing.TB, ca *testca.CA) *Registry {
	t.Helper()
	bin := testbin.Require(t, "registry")
	dir := t.TempDir()
	addr, err := ports.Addr()
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Host: addr, Username: "landfall", Password: "registry-secret-1", CA: ca, data: filepath.Join(dir, "data")}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(r.Username+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := ca.ServerFiles(t, dir)
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, []byte(configFor(addr, r.data, certFile, keyFile, htpasswd)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", config)
	// Tracing would try to export to a collector that is not there.
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	r.proc = child.Start(t, cmd)
	r.waitReady(t)
	return r
}

func configFor(addr, data, certFile, keyFile, htpasswd string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog: {disabled: true}
storage:
  filesystem: {rootdirectory: %q}
  delete: {enabled: true}
http:
  addr: %q
  secret: landfall-test-registry
  tls: {certificate: %q, key: %q}
auth:
  htpasswd: {realm: landfall-test, path: %q}
`, data, addr, certFile, keyFile, htpasswd)
}

// Client is an HTTPS client that trusts only the registry's CA.
func (r *Registry) Client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: r.CA.Pool(), MinVersion: tls.VersionTLS12},
	}}
}

// waitReady polls /v2/ until the registry asks for credentials (401) or takes them (200).
func (r *Registry) waitReady(t testing.TB) {
	t.Helper()
	c := r.Client()
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-r.proc.Exited():
			t.Fatalf("registry exited before it was ready:\n%s", r.Log())
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, "https://"+r.Host+"/v2/", nil)
		req.SetBasicAuth(r.Username, r.Password)
		if resp, err := c.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry not ready after %s:\n%s", StartTimeout, r.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Log is what the registry printed.
func (r *Registry) Log() string { return r.proc.Log() }

// PushChart pushes a packaged chart with `helm push` to oci://<host>/<repo>, as CI would.
func (r *Registry) PushChart(t testing.TB, tgz, repo string) {
	t.Helper()
	helm := testbin.Require(t, "helm")
	home := t.TempDir()
	caFile := filepath.Join(home, "ca.crt")
	if err := os.WriteFile(caFile, r.CA.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm, "push", tgz, "oci://"+r.Host+"/"+repo, "--ca-file", caFile,
		"--username", r.Username, "--password", r.Password)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home,
		"HELM_REGISTRY_CONFIG="+filepath.Join(home, "registry.json"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helm push %s: %v\n%s", tgz, err, out)
	}
}
