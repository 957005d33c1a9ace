package source_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/test/gitserver"
)

func newClient(t testing.TB, opts source.Options) *source.Client {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	opts.AllowHTTP = true
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	c, err := source.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func basic(s *gitserver.Server) source.Auth {
	return source.Auth{Username: s.Username, Password: s.Password}
}

func checkout(t *testing.T, c *source.Client, url string, ref source.Ref, auth source.Auth) *source.Checkout {
	t.Helper()
	co, err := c.Checkout(context.Background(), url, ref, auth)
	if err != nil {
		t.Fatalf("Checkout(%v): %v", ref, err)
	}
	t.Cleanup(func() { _ = co.Close() })
	return co
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestResolveBranchTagSemverCommit(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	c1 := srv.Commit(t, "main", map[string]string{"app.yaml": "v1"})
	srv.Tag(t, "v1.0.0", c1, true)
	c2 := srv.Commit(t, "main", map[string]string{"app.yaml": "v2", "sub/x.yaml": "x"})
	srv.Tag(t, "v1.2.0", c2, false)
	c3 := srv.Commit(t, "main", map[string]string{"app.yaml": "v3"})
	srv.Tag(t, "v2.0.0", c3, true)
	c := newClient(t, source.Options{})

	cases := []struct {
		ref       source.Ref
		rev, file string
	}{
		{source.Ref{Branch: "main"}, "main@sha1:" + c3, "v3"},
		{source.Ref{Tag: "v1.0.0"}, "v1.0.0@sha1:" + c1, "v1"},
		{source.Ref{SemVer: "^1.0.0"}, "v1.2.0@sha1:" + c2, "v2"},
		{source.Ref{SemVer: ">=2"}, "v2.0.0@sha1:" + c3, "v3"},
		{source.Ref{Commit: c1}, "sha1:" + c1, "v1"},
	}
	for _, tc := range cases {
		t.Run(tc.ref.String(), func(t *testing.T) {
			rev, err := c.Check(context.Background(), srv.URL, tc.ref, basic(srv))
			if tc.ref.Commit == "" && (err != nil || rev.String() != tc.rev) {
				t.Fatalf("Check = %v, %v; want %s", rev, err, tc.rev)
			}
			co := checkout(t, c, srv.URL, tc.ref, basic(srv))
			if co.Revision.String() != tc.rev {
				t.Errorf("Checkout revision = %s, want %s", co.Revision, tc.rev)
			}
			if got := readFile(t, co.Dir, "app.yaml"); got != tc.file {
				t.Errorf("app.yaml = %q, want %q", got, tc.file)
			}
			if _, err := os.Stat(filepath.Join(co.Dir, ".git")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("checkout has .git: %v", err)
			}
		})
	}
}

func TestMissingRefsAreNamed(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"a": "a"})
	c := newClient(t, source.Options{})
	for _, ref := range []source.Ref{
		{Branch: "nope"}, {Tag: "v9"}, {SemVer: ">=5"}, {Commit: strings.Repeat("ab", 20)},
	} {
		_, err := c.Checkout(context.Background(), srv.URL, ref, basic(srv))
		if !errors.Is(err, source.ErrRefNotFound) {
			t.Errorf("Checkout(%v) error = %v, want ErrRefNotFound", ref, err)
		}
	}
}

