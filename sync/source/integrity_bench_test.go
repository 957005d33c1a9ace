package source

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/test/gitserver"
)

// BenchmarkVerifyCheckout measures what proving a cached checkout costs, for a small
// repository and for one at the file limit (50,000 files of 200 bytes): "full" hashes
// every file against the kept Git objects (the first lease in a process), "quick" compares
// the metadata digest (a later lease without inotify, or once metadataRecheck has passed),
// "watched" is a later lease of a watched, untouched checkout. Each prints, side by side, the baseline it
// saves or adds to: fetch-ms, a fresh fetch of the same commit.
func BenchmarkVerifyCheckout(b *testing.B) {
	for _, n := range []int{10, DefaultMaxFiles} {
		srv := gitserver.New(b, gitserver.Options{})
		srv.CommitChange(b, "main", func(dir string) {
			for i := range n {
				p := filepath.Join(dir, fmt.Sprintf("d%03d", i%500), fmt.Sprintf("f%05d.yaml", i))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(p, fmt.Appendf(make([]byte, 0, 200), "%0200d", i), 0o644); err != nil {
					b.Fatal(err)
				}
			}
		})
		c, err := New(Options{CacheDir: b.TempDir(), AllowHTTP: true, Timeout: 10 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		co, err := c.Checkout(context.Background(), srv.URL, Ref{Branch: "main"}, Auth{Username: srv.Username, Password: srv.Password})
		if err != nil {
			b.Fatal(err)
		}
		fetch := time.Since(start)
		dir, commit := co.Dir, path.Base(co.Dir)
		b.Run(fmt.Sprintf("files=%d/full", n), func(b *testing.B) {
			for b.Loop() {
				if err := verifyCheckout(dir, dir+objectsSuffix, commit, DefaultMaxRepoBytes); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(fetch.Microseconds())/1000, "fetch-ms")
		})
		b.Run(fmt.Sprintf("files=%d/quick", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := statDigest(dir, dir+objectsSuffix); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(fetch.Microseconds())/1000, "fetch-ms")
		})
		b.Run(fmt.Sprintf("files=%d/watched", n), func(b *testing.B) {
			key, err := filepath.Rel(c.cache.root, dir)
			if err != nil {
				b.Fatal(err)
			}
			e, ok := c.cache.acquire(filepath.ToSlash(key))
			if !ok {
				b.Fatal("the checkout is not cached")
			}
			defer c.cache.release(e)
			for b.Loop() {
				if err := c.verifyEntry(e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(fetch.Microseconds())/1000, "fetch-ms")
		})
		_ = co.Close()
	}
}
