package source_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/test/gitserver"
)

func TestRefNameValidate(t *testing.T) {
	for _, name := range []string{"refs/pull/1/head", "refs/merge-requests/12/head", "refs/heads/feature/x"} {
		if err := (source.Ref{Name: name}).Validate(); err != nil {
			t.Errorf("Validate(name %q) = %v", name, err)
		}
	}
	bad := map[string]source.Ref{
		"full name":   {Name: "pull/1/head"},
		"full name ":  {Name: "refs/tags/v1^{}"},
		"ref name":    {Name: "refs/pull/../head"},
		"exactly one": {Name: "refs/pull/1/head", Branch: "main"},
	}
	for want, r := range bad {
		err := r.Validate()
		if !errors.Is(err, source.ErrInvalidRef) || !strings.Contains(err.Error(), strings.TrimSpace(want)) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidRef mentioning %q", r, err, want)
		}
	}
}

// TestCheckoutPullRequestRef: a pull-request ref, which is neither a branch nor a tag, is
// resolved and fetched by name from a server that refuses to serve commits by hash (plain
// git http-backend), and follows the ref when it moves; a deleted ref is "not found".
func TestCheckoutPullRequestRef(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"app.yaml": "main"})
	first := srv.Commit(t, "feature", map[string]string{"app.yaml": "pr-1"})
	srv.PushRef(t, "refs/pull/1/head", first)
	c := newClient(t, source.Options{})
	ref := source.Ref{Name: "refs/pull/1/head"}

	co := checkout(t, c, srv.URL, ref, basic(srv))
	if want := "refs/pull/1/head@sha1:" + first; co.Revision.String() != want {
		t.Fatalf("revision = %s, want %s", co.Revision, want)
	}
	if got := readFile(t, co.Dir, "app.yaml"); got != "pr-1" {
		t.Fatalf("app.yaml = %q, want the pull request's content", got)
	}
	if _, err := source.ParseRevision(co.Revision.String()); err != nil {
		t.Fatalf("ParseRevision(%s): %v", co.Revision, err)
	}

	second := srv.Commit(t, "feature", map[string]string{"app.yaml": "pr-1 again"})
	srv.PushRef(t, "refs/pull/1/head", second)
	co = checkout(t, c, srv.URL, ref, basic(srv))
	if co.Revision.Commit != second || readFile(t, co.Dir, "app.yaml") != "pr-1 again" {
		t.Fatalf("after a push: %s with %q, want %s", co.Revision, readFile(t, co.Dir, "app.yaml"), second)
	}

	srv.DeleteRef(t, "refs/pull/1/head")
	if _, err := c.Check(context.Background(), srv.URL, ref, basic(srv)); !errors.Is(err, source.ErrRefNotFound) {
		t.Fatalf("Check of a deleted ref = %v, want ErrRefNotFound", err)
	}
}
