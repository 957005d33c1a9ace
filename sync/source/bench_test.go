package source_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// BenchmarkRemoteCheckUnchanged measures the cheap path a poll takes when nothing changed:
// reading the advertised refs over loopback HTTP (git http-backend), no objects fetched.
// Target: at most 50 ms/op.
func BenchmarkRemoteCheckUnchanged(b *testing.B) {
	srv := gitserver.New(b, gitserver.Options{})
	srv.Commit(b, "main", map[string]string{"app.yaml": "kind: ConfigMap"})
	for i := range 50 {
		srv.Tag(b, fmt.Sprintf("v1.%d.0", i), srv.Head(b, "refs/heads/main"), false)
	}
	c := newClient(b, source.Options{})
	ctx := context.Background()
	ref := source.Ref{Branch: "main"}
	auth := basic(srv)
	co, err := c.Checkout(ctx, srv.URL, ref, auth)
	if err != nil {
		b.Fatal(err)
	}
	co.Close()
	fetches := srv.UploadPacks()
	for b.Loop() {
		co, err := c.Checkout(ctx, srv.URL, ref, auth)
		if err != nil {
			b.Fatal(err)
		}
		co.Close()
	}
	if srv.UploadPacks() != fetches {
		b.Fatalf("unchanged remote was fetched %d times", srv.UploadPacks()-fetches)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkFetch50MB fetches a fresh checkout of a 50 MB repository of incompressible
// files and reports the peak Go heap (sampled) and the peak resident set (VmHWM, reset
// before each fetch where the kernel allows it).
func BenchmarkFetch50MB(b *testing.B) {
	const files, fileSize = 50, 1 << 20
	srv := gitserver.New(b, gitserver.Options{})
	srv.CommitChange(b, "main", func(dir string) {
		buf := make([]byte, fileSize)
		for i := range files {
			if _, err := rand.Read(buf); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("blob-%02d.bin", i)), buf, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	})
	auth := basic(srv)
	b.SetBytes(files * fileSize)
	var peakHeap, peakRSS uint64
	base := b.TempDir()
	for b.Loop() {
		cacheDir, err := os.MkdirTemp(base, "cache-")
		if err != nil {
			b.Fatal(err)
		}
		c := newClient(b, source.Options{CacheDir: cacheDir})
		runtime.GC()
		resetPeakRSS()
		stop := sampleHeap()
		co, err := c.Checkout(context.Background(), srv.URL, source.Ref{Branch: "main"}, auth)
		heap := stop()
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := c.CacheUsage(); n != files*fileSize {
			b.Fatalf("checkout holds %d bytes, want %d", n, files*fileSize)
		}
		co.Close()
		if err := os.RemoveAll(cacheDir); err != nil {
			b.Fatal(err)
		}
		peakHeap = max(peakHeap, heap)
		peakRSS = max(peakRSS, vmHWM())
	}
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	if peakRSS > 0 {
		b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MB")
	}
}

// sampleHeap records the live heap every millisecond until the returned stop is called,
// which returns the peak. runtime/metrics reads without stopping the world.
func sampleHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// resetPeakRSS asks the kernel to reset VmHWM; without permission the peak is since start.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// vmHWM returns the peak resident set size in bytes, or 0 where /proc is unavailable.
func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkHostileFetch reports, for each hostile Git server (over HTTP and SSH), the time until the fetch is
// refused and the peak Go heap and resident set meanwhile; BenchmarkFetch50MB is the
// healthy baseline.
func BenchmarkHostileFetch(b *testing.B) {
	for _, attack := range gitserver.Attacks {
		for _, viaSSH := range []bool{false, true} {
			name := string(attack)
			if viaSSH {
				name = "ssh-" + name
			}
			b.Run(name, func(b *testing.B) {
				url, auth := hostileServer(b, attack, viaSSH)
				benchRefusal(b, url, auth)
			})
		}
	}
}

func benchRefusal(b *testing.B, url string, auth source.Auth) {
	c := newClient(b, source.Options{})
	var peakHeap, peakRSS uint64
	for b.Loop() {
		runtime.GC()
		resetPeakRSS()
		stop := sampleHeap()
		_, err := c.Checkout(context.Background(), url, source.Ref{Branch: "main"}, auth)
		peakHeap = max(peakHeap, stop())
		peakRSS = max(peakRSS, vmHWM())
		if err == nil {
			b.Fatal("fetched, want a limit error")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/refusal")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MB")
}
