package forge

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Repo is a repository of Admin on the forge, with a local clone to commit in.
type Repo struct {
	g     *Gitea
	Owner string
	Name  string
	// CloneURL is the repository's HTTP clone URL, as Gitea advertises it.
	CloneURL string
	work     string
}

// CreateRepo creates an empty repository through the API, its default branch main.
func (g *Gitea) CreateRepo(t testing.TB, name string) *Repo {
	t.Helper()
	var out struct {
		CloneURL string `json:"clone_url"`
		Owner    struct {
			Login string `json:"login"`
		} `json:"owner"`
	}
	g.API(t, http.MethodPost, "/user/repos", map[string]any{"name": name, "private": true, "default_branch": "main"}, &out)
	r := &Repo{g: g, Owner: out.Owner.Login, Name: name, CloneURL: out.CloneURL, work: t.TempDir()}
	r.git(t, "init", "--quiet", "--initial-branch=main")
	r.git(t, "config", "user.name", "Landfall Test")
	r.git(t, "config", "user.email", "test@example.invalid")
	u, err := url.Parse(out.CloneURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(Admin, g.Token)
	r.git(t, "remote", "add", "origin", u.String())
	return r
}

// Commit writes files (path → content) on top of branch (a new branch starts from base, or
// empty when base is ""), commits, pushes with git over HTTP with the token and returns the
// new commit.
func (r *Repo) Commit(t testing.TB, branch, base string, files map[string]string) string {
	t.Helper()
	switch {
	case r.remoteHas(branch):
		r.git(t, "fetch", "--quiet", "origin", "refs/heads/"+branch)
		r.git(t, "checkout", "--quiet", "--force", "-B", branch, "FETCH_HEAD")
	case base != "":
		r.git(t, "fetch", "--quiet", "origin", "refs/heads/"+base)
		r.git(t, "checkout", "--quiet", "--force", "-B", branch, "FETCH_HEAD")
	default:
		r.git(t, "checkout", "--quiet", "--force", "--orphan", branch)
		r.git(t, "rm", "-r", "--quiet", "--force", "--ignore-unmatch", ".")
	}
	for p, content := range files {
		full := filepath.Join(r.work, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.git(t, "add", "--all")
	r.git(t, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", "change on "+branch)
	r.git(t, "push", "--quiet", "--force", "origin", "HEAD:refs/heads/"+branch)
	return r.git(t, "rev-parse", "HEAD")
}

func (r *Repo) remoteHas(branch string) bool {
	cmd := exec.Command("git", "-C", r.work, "ls-remote", "--exit-code", "origin", "refs/heads/"+branch)
	cmd.Env = r.env()
	return cmd.Run() == nil
}

func (r *Repo) env() []string {
	return append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "HOME="+r.work)
}

func (r *Repo) git(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.work}, args...)...)
	cmd.Env = r.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("forge: git %s: %v\n%s", args[0], err, strings.ReplaceAll(string(out), r.g.Token, "<token>"))
	}
	return strings.TrimSpace(string(out))
}

func (r *Repo) path(format string, args ...any) string {
	return fmt.Sprintf("/repos/%s/%s", r.Owner, r.Name) + fmt.Sprintf(format, args...)
}

// AddWebhook makes Gitea send push and pull-request events, signed with secret, to target.
func (r *Repo) AddWebhook(t testing.TB, target, secret string) {
	t.Helper()
	r.g.API(t, http.MethodPost, r.path("/hooks"), map[string]any{
		"type":   "gitea",
		"active": true,
		"events": []string{"push", "pull_request", "pull_request_sync"},
		"config": map[string]string{"url": target, "content_type": "json", "secret": secret},
	}, nil)
}

// OpenPullRequest opens a pull request of head into base and returns its number.
func (r *Repo) OpenPullRequest(t testing.TB, head, base, title string) int64 {
	t.Helper()
	var out struct {
		Number int64 `json:"number"`
	}
	r.g.API(t, http.MethodPost, r.path("/pulls"), map[string]any{"head": head, "base": base, "title": title}, &out)
	return out.Number
}

// ClosePullRequest closes a pull request without merging it.
func (r *Repo) ClosePullRequest(t testing.TB, number int64) {
	t.Helper()
	r.g.API(t, http.MethodPatch, r.path("/pulls/%d", number), map[string]any{"state": "closed"}, nil)
}

// Comment is a comment on an issue or pull request.
type Comment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	User struct {
		Login string `json:"login"`
	} `json:"user"`
}

// Comments lists the comments of a pull request, oldest first.
func (r *Repo) Comments(t testing.TB, number int64) []Comment {
	t.Helper()
	var out []Comment
	r.g.API(t, http.MethodGet, r.path("/issues/%d/comments", number), nil, &out)
	return out
}

// Status is one commit status.
type Status struct {
	ID          int64  `json:"id"`
	Context     string `json:"context"`
	State       string `json:"status"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url"`
}

// Statuses lists the statuses of a commit, newest first (every one, not only the latest of
// each context).
func (r *Repo) Statuses(t testing.TB, sha string) []Status {
	t.Helper()
	var out []Status
	r.g.API(t, http.MethodGet, r.path("/statuses/%s?limit=50", sha), nil, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}
