package source_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// tamperings are the ways a cache directory can stop being its commit: each is applied to
// a fresh checkout of integrityFiles.
var tamperings = map[string]func(t *testing.T, dir string){
	"file changed": func(t *testing.T, dir string) { write(t, filepath.Join(dir, "app.yaml"), "kind: Secret") },
	"file added":   func(t *testing.T, dir string) { write(t, filepath.Join(dir, "sub", "planted.yaml"), "kind: Pod") },
	"file removed": func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "sub", "x.yaml"))) },
	"made executable": func(t *testing.T, dir string) {
		must(t, os.Chmod(filepath.Join(dir, "app.yaml"), 0o755))
	},
	"symlink retargeted": func(t *testing.T, dir string) {
		must(t, os.Remove(filepath.Join(dir, "link.yaml")))
		must(t, os.Symlink("sub/y.yaml", filepath.Join(dir, "link.yaml")))
	},
	"empty directory added": func(t *testing.T, dir string) { must(t, os.Mkdir(filepath.Join(dir, "new"), 0o755)) },
	"same size, same mtime": func(t *testing.T, dir string) {
		// Content swapped in place with the timestamps restored: only ctime and the
		// content tell.
		p := filepath.Join(dir, "app.yaml")
		fi, err := os.Stat(p)
		must(t, err)
		write(t, p, strings.Repeat("X", int(fi.Size())))
		must(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	},
	"kept objects damaged": func(t *testing.T, dir string) {
		write(t, dir+".objects", "tree 0\x00")
	},
}

var integrityFiles = map[string]string{"app.yaml": "kind: ConfigMap", "sub/x.yaml": "x", "sub/y.yaml": "y"}

// integrityRepo is a server whose main has integrityFiles, a symlink and an executable.
func integrityRepo(t *testing.T) (*gitserver.Server, string) {
	srv := gitserver.New(t, gitserver.Options{})
	commit := srv.CommitChange(t, "main", func(dir string) {
		for name, content := range integrityFiles {
			write(t, filepath.Join(dir, filepath.FromSlash(name)), content)
		}
		must(t, os.Symlink("sub/x.yaml", filepath.Join(dir, "link.yaml")))
		write(t, filepath.Join(dir, "run.sh"), "#!/bin/sh\n")
		must(t, os.Chmod(filepath.Join(dir, "run.sh"), 0o755))
	})
	return srv, commit
}

// TestTamperedCheckoutIsNeverServed changes a cached checkout on disk in each way, then
// asks for the same commit as a new consumer would (Cached) and as a restarted process
// would (a new Client on the same cache directory): the tampered checkout is refused,
// discarded and fetched again.
func TestTamperedCheckoutIsNeverServed(t *testing.T) {
	srv, commit := integrityRepo(t)
	ref := source.Ref{Branch: "main"}
	rev := source.Revision{Ref: "main", Commit: commit}
	for name, tamper := range tamperings {
		t.Run(name, func(t *testing.T) {
			for _, restart := range []bool{false, true} {
				dir := t.TempDir()
				c := newClient(t, source.Options{CacheDir: dir})
				co := checkout(t, c, srv.URL, ref, basic(srv))
				cachedDir := co.Dir
				must(t, co.Close())
				tamper(t, cachedDir)
				if restart {
					c = newClient(t, source.Options{CacheDir: dir})
				}
				_, ok, err := c.Cached(srv.URL, rev)
				if ok || !errors.Is(err, source.ErrCheckoutMismatch) {
					t.Fatalf("restart=%v: Cached of a tampered checkout = %v, %v; want ErrCheckoutMismatch", restart, ok, err)
				}
				if _, ok, err := c.Cached(srv.URL, rev); ok || err != nil {
					t.Fatalf("restart=%v: the tampered entry was not discarded: %v, %v", restart, ok, err)
				}
				fetches := srv.UploadPacks()
				co = checkout(t, c, srv.URL, ref, basic(srv))
				if srv.UploadPacks() == fetches {
					t.Errorf("restart=%v: the commit was not fetched again", restart)
				}
				expectPristine(t, co.Dir)
				if st := c.Stats(); st.VerifyFailures != 1 {
					t.Errorf("restart=%v: VerifyFailures = %d, want 1", restart, st.VerifyFailures)
				}
			}
		})
	}
}

// TestCheckoutReportsTheReplacedEntry: Checkout itself notices a tampered entry, fetches
// the commit again and says what it replaced, so the caller can report it.
func TestCheckoutReportsTheReplacedEntry(t *testing.T) {
	srv, _ := integrityRepo(t)
	c := newClient(t, source.Options{})
	ref := source.Ref{Branch: "main"}
	co := checkout(t, c, srv.URL, ref, basic(srv))
	if co.Replaced != nil {
		t.Fatalf("a fresh fetch reports a replacement: %v", co.Replaced)
	}
	dir := co.Dir
	must(t, co.Close())
	write(t, filepath.Join(dir, "app.yaml"), "kind: Secret")

	co = checkout(t, c, srv.URL, ref, basic(srv))
	if !errors.Is(co.Replaced, source.ErrCheckoutMismatch) || !strings.Contains(co.Replaced.Error(), "app.yaml") {
		t.Fatalf("Replaced = %v; want ErrCheckoutMismatch naming app.yaml", co.Replaced)
	}
	expectPristine(t, co.Dir)
	// A verified entry is served again without a full verification while it is unchanged.
	before := c.Stats().Verifications
	must(t, co.Close())
	co = checkout(t, c, srv.URL, ref, basic(srv))
	if co.Replaced != nil || c.Stats().Verifications != before {
		t.Errorf("an unchanged entry was verified again (%d → %d) or replaced (%v)", before, c.Stats().Verifications, co.Replaced)
	}
}

// TestTouchedCheckoutStillServes: metadata that changed without the content changing (a
// backup tool touching files) costs a full verification, not a refetch.
func TestTouchedCheckoutStillServes(t *testing.T) {
	srv, commit := integrityRepo(t)
	c := newClient(t, source.Options{})
	co := checkout(t, c, srv.URL, source.Ref{Branch: "main"}, basic(srv))
	dir := co.Dir
	must(t, co.Close())
	must(t, os.Chtimes(filepath.Join(dir, "app.yaml"), oldTime, oldTime))
	co, ok, err := c.Cached(srv.URL, source.Revision{Ref: "main", Commit: commit})
	if !ok || err != nil {
		t.Fatalf("Cached after a touch = %v, %v", ok, err)
	}
	must(t, co.Close())
	if st := c.Stats(); st.VerifyFailures != 0 || st.Verifications != 2 {
		t.Errorf("stats %+v: want 2 verifications (fetch, after the touch) and no failure", st)
	}
}

func expectPristine(t *testing.T, dir string) {
	t.Helper()
	for name, content := range integrityFiles {
		if got := readFile(t, dir, name); got != content {
			t.Errorf("%s = %q after the refetch, want %q", name, got, content)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "planted.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the planted file survived the refetch: %v", err)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(content), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var oldTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
