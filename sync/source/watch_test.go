package source_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// TestWatchedCheckoutIsLeasedWithoutWalking: leases of a verified, untouched checkout
// compare no metadata (the walk that made a fleet's sync quadratic), and a change made
// after them is still refused by the very next lease, in every way tamperings lists.
func TestWatchedCheckoutIsLeasedWithoutWalking(t *testing.T) {
	defer source.SetMetadataRecheck(time.Hour)()
	srv, commit := integrityRepo(t)
	rev := source.Revision{Ref: "main", Commit: commit}
	for name, tamper := range tamperings {
		t.Run(name, func(t *testing.T) {
			c, dir := verifiedCheckout(t, srv)
			walks := c.Stats().MetadataComparisons
			for range 20 {
				lease(t, c, srv.URL, rev)
			}
			if got := c.Stats().MetadataComparisons; got != walks {
				t.Fatalf("20 leases of an untouched checkout compared its metadata %d times, want 0", got-walks)
			}
			tamper(t, dir)
			expectRefused(t, c, srv.URL, rev)
		})
	}
}

// TestUnwatchedCheckoutComparesEveryLease: without watches (the budget spent, or no
// inotify) each lease compares the metadata, and every tampering is refused.
func TestUnwatchedCheckoutComparesEveryLease(t *testing.T) {
	defer source.SetMaxWatches(0)()
	srv, commit := integrityRepo(t)
	rev := source.Revision{Ref: "main", Commit: commit}
	for name, tamper := range tamperings {
		t.Run(name, func(t *testing.T) {
			c, dir := verifiedCheckout(t, srv)
			walks := c.Stats().MetadataComparisons
			lease(t, c, srv.URL, rev)
			if got := c.Stats().MetadataComparisons; got != walks+1 {
				t.Fatalf("an unwatched lease compared the metadata %d times, want 1", got-walks)
			}
			tamper(t, dir)
			expectRefused(t, c, srv.URL, rev)
		})
	}
}

// TestMappedWriteIsCaughtByTheRecheck: a write through a shared memory mapping raises no
// inotify event, but it moves the file's ctime, and the metadata is compared again once
// the recheck interval has passed: a lease after it refuses the checkout.
func TestMappedWriteIsCaughtByTheRecheck(t *testing.T) {
	defer source.SetMetadataRecheck(100 * time.Millisecond)()
	srv, commit := integrityRepo(t)
	rev := source.Revision{Ref: "main", Commit: commit}
	c, dir := verifiedCheckout(t, srv)
	f, err := os.OpenFile(filepath.Join(dir, "app.yaml"), os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, len(integrityFiles["app.yaml"]), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	must(t, err)
	copy(m, "kind: Secret")
	must(t, unix.Munmap(m))

	deadline := time.Now().Add(30 * time.Second)
	for {
		co, ok, err := c.Cached(srv.URL, rev)
		if errors.Is(err, source.ErrCheckoutMismatch) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			must(t, co.Close())
		}
		if !ok || time.Now().After(deadline) {
			t.Fatalf("a checkout written through a mapping was still served after 30 s (ok=%v)", ok)
		}
		time.Sleep(20 * time.Millisecond) // polling the lease, not waiting for an outcome
	}
}

// verifiedCheckout is a new Client with main checked out (and so verified), released.
func verifiedCheckout(t *testing.T, srv *gitserver.Server) (*source.Client, string) {
	t.Helper()
	c := newClient(t, source.Options{})
	co := checkout(t, c, srv.URL, source.Ref{Branch: "main"}, basic(srv))
	must(t, co.Close())
	return c, co.Dir
}

// lease takes and releases the cached checkout of rev, which must be served.
func lease(t *testing.T, c *source.Client, url string, rev source.Revision) {
	t.Helper()
	co, ok, err := c.Cached(url, rev)
	if !ok || err != nil {
		t.Fatalf("Cached = %v, %v", ok, err)
	}
	must(t, co.Close())
}

// expectRefused: the very next lease of rev refuses the checkout.
func expectRefused(t *testing.T, c *source.Client, url string, rev source.Revision) {
	t.Helper()
	if _, ok, err := c.Cached(url, rev); ok || !errors.Is(err, source.ErrCheckoutMismatch) {
		t.Fatalf("the lease right after the change = %v, %v; want ErrCheckoutMismatch", ok, err)
	}
}
