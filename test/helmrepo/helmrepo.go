// Package helmrepo serves a real Helm chart repository for tests: charts packaged by the
// helm CLI (`helm package`, built by `make testbin`) and indexed by `helm repo index`,
// served as plain files over HTTPS (a throwaway CA) with basic auth, on loopback.
package helmrepo

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/test/testbin"
	"github.com/landfall-dev/landfall/test/testca"
)

// Repo is a served chart repository.
type Repo struct {
	// URL is the repository's base URL (its index is URL/index.yaml), e.g. https://127.0.0.1:4321/charts.
	URL string
	// Dir holds the packaged charts and index.yaml.
	Dir string
	// Username and Password are the basic credentials it takes.
	Username, Password string
	// CA signed its certificate.
	CA *testca.CA

	helm     string
	requests atomic.Int64
}

// Serve starts a repository on loopback, empty until Package and Index fill it, and
// closes it when the test ends.
func Serve(t testing.TB, ca *testca.CA) *Repo {
	t.Helper()
	r := &Repo{Dir: t.TempDir(), Username: "charts", Password: "chart-secret-1", CA: ca, helm: testbin.Require(t, "helm")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.StripPrefix("/charts", r.auth(http.FileServer(http.Dir(r.Dir)))),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{ca.ServerTLS(t)}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	r.URL = "https://" + l.Addr().String() + "/charts"
	return r
}

func (r *Repo) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		u, p, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(r.Username)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(r.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// Requests is how many requests the repository answered.
func (r *Repo) Requests() int64 { return r.requests.Load() }

// Package runs `helm package CHARTDIR` into the repository and returns the archive's path.
func (r *Repo) Package(t testing.TB, chartDir string) string {
	t.Helper()
	out := r.run(t, "package", chartDir, "--destination", r.Dir)
	// "Successfully packaged chart and saved it to: /path/name-version.tgz"
	_, path, ok := strings.Cut(strings.TrimSpace(out), "saved it to: ")
	if !ok {
		t.Fatalf("helm package printed no path: %s", out)
	}
	return path
}

// Index runs `helm repo index` over the repository, with URLs relative to the index.
func (r *Repo) Index(t testing.TB) { r.IndexWith(t, nil) }

// IndexWith indexes the repository's archives as Index does, lets edit change the index
// (a hostile entry), and only then serves it: a client never sees the index as helm wrote
// it. It returns the index as helm wrote it.
func (r *Repo) IndexWith(t testing.TB, edit func([]byte) []byte) []byte {
	t.Helper()
	staging := t.TempDir()
	archives, err := filepath.Glob(filepath.Join(r.Dir, "*.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range archives {
		if err := os.Link(a, filepath.Join(staging, filepath.Base(a))); err != nil {
			t.Fatal(err)
		}
	}
	r.run(t, "repo", "index", staging)
	written, err := os.ReadFile(filepath.Join(staging, "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	served := written
	if edit != nil {
		served = edit(written)
	}
	r.Write(t, "index.yaml", served)
	return written
}

// Write puts a file into the repository as it is (a hostile archive or index), whole: it
// is written beside and renamed into place, so a request never reads half of it.
func (r *Repo) Write(t testing.TB, name string, data []byte) {
	t.Helper()
	tmp, err := os.CreateTemp(r.Dir, ".write-*")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmp.Write(data)
	if err = errors.Join(err, tmp.Chmod(0o644), tmp.Close()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(r.Dir, name)); err != nil {
		t.Fatal(err)
	}
}

// Helm is the path of the helm CLI.
func (r *Repo) Helm() string { return r.helm }

func (r *Repo) run(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(r.helm, args...)
	// helm keeps no state of its own outside the test.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
