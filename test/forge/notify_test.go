package forge

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/notify"
)

// TestForgeTarget drives Landfall's forge target against the real Gitea: commit statuses
// per environment read back through the API, and one comment per pull request, created,
// edited in place, marked removed.
func TestForgeTarget(t *testing.T) {
	g := Start(t)
	repo := g.CreateRepo(t, "web")
	repo.Commit(t, "main", "", map[string]string{"README.md": "hello\n"})
	head := repo.Commit(t, "feature", "main", map[string]string{"x.txt": "x\n"})
	n := repo.OpenPullRequest(t, "feature", "main", "a feature")
	f := &notify.Forge{Provider: notify.Gitea, Token: g.Token}
	ctx := context.Background()
	send := func(ev notify.Event) {
		t.Helper()
		ev.RepositoryURL, ev.Time = repo.CloneURL, time.Now()
		if err := f.Send(ctx, ev); err != nil {
			t.Fatalf("%s: %v", ev.Kind, err)
		}
	}

	app := notify.Object{Kind: "Application", Namespace: "team", Name: "web"}
	send(notify.Event{Kind: notify.Synced, Object: app, Environment: "staging", Commit: head, Message: "applied 2 created"})
	send(notify.Event{Kind: notify.RolledBack, Object: app, Environment: "staging", Commit: head, Message: "rolled back: Degraded"})
	send(notify.Event{Kind: notify.Promoted, Object: app, Environment: "production", Commit: head, Message: "healthy"})
	latest := map[string]Status{}
	st := repo.Statuses(t, head)
	for i := len(st) - 1; i >= 0; i-- { // newest first: the last write wins
		latest[st[i].Context] = st[i]
	}
	if s := latest["landfall/web/staging"]; s.State != "failure" || !strings.HasPrefix(s.Description, "RolledBack: rolled back") {
		t.Errorf("staging: %+v of %+v", s, st)
	}
	if s := latest["landfall/web/production"]; s.State != "success" {
		t.Errorf("production: %+v", s)
	}
	if len(st) != 3 {
		t.Errorf("%d statuses, want 3: %+v", len(st), st)
	}

	pv := notify.Object{Kind: "Preview", Namespace: "team", Name: "previews"}
	preview := func(kind notify.Kind, rev, health string) notify.Event {
		return notify.Event{Kind: kind, Object: pv, Revision: rev, Commit: head,
			Preview: &notify.Preview{Number: n, Ref: "refs/pull/1/head", Namespace: "team-pr-1", Health: health}}
	}
	send(preview(notify.PreviewUp, "r1", "Progressing"))
	send(preview(notify.PreviewUpdated, "r1", "Healthy"))
	send(preview(notify.PreviewUpdated, "r2", "Healthy"))
	cs := repo.Comments(t, n)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "`r2`") || !strings.Contains(cs[0].Body, "Healthy") {
		t.Fatalf("comments after three events: %+v", cs)
	}
	id := cs[0].ID
	send(preview(notify.PreviewRemoved, "r2", "Healthy"))
	cs = repo.Comments(t, n)
	if len(cs) != 1 || cs[0].ID != id || !strings.Contains(cs[0].Body, "removed") {
		t.Fatalf("comments after removal: %+v", cs)
	}
}
