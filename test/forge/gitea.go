// Package forge runs a real Git forge for tests: Gitea, built from its Go module by `make
// testbin` (test/tools/gitea, hack/gitea.sh), as a child process on a free loopback port
// with its own app.ini, SQLite database and repositories in a temporary directory. Start
// makes a throwaway admin with Gitea's own `admin user create`, then a token through the
// API; the rest (repositories, pull requests, webhooks, comments, commit statuses) goes
// through the API as a person's tools would.
package forge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/test/child"
	"github.com/landfall-dev/landfall/test/ports"
	"github.com/landfall-dev/landfall/test/testbin"
)

// GiteaVersion is the Gitea that hack/gitea.sh builds (test/tools/gitea/go.mod).
const GiteaVersion = "v1.27.3"

// StartTimeout bounds how long Start waits for Gitea to answer.
const StartTimeout = 3 * time.Minute

// Admin is the throwaway administrator Start creates.
const Admin = "landfall-admin"

// Gitea is a running Gitea.
type Gitea struct {
	// URL is the base URL, e.g. http://127.0.0.1:24123 (no trailing slash).
	URL string
	// Token is an access token of Admin with every scope.
	Token    string
	password string
	dir      string
	bin      string
}

// Dir returns the folder hack/gitea.sh builds Gitea into.
func Dir() string { return filepath.Join(testbin.Dir(), "gitea-"+GiteaVersion) }

// Start runs Gitea and stops it (by its PID) when the test ends. A missing build fails under
// CI and skips elsewhere, as testbin.Require does.
func Start(t testing.TB) *Gitea {
	t.Helper()
	bin := testbin.Require(t, filepath.Join("gitea-"+GiteaVersion, "gitea"))
	dir := t.TempDir()
	port, err := ports.Port()
	if err != nil {
		t.Fatal(err)
	}
	g := &Gitea{URL: "http://127.0.0.1:" + strconv.Itoa(port), password: randomHex(t, 16), dir: dir, bin: bin}
	if err := os.WriteFile(g.config(), []byte(appINI(dir, port, randomHex(t, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	// The database and the admin first, so the server starts on a database that is ready
	// and no two processes migrate it at once.
	g.run(t, "migrate")
	g.run(t, "admin", "user", "create", "--username", Admin, "--password", g.password,
		"--email", Admin+"@example.invalid", "--admin", "--must-change-password=false")
	cmd := exec.Command(bin, "--config", g.config(), "--work-path", dir, "web", "--quiet")
	cmd.Dir, cmd.Env = dir, g.env()
	g.waitReady(t, child.Start(t, cmd))
	g.Token = g.createToken(t)
	return g
}

func (g *Gitea) config() string { return filepath.Join(g.dir, "app.ini") }

// env runs Gitea with a home of its own, so it never reads the user's Git configuration.
func (g *Gitea) env() []string {
	return []string{"HOME=" + g.dir, "PATH=" + os.Getenv("PATH"), "GITEA_WORK_DIR=" + g.dir, "USER=root"}
}

// run runs a Gitea command against the test's app.ini.
func (g *Gitea) run(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(g.bin, append([]string{"--config", g.config(), "--work-path", g.dir}, args...)...)
	cmd.Dir, cmd.Env = g.dir, g.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gitea %s: %v\n%s", args[0], err, out)
	}
	return string(out)
}

// appINI is the whole configuration: SQLite, no mailer, no SSH, no front-end, nothing
// reached outside the machine; webhooks may go to loopback, where the tests listen.
func appINI(dir string, port int, secret string) string {
	return fmt.Sprintf(`APP_NAME = landfall-test
RUN_MODE = prod
WORK_PATH = %[1]s
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]d
ROOT_URL = http://127.0.0.1:%[2]d/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
STATIC_ROOT_PATH = %[4]s
APP_DATA_PATH = %[1]s/data

[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = %[1]s/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = %[3]s
INTERNAL_TOKEN = %[3]s
PASSWORD_HASH_ALGO = pbkdf2$1000$32
ALLOWED_HOST_LIST = loopback

[service]
DISABLE_REGISTRATION = true

[mailer]
ENABLED = false

[webhook]
DELIVER_TIMEOUT = 10

[queue]
TYPE = channel

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[actions]
ENABLED = false

[packages]
ENABLED = false

[oauth2]
ENABLED = false

[log]
MODE = console
LEVEL = warn
ROOT_PATH = %[1]s/log
`, dir, port, secret, Dir())
}

// waitReady polls the API until it answers, failing with Gitea's output if it exits first.
func (g *Gitea) waitReady(t testing.TB, p *child.Process) {
	t.Helper()
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-p.Exited():
			t.Fatalf("gitea exited before it was ready:\n%s", p.Log())
		default:
		}
		if resp, err := http.Get(g.URL + "/api/v1/version"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitea not ready after %s:\n%s", StartTimeout, p.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createToken makes an access token of every scope for Admin, with its password.
func (g *Gitea) createToken(t testing.TB) string {
	t.Helper()
	var tok struct {
		SHA1 string `json:"sha1"`
	}
	body := map[string]any{"name": "landfall-test", "scopes": []string{"all"}}
	g.do(t, http.MethodPost, "/api/v1/users/"+Admin+"/tokens", body, &tok, func(r *http.Request) {
		r.SetBasicAuth(Admin, g.password)
	})
	if tok.SHA1 == "" {
		t.Fatal("gitea returned an empty token")
	}
	return tok.SHA1
}

// API sends a JSON request with the admin token and decodes the JSON answer into out
// (when not nil). A status of 300 or more fails the test with Gitea's answer.
func (g *Gitea) API(t testing.TB, method, path string, in, out any) {
	t.Helper()
	g.do(t, method, "/api/v1"+path, in, out, func(r *http.Request) { r.Header.Set("Authorization", "token "+g.Token) })
}

func (g *Gitea) do(t testing.TB, method, path string, in, out any, auth func(*http.Request)) {
	t.Helper()
	code, body, err := g.send(method, path, in, auth)
	if err != nil {
		t.Fatalf("gitea %s %s: %v", method, path, err)
	}
	if code >= 300 {
		t.Fatalf("gitea %s %s: %d %s", method, path, code, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("gitea %s %s: decoding %s: %v", method, path, body, err)
		}
	}
}

func (g *Gitea) send(method, path string, in any, auth func(*http.Request)) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.URL+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b, err
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
