package source_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/test/gitserver"
)

func TestSSHWithKeyAndKnownHosts(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{SSH: true})
	want := srv.Commit(t, "main", map[string]string{"app.yaml": "over ssh"})
	c := newClient(t, source.Options{})
	auth := source.Auth{SSHKey: srv.ClientKey, KnownHosts: srv.KnownHosts}

	co := checkout(t, c, srv.SSHURL, source.Ref{Branch: "main"}, auth)
	if co.Revision.Commit != want || readFile(t, co.Dir, "app.yaml") != "over ssh" {
		t.Fatalf("ssh checkout = %s", co.Revision)
	}

	t.Run("unknown host key is refused", func(t *testing.T) {
		bad := source.Auth{SSHKey: srv.ClientKey, KnownHosts: srv.NewKnownHostsLine(t)}
		_, err := c.Check(context.Background(), srv.SSHURL, source.Ref{Branch: "main"}, bad)
		if !errors.Is(err, source.ErrHostKey) {
			t.Fatalf("error = %v, want ErrHostKey", err)
		}
	})
	t.Run("host missing from known_hosts is refused", func(t *testing.T) {
		other := []byte("[10.9.8.7]:22 " + strings.SplitN(string(srv.KnownHosts), " ", 2)[1])
		_, err := c.Check(context.Background(), srv.SSHURL, source.Ref{Branch: "main"},
			source.Auth{SSHKey: srv.ClientKey, KnownHosts: other})
		if !errors.Is(err, source.ErrHostKey) {
			t.Fatalf("error = %v, want ErrHostKey", err)
		}
	})
	t.Run("no known_hosts is refused before dialling", func(t *testing.T) {
		_, err := c.Check(context.Background(), srv.SSHURL, source.Ref{Branch: "main"}, source.Auth{SSHKey: srv.ClientKey})
		if !errors.Is(err, source.ErrInvalidAuth) || !strings.Contains(err.Error(), "known_hosts") {
			t.Fatalf("error = %v, want ErrInvalidAuth naming known_hosts", err)
		}
	})
	t.Run("unauthorised key is an authentication error", func(t *testing.T) {
		other := gitserver.New(t, gitserver.Options{SSH: true})
		_, err := c.Check(context.Background(), srv.SSHURL, source.Ref{Branch: "main"},
			source.Auth{SSHKey: other.ClientKey, KnownHosts: srv.KnownHosts})
		if !errors.Is(err, source.ErrAuthentication) {
			t.Fatalf("error = %v, want ErrAuthentication", err)
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("error shows key material: %v", err)
		}
	})
}

func TestSymlinksLeavingTheCheckoutAreRefused(t *testing.T) {
	cases := map[string]func(dir string){
		"absolute":      func(dir string) { symlink(t, "/etc/passwd", filepath.Join(dir, "pw")) },
		"parent":        func(dir string) { symlink(t, "../../outside", filepath.Join(dir, "up")) },
		"nested parent": func(dir string) { mkdir(t, dir, "a/b"); symlink(t, "../../../x", filepath.Join(dir, "a/b/l")) },
		"into .git":     func(dir string) { symlink(t, ".git/config", filepath.Join(dir, "cfg")) },
		"chain via dot": func(dir string) {
			symlink(t, ".", filepath.Join(dir, "self"))
			symlink(t, "self/..", filepath.Join(dir, "esc"))
		},
		"chain to outside": func(dir string) {
			symlink(t, "..", filepath.Join(dir, "b"))
			symlink(t, "b/x", filepath.Join(dir, "a"))
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			srv := gitserver.New(t, gitserver.Options{})
			srv.CommitChange(t, "main", func(dir string) {
				writeFile(t, dir, "ok.yaml", "ok")
				change(dir)
			})
			c := newClient(t, source.Options{})
			_, err := c.Checkout(context.Background(), srv.URL, source.Ref{Branch: "main"}, basic(srv))
			if !errors.Is(err, source.ErrUnsafeCheckout) || !strings.Contains(err.Error(), "symlink") {
				t.Fatalf("error = %v, want ErrUnsafeCheckout naming the symlink", err)
			}
			if bytes, n := c.CacheUsage(); n != 0 {
				t.Errorf("refused checkout was cached: %d entries, %d bytes", n, bytes)
			}
		})
	}
}

