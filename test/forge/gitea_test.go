package forge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestGitea: the harness's Gitea takes a git push over HTTP with the token, opens a pull
// request through its API, sends its own signed pull_request webhook to a loopback
// receiver, and stores a commit status that reads back.
func TestGitea(t *testing.T) {
	g := Start(t)
	secret := "hook-secret"
	hooks := make(chan string, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if r.Header.Get("X-Gitea-Signature") != hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p struct {
			Action string `json:"action"`
		}
		_ = json.Unmarshal(body, &p)
		hooks <- r.Header.Get("X-Gitea-Event") + "/" + p.Action
	}))
	t.Cleanup(recv.Close)

	repo := g.CreateRepo(t, "app")
	main := repo.Commit(t, "main", "", map[string]string{"README.md": "hello\n"})
	repo.AddWebhook(t, recv.URL, secret)
	head := repo.Commit(t, "feature", "main", map[string]string{"x.txt": "x\n"})
	if head == main {
		t.Fatal("the branch has no commit of its own")
	}
	n := repo.OpenPullRequest(t, "feature", "main", "a feature")
	waitHook(t, hooks, "pull_request/opened")
	g.API(t, http.MethodPost, repo.path("/statuses/%s", head), map[string]string{
		"state": "pending", "context": "landfall/staging", "description": "rolling out",
	}, nil)
	st := repo.Statuses(t, head)
	if len(st) != 1 || st[0].Context != "landfall/staging" || st[0].State != "pending" {
		t.Fatalf("statuses: %+v", st)
	}
	repo.ClosePullRequest(t, n)
	waitHook(t, hooks, "pull_request/closed")
}

func waitHook(t *testing.T, hooks <-chan string, want string) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	var seen []string
	for {
		select {
		case h := <-hooks:
			if h == want {
				return
			}
			seen = append(seen, h)
		case <-deadline:
			t.Fatalf("no %s webhook from gitea; got %v", want, seen)
		}
	}
}
