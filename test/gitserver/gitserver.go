// Package gitserver runs a real Git server on loopback for tests: one bare repository
// served over smart HTTP by git http-backend (through net/http/cgi, with basic or bearer
// auth) and, on request, over SSH by a real sshd child process. Helpers commit files and
// push with the git CLI from a work clone, push and delete arbitrary refs, and count the
// requests the server answered, so tests can tell a remote check from a fetch.
//
// It needs git and, for SSH, openssh-server (hack/install-test-deps.sh installs both).
// Everything stops on the test's Cleanup. It works with *testing.T and *testing.B.
package gitserver

import (
	"bytes"
	"crypto/subtle"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// TB is the part of testing.TB the server needs, so programs that are not tests (the demo)
// can run one too.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// Options configure a Server.
type Options struct {
	// Username and Password are the basic-auth credentials the HTTP server requires.
	// Defaults: "landfall" and "test-password".
	Username, Password string
	// BearerToken, when set, is accepted as an alternative to basic auth.
	BearerToken string
	// Anonymous serves HTTP without any authentication.
	Anonymous bool
	// TLS serves HTTPS with a self-signed certificate (see Server.CAData).
	TLS bool
	// SSH also starts sshd on loopback.
	SSH bool
	// AllowSHA1InWant lets clients fetch any reachable commit by hash
	// (uploadpack.allowReachableSHA1InWant), as GitHub and GitLab do.
	AllowSHA1InWant bool
}

// Server is a running Git server with one repository.
type Server struct {
	// URL is the repository's HTTP(S) URL, without credentials.
	URL string
	// Username, Password and BearerToken are the accepted HTTP credentials.
	Username, Password, BearerToken string
	// CAData is the PEM certificate of the HTTPS server when Options.TLS is set.
	CAData []byte
	// SSHURL is the repository's ssh:// URL when Options.SSH is set.
	SSHURL string
	// ClientKey is a PEM private key sshd accepts; KnownHosts holds a known_hosts line
	// for the server's host key.
	ClientKey, KnownHosts []byte
	// BareDir is the path of the bare repository.
	BareDir string

	work           string
	env            []string
	down           atomic.Bool
	uploadPacks    atomic.Int64
	advertisements atomic.Int64
}

// New starts a server with an empty repository; it stops when tb's test ends.
func New(tb TB, opts Options) *Server {
	tb.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		tb.Fatalf("gitserver: git not found (run hack/install-test-deps.sh): %v", err)
	}
	root := tb.TempDir()
	s := &Server{BareDir: filepath.Join(root, "repo.git"), work: filepath.Join(root, "work"),
		Username: or(opts.Username, "landfall"), Password: or(opts.Password, "test-password"),
		BearerToken: opts.BearerToken}
	home := filepath.Join(root, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		tb.Fatal(err)
	}
	// A private HOME and no system config keep the tester's git settings out.
	s.env = append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Landfall Test", "GIT_AUTHOR_EMAIL=test@landfall.invalid",
		"GIT_COMMITTER_NAME=Landfall Test", "GIT_COMMITTER_EMAIL=test@landfall.invalid",
		"GIT_TERMINAL_PROMPT=0")
	s.git(tb, root, "init", "--quiet", "--bare", "--initial-branch=main", s.BareDir)
	s.git(tb, root, "init", "--quiet", "--initial-branch=main", s.work)
	s.git(tb, s.work, "remote", "add", "origin", s.BareDir)
	if opts.AllowSHA1InWant {
		s.git(tb, s.BareDir, "config", "uploadpack.allowReachableSHA1InWant", "true")
	}
	s.serveHTTP(tb, root, opts)
	if opts.SSH {
		s.startSSH(tb, root)
	}
	return s
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// SetDown makes the HTTP server answer every request with 503 (down=true), as an
// unreachable Git host would fail a fetch, or serve again (down=false).
func (s *Server) SetDown(down bool) { s.down.Store(down) }

// UploadPacks counts the fetches served (POST git-upload-pack but protocol v2 ls-refs),
// the costly requests.
func (s *Server) UploadPacks() int64 { return s.uploadPacks.Load() }

// Advertisements counts the ref listings served (GET info/refs, and protocol v2 ls-refs),
// the cheap requests a remote check makes.
func (s *Server) Advertisements() int64 { return s.advertisements.Load() }

func (s *Server) serveHTTP(tb TB, root string, opts Options) {
	tb.Helper()
	exe, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		tb.Fatalf("gitserver: git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(exe)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
		// Clients that stop reading (a refused fetch over a size limit) are expected.
		Logger: quiet,
		Stderr: io.Discard,
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		if !opts.Anonymous && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="gitserver"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		s.count(r)
		backend.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ErrorLog = quiet
	if opts.TLS {
		srv.StartTLS()
		s.CAData = certPEM(srv.Certificate().Raw)
	} else {
		srv.Start()
	}
	tb.Cleanup(srv.Close)
	s.URL = srv.URL + "/repo.git"
}

// count tells ref advertisements from fetches. Protocol v2 clients (the git CLI) list refs
// with a POST "command=ls-refs", which is an advertisement, not a fetch.
func (s *Server) count(r *http.Request) {
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
		s.advertisements.Add(1)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Header.Get("Content-Encoding") == "" && bytes.Contains(body, []byte("command=ls-refs")) {
			s.advertisements.Add(1)
			return
		}
		s.uploadPacks.Add(1)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	if user, pass, ok := r.BasicAuth(); ok {
		return subtle.ConstantTimeCompare([]byte(user), []byte(s.Username)) == 1 &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.Password)) == 1
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.BearerToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.BearerToken)) == 1
}

// quiet drops server logs: tests assert on client results, and a client refused on
// purpose (bad certificate, size limit) makes the server log noise.
var quiet = log.New(io.Discard, "", 0)

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