func TestSymlinksInsideTheCheckoutAreAllowed(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	srv.CommitChange(t, "main", func(dir string) {
		mkdir(t, dir, "base")
		writeFile(t, dir, "base/app.yaml", "shared")
		mkdir(t, dir, "overlays/prod")
		symlink(t, "../../base/app.yaml", filepath.Join(dir, "overlays/prod/app.yaml"))
		symlink(t, "base", filepath.Join(dir, "current"))
		symlink(t, "missing-but-inside", filepath.Join(dir, "dangling"))
	})
	c := newClient(t, source.Options{})
	co := checkout(t, c, srv.URL, source.Ref{Branch: "main"}, basic(srv))
	if got := readFile(t, co.Dir, "overlays/prod/app.yaml"); got != "shared" {
		t.Errorf("linked file = %q", got)
	}
}

func TestSizeAndFileLimitsNameTheLimit(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	// Random data: the pack is as large as the files, so the fetch itself is stopped.
	srv.CommitChange(t, "random", func(dir string) {
		for i := range 20 {
			writeFile(t, dir, fmt.Sprintf("f%02d.bin", i), string(randomBytes(t, 10_000)))
		}
	})
	// Repetitive data: a tiny pack that expands past the limit on checkout.
	srv.CommitChange(t, "repetitive", func(dir string) {
		writeFile(t, dir, "big.txt", strings.Repeat("landfall ", 30_000))
	})
	cases := []struct {
		branch string
		opts   source.Options
		is     error
		names  string
	}{
		{"random", source.Options{MaxRepoBytes: 50_000}, source.ErrTooLarge, "fetched Git data exceeds 100000 bytes, twice the size limit (MaxRepoBytes=50000)"},
		{"repetitive", source.Options{MaxRepoBytes: 50_000}, source.ErrTooLarge, "checkout exceeds the size limit of 50000 bytes (MaxRepoBytes)"},
		{"random", source.Options{MaxFiles: 10}, source.ErrTooManyFiles, "file-count limit of 10 files (MaxFiles)"},
	}
	for _, tc := range cases {
		tc.opts.CacheDir = t.TempDir()
		c := newClient(t, tc.opts)
		_, err := c.Checkout(context.Background(), srv.URL, source.Ref{Branch: tc.branch}, basic(srv))
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%s with %+v: error = %v, want %v naming %q", tc.branch, tc.opts, err, tc.is, tc.names)
		}
		entries, _ := os.ReadDir(filepath.Join(tc.opts.CacheDir, "tmp"))
		if _, n := c.CacheUsage(); n != 0 || len(entries) != 0 {
			t.Errorf("refused checkout left %d cache entries, %d temporary directories", n, len(entries))
		}
	}
	c := newClient(t, source.Options{MaxRepoBytes: 300_000, MaxFiles: 20})
	co := checkout(t, c, srv.URL, source.Ref{Branch: "random"}, basic(srv))
	if entries, _ := os.ReadDir(co.Dir); len(entries) != 20 {
		t.Errorf("within limits: %d files, want 20", len(entries))
	}
}

func TestConcurrentCheckoutsOfOneCommitFetchOnce(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	want := srv.Commit(t, "main", map[string]string{"big.bin": string(randomBytes(t, 2<<20))})
	c := newClient(t, source.Options{})

	const callers = 8
	var wg sync.WaitGroup
	dirs := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			co, err := c.Checkout(context.Background(), srv.URL, source.Ref{Branch: "main"}, basic(srv))
			if err == nil {
				dirs[i] = co.Dir
				if co.Revision.Commit != want {
					err = fmt.Errorf("revision %s", co.Revision)
				}
				defer co.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if dirs[i] != dirs[0] {
			t.Errorf("caller %d got %s, caller 0 got %s", i, dirs[i], dirs[0])
		}
	}
	if n := srv.UploadPacks(); n != 1 {
		t.Errorf("server served %d fetches, want 1", n)
	}
	if st := c.Stats(); st.Fetches != 1 || st.RemoteChecks != callers {
		t.Errorf("stats = %+v, want 1 fetch and %d remote checks", st, callers)
	}
}

