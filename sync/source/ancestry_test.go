package source_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/test/gitserver"
)

func descends(t *testing.T, c *source.Client, srv *gitserver.Server, ref source.Ref, ancestor, commit string) bool {
	t.Helper()
	ok, err := c.Descends(context.Background(), srv.URL, ref, basic(srv), ancestor, commit)
	if err != nil {
		t.Fatalf("Descends(%s, %s): %v", ancestor, commit, err)
	}
	return ok
}

// TestDescendsTellsFastForwardsFromRewinds: pushes on top descend, however many; a branch
// force-pushed back, a branch rewritten and a tag moved to another line do not.
func TestDescendsTellsFastForwardsFromRewinds(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	main := source.Ref{Branch: "main"}
	a := srv.Commit(t, "main", map[string]string{"app.yaml": "a"})
	b := srv.Commit(t, "main", map[string]string{"app.yaml": "b"})
	c := newClient(t, source.Options{})

	if !descends(t, c, srv, main, a, b) {
		t.Error("one commit pushed on top: not a descendant")
	}
	// With the new commit's checkout cached, its kept parent answers without a fetch.
	checkout(t, c, srv.URL, main, basic(srv))
	fetches := srv.UploadPacks()
	if !descends(t, c, srv, main, a, b) || srv.UploadPacks() != fetches {
		t.Errorf("the cached commit's parent was not used (%d fetches)", srv.UploadPacks()-fetches)
	}

	var head string
	for i := range 40 { // deeper than the first depth fetched
		head = srv.Commit(t, "main", map[string]string{"app.yaml": fmt.Sprint(i)})
	}
	if !descends(t, c, srv, main, a, head) {
		t.Error("40 commits pushed on top: not a descendant")
	}

	srv.PushRef(t, "refs/heads/main", a) // force-push: main rewound to a
	if descends(t, c, srv, main, head, a) {
		t.Error("a rewind to an ancestor counts as a descendant")
	}
	rewritten := srv.Commit(t, "main", map[string]string{"app.yaml": "rewritten"}) // on top of a
	if descends(t, c, srv, main, head, rewritten) {
		t.Error("a rewritten branch counts as a descendant")
	}
	if !descends(t, c, srv, main, a, rewritten) {
		t.Error("the rewritten branch does descend from a")
	}

	srv.Tag(t, "v1", head, false)
	srv.Tag(t, "v1", rewritten, false) // moved
	if descends(t, c, srv, source.Ref{Tag: "v1"}, head, rewritten) {
		t.Error("a tag moved to another line counts as a descendant")
	}
}

func TestRefSelects(t *testing.T) {
	cases := []struct {
		ref  source.Ref
		rev  string
		want bool
	}{
		{source.Ref{Branch: "main"}, "main", true},
		{source.Ref{Branch: "main"}, "release", false},
		{source.Ref{Tag: "v1"}, "v1", true},
		{source.Ref{SemVer: "^1.0.0"}, "v1.4.0", true},
		{source.Ref{SemVer: "^2.0.0"}, "v1.4.0", false},
		{source.Ref{Name: "refs/pull/1/head"}, "refs/pull/1/head", true},
		{source.Ref{Commit: "4f2c9e0000000000000000000000000000000001"}, "", false},
	}
	for _, tc := range cases {
		if got := tc.ref.Selects(source.Revision{Ref: tc.rev}); got != tc.want {
			t.Errorf("%s selects %q = %v, want %v", tc.ref, tc.rev, got, tc.want)
		}
	}
}
