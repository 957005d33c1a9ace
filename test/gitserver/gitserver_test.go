package gitserver_test

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/test/gitserver"
)

// gitCLI runs the real git client against the server, in a clean environment.
func gitCLI(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func withCredentials(raw, user, pass string) string {
	u, _ := url.Parse(raw)
	u.User = url.UserPassword(user, pass)
	return u.String()
}

func TestHTTPServesRefsWithBasicAuth(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{Username: "alice", Password: "pw-1"})
	main := srv.Commit(t, "main", map[string]string{"a.txt": "hello"})
	srv.PushRef(t, "refs/pull/1/head", main)
	srv.Tag(t, "v1", main, true)

	out, err := gitCLI(t, nil, "ls-remote", withCredentials(srv.URL, "alice", "pw-1"))
	if err != nil {
		t.Fatalf("ls-remote: %v\n%s", err, out)
	}
	for _, want := range []string{main + "\trefs/heads/main", main + "\trefs/pull/1/head", "refs/tags/v1^{}"} {
		if !strings.Contains(out, want) {
			t.Errorf("ls-remote output lacks %q:\n%s", want, out)
		}
	}
	if srv.Advertisements() < 1 || srv.UploadPacks() != 0 {
		t.Errorf("counters: %d advertisements, %d upload-packs", srv.Advertisements(), srv.UploadPacks())
	}
	if out, err := gitCLI(t, nil, "ls-remote", withCredentials(srv.URL, "alice", "wrong")); err == nil {
		t.Errorf("wrong password accepted:\n%s", out)
	}

	srv.DeleteRef(t, "refs/pull/1/head")
	if got := srv.Head(t, "refs/pull/1/head"); got != "" {
		t.Errorf("deleted ref still points to %s", got)
	}
}

func TestSSHServesTheRepositoryToTheClientKey(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{SSH: true})
	want := srv.Commit(t, "main", map[string]string{"a.txt": "over ssh"})
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(key, srv.ClientKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(known, srv.KnownHosts, 0o600); err != nil {
		t.Fatal(err)
	}
	ssh := "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes" +
		" -o UserKnownHostsFile=" + known + " -i " + key
	clone := filepath.Join(dir, "clone")
	if out, err := gitCLI(t, []string{"GIT_SSH_COMMAND=" + ssh}, "clone", "--quiet", srv.SSHURL, clone); err != nil {
		t.Fatalf("git clone over ssh: %v\n%s", err, out)
	}
	if got, _ := gitCLI(t, nil, "-C", clone, "rev-parse", "HEAD"); got != want {
		t.Errorf("cloned HEAD = %s, want %s", got, want)
	}
	if srv.UploadPacks() != 0 {
		t.Error("an SSH fetch was counted as an HTTP upload-pack")
	}
}