func TestPinnedCommitOnServerWithoutSHA1InWant(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowReachableSHA1InWant=%v", allow), func(t *testing.T) {
			srv := gitserver.New(t, gitserver.Options{AllowSHA1InWant: allow})
			old := srv.Commit(t, "main", map[string]string{"v": "old"})
			srv.Commit(t, "main", map[string]string{"v": "new"})
			c := newClient(t, source.Options{})
			co := checkout(t, c, srv.URL, source.Ref{Commit: old}, basic(srv))
			if readFile(t, co.Dir, "v") != "old" || co.Revision.String() != "sha1:"+old {
				t.Errorf("pinned checkout = %s with %q", co.Revision, readFile(t, co.Dir, "v"))
			}
		})
	}
}

func TestListRefsMatchesGlobs(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	main := srv.Commit(t, "main", map[string]string{"a": "a"})
	pr1 := srv.Commit(t, "feature-1", map[string]string{"a": "pr1"})
	pr2 := srv.Commit(t, "feature-2", map[string]string{"a": "pr2"})
	srv.PushRef(t, "refs/pull/1/head", pr1)
	srv.PushRef(t, "refs/pull/2/head", pr2)
	srv.PushRef(t, "refs/pull/2/merge", main)
	srv.Tag(t, "v1.0.0", main, true)
	c := newClient(t, source.Options{})

	got, err := c.ListRefs(context.Background(), srv.URL, []string{"refs/pull/*/head", "refs/tags/*"}, basic(srv))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"refs/pull/1/head": pr1, "refs/pull/2/head": pr2, "refs/tags/v1.0.0": main}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ListRefs = %v, want %v", got, want)
	}
	srv.DeleteRef(t, "refs/pull/1/head")
	got, err = c.ListRefs(context.Background(), srv.URL, []string{"refs/pull/*/head"}, basic(srv))
	if err != nil || len(got) != 1 || got["refs/pull/2/head"] != pr2 {
		t.Errorf("after delete: %v, %v", got, err)
	}
}

func TestURLsAreCheckedBeforeDialling(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	c, err := source.New(source.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{srv.URL, "file:///etc", "ext::sh -c id", "ssh://-oProxyCommand=id/x", "/srv/repo.git"} {
		_, err := c.Check(context.Background(), url, source.Ref{Branch: "main"}, source.Auth{})
		if !errors.Is(err, source.ErrInvalidURL) {
			t.Errorf("Check(%q) error = %v, want ErrInvalidURL", url, err)
		}
	}
	if srv.Advertisements() != 0 {
		t.Errorf("refused URL reached the server %d times", srv.Advertisements())
	}
}

func TestCacheEvictsLeastRecentlyUsedUnleasedCheckouts(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	var commits []string
	for i := range 3 {
		commits = append(commits, srv.Commit(t, "main", map[string]string{"f": strings.Repeat("x", 1000*(i+1))}))
	}
	c := newClient(t, source.Options{MaxCacheEntries: 2})
	var dirs []string
	for _, commit := range commits {
		co, err := c.Checkout(context.Background(), srv.URL, source.Ref{Commit: commit}, basic(srv))
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, co.Dir)
		if commit == commits[0] {
			defer co.Close() // kept leased: never evicted while in use
			continue
		}
		co.Close()
	}
	_, n := c.CacheUsage()
	if n != 2 {
		t.Errorf("cache has %d entries, want 2", n)
	}
	for i, want := range []bool{true, false, true} {
		_, err := os.Stat(dirs[i])
		if got := err == nil; got != want {
			t.Errorf("checkout %d present = %v, want %v (leased first, evicted second)", i, got, want)
		}
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRemoteOperationsHaveADeadline(t *testing.T) {
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	c := newClient(t, source.Options{Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = c.Check(context.Background(), "http://"+l.Addr().String()+"/repo.git", source.Ref{Branch: "main"}, source.Auth{})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("error = %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("Check took %v despite a 300ms timeout", elapsed)
	}
}