func TestNewPushIsSeenAndUnchangedRemoteIsNotFetched(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	first := srv.Commit(t, "main", map[string]string{"app.yaml": "one"})
	c := newClient(t, source.Options{})
	ref := source.Ref{Branch: "main"}

	co := checkout(t, c, srv.URL, ref, basic(srv))
	if co.Revision.Commit != first || srv.UploadPacks() != 1 {
		t.Fatalf("first checkout: %s, %d fetches", co.Revision, srv.UploadPacks())
	}
	// Unchanged remote: the second checkout reads the advertised refs only.
	again := checkout(t, c, srv.URL, ref, basic(srv))
	if again.Dir != co.Dir || srv.UploadPacks() != 1 {
		t.Fatalf("unchanged remote fetched again: dir %s vs %s, %d fetches", again.Dir, co.Dir, srv.UploadPacks())
	}
	if st := c.Stats(); st.Fetches != 1 || st.CacheHits != 1 || st.RemoteChecks != 2 {
		t.Errorf("stats = %+v, want 1 fetch, 1 cache hit, 2 remote checks", st)
	}

	second := srv.Commit(t, "main", map[string]string{"app.yaml": "two"})
	rev, err := c.Check(context.Background(), srv.URL, ref, basic(srv))
	if err != nil || rev.Commit != second {
		t.Fatalf("Check after push = %v, %v; want %s", rev, err, second)
	}
	if srv.UploadPacks() != 1 {
		t.Errorf("Check fetched objects: %d upload-packs", srv.UploadPacks())
	}
	co2 := checkout(t, c, srv.URL, ref, basic(srv))
	if co2.Revision.Commit != second || readFile(t, co2.Dir, "app.yaml") != "two" {
		t.Errorf("after push: %s with %q", co2.Revision, readFile(t, co2.Dir, "app.yaml"))
	}
	if readFile(t, co.Dir, "app.yaml") != "one" {
		t.Error("the older checkout changed under its lease")
	}
}

func TestWrongPasswordIsAuthenticationErrorWithoutPassword(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"a": "a"})
	c := newClient(t, source.Options{})
	const secret = "wrong-pa55word-do-not-print"
	for name, auth := range map[string]source.Auth{
		"wrong password": {Username: srv.Username, Password: secret},
		"no credentials": {},
		"wrong token":    {BearerToken: secret},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Checkout(context.Background(), srv.URL, source.Ref{Branch: "main"}, auth)
			if !errors.Is(err, source.ErrAuthentication) {
				t.Fatalf("error = %v, want ErrAuthentication", err)
			}
			if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "authentication failed") {
				t.Errorf("error message %q: want 'authentication failed' and no secret", err)
			}
		})
	}
	if srv.UploadPacks() != 0 {
		t.Errorf("refused credentials still fetched: %d", srv.UploadPacks())
	}
}

func TestBearerTokenAndCustomCA(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{TLS: true, BearerToken: "tok-123"})
	want := srv.Commit(t, "main", map[string]string{"a": "a"})
	c := newClient(t, source.Options{})
	ref := source.Ref{Branch: "main"}

	rev, err := c.Check(context.Background(), srv.URL, ref, source.Auth{BearerToken: "tok-123", CAData: srv.CAData})
	if err != nil || rev.Commit != want {
		t.Fatalf("Check with token and CA = %v, %v", rev, err)
	}
	_, err = c.Check(context.Background(), srv.URL, ref, source.Auth{BearerToken: "tok-123"})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: error = %v, want a certificate error", err)
	}
}

// The checkout names its commit's subject and author, one line each, bounded, whether it
// was fetched or leased from the cache.
func TestCheckoutNamesCommitSubjectAndAuthor(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	long := "Deploy the shop \x1b[31mred\x1b[0m " + strings.Repeat("é", 100)
	srv.CommitMessage(t, "main", map[string]string{"app.yaml": "v1"}, "\n"+long+"\n\nThe body is not shown.\n")
	c := newClient(t, source.Options{})
	fetched := checkout(t, c, srv.URL, source.Ref{Branch: "main"}, basic(srv))
	cached, ok, err := c.Cached(srv.URL, fetched.Revision)
	if err != nil || !ok {
		t.Fatalf("Cached: %v, %v", ok, err)
	}
	defer cached.Close()
	for name, co := range map[string]*source.Checkout{"fetched": fetched, "cached": cached} {
		s := co.Commit.Subject
		if !strings.HasPrefix(s, "Deploy the shop  [31mred [0m éé") || !strings.HasSuffix(s, "…") ||
			utf8.RuneCountInString(s) != source.MaxCommitSubject || strings.Contains(s, "body") {
			t.Errorf("%s: subject %q, want the first line without control characters, cut to %d characters", name, s, source.MaxCommitSubject)
		}
		if co.Commit.Author != "Landfall Test" {
			t.Errorf("%s: author %q, want the author's name alone", name, co.Commit.Author)
		}
	}
}
