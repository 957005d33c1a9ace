package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

var (
	fleetOnce sync.Once
	fleetSrv  *fleetServer
)

// fleetServer is the dashboard of a fleet of 1,000 Applications (ten namespaces of 100,
// two environments and a status each), made once per test binary and kept for it, with
// the heap its cache and server took.
type fleetServer struct {
	base, key string
	heapMiB   float64
}

func fleet(b *testing.B) *fleetServer {
	fleetOnce.Do(func() {
		ctx := context.Background()
		for n := 0; n < 10; n++ {
			ns := fmt.Sprintf("fleet-%d", n)
			mustDo(b, admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
			for i := 0; i < 100; i++ {
				application(b, ns, fmt.Sprintf("app-%03d", i), fmt.Sprintf("main@sha1:%040d", i))
			}
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, base, key := localServer(ctx, b)
		runtime.GC()
		runtime.ReadMemStats(&after)
		fleetSrv = &fleetServer{base: base, key: key, heapMiB: float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)}
	})
	if fleetSrv == nil {
		b.Fatal("the fleet could not be made")
	}
	return fleetSrv
}

// localServer is the dashboard as `landfall dashboard` runs it (a login key, the
// apiserver's SelfSubjectAccessReviews), with its own cache, on an httptest server that
// serves until ctx ends.
func localServer(ctx context.Context, b *testing.B) (*Server, string, string) {
	informers, err := cache.New(restConfig, cache.Options{Scheme: scheme})
	mustDo(b, err)
	key := NewLoginKey()
	srv, err := New(Options{Cache: informers, Reader: admin, Writer: admin, LoginKey: key,
		Authenticator: KeyAuthenticator{Key: key, User: User{Name: "bench"}}, Authorizer: SelfAccessReviewer{Client: admin}, Log: logr.Discard()})
	mustDo(b, err)
	mustDo(b, srv.Start(ctx))
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		b.Fatal("cache did not sync")
	}
	hs := httptest.NewServer(srv)
	go func() { <-ctx.Done(); hs.Close() }()
	return srv, hs.URL, key
}

// BenchmarkFirstScreen1000: the Applications page of a fleet of 1,000 Applications, as
// the server renders it (ms/screen), as a headless Chromium shows it when chromium is
// installed (browser-ms/screen: navigation until the first page's rows are in the DOM),
// and the heap the dashboard's cache and server hold (heap-MiB).
func BenchmarkFirstScreen1000(b *testing.B) {
	f := fleet(b)
	base, key := f.base, f.key
	req := func() {
		r, _ := http.NewRequest("GET", base+"/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(r)
		mustDo(b, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Count(string(body), "<tr id=\"app-") != 50 {
			b.Fatalf("first screen: %d, %d rows", resp.StatusCode, strings.Count(string(body), "<tr id=\"app-"))
		}
	}
	req() // the access reviews are asked once and remembered
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		req()
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/screen")
	b.ReportMetric(f.heapMiB, "heap-MiB")
	if ms, ok := browserFirstScreen(b, base, key); ok {
		b.ReportMetric(ms, "browser-ms/screen")
	}
}

// browserFirstScreen signs a headless Chromium in and times the Applications page.
func browserFirstScreen(b *testing.B, base, key string) (float64, bool) {
	path := os.Getenv("LANDFALL_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		b.Logf("no browser figure: %v", err)
		return 0, false
	}
	// TMPDIR: Chromium's own singleton folder goes with the benchmark's, not into /tmp for good.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Env("TMPDIR="+b.TempDir()))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	mustDo(b, chromedp.Do(ctx, chromedp.Navigate(base+"/login?key="+key), chromedp.WaitVisible(chromedp.CSS("table.apps"))))
	const rounds = 5
	start := time.Now()
	for i := 0; i < rounds; i++ {
		mustDo(b, chromedp.Do(ctx, chromedp.Navigate(base+"/?page=2"), chromedp.WaitVisible(chromedp.CSS(`tr[data-app="fleet-0/app-050"]`))))
	}
	return float64(time.Since(start).Milliseconds()) / rounds, true
}

// BenchmarkEventsPushed: how many changes a second the dashboard pushes to 20 connected
// browsers (events/s, counted at the browsers' end), each change checked against the
// viewer's rights (answers cached, as in use).
func BenchmarkEventsPushed(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, base, key := localServer(ctx, b)
	const clients = 20
	var ready, done sync.WaitGroup
	want := b.N
	for c := 0; c < clients; c++ {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			r, _ := http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
			r.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				ready.Done()
				return
			}
			defer resp.Body.Close()
			lines := bufio.NewScanner(resp.Body)
			lines.Scan()
			ready.Done()
			got := 0
			for got < want && lines.Scan() {
				if strings.HasPrefix(lines.Text(), "data: ") {
					got++
				}
			}
		}()
	}
	ready.Wait()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for srv.hub.full() { // never drop: the figure is of delivered changes
			runtime.Gosched()
		}
		srv.hub.publish(change{Resource: "applications", Namespace: "fleet-0", Name: fmt.Sprintf("app-%03d", i%100)})
	}
	done.Wait()
	b.ReportMetric(float64(b.N*clients)/time.Since(start).Seconds(), "events/s")
}
