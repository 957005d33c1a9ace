package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
)

// countingTransport counts the requests a client sends to the apiserver.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// BenchmarkImpersonation measures what deploying as ServiceAccounts costs the controller,
// per pass over 1,000 Applications across 50 ServiceAccounts (20 Applications each), each
// Application's client then reading one ConfigMap as a sync's first read would:
//
//   - requests/pass: apiserver requests (the informer's list and watch included);
//   - heap-B/app and rss-B/app: heap in use and resident memory grown over the idle
//     controller (before any client was built), after the passes, per Application;
//   - clients: impersonated clients cached (one per ServiceAccount).
//
// Modes: baseline, the controller's own client; impersonated-uncached, the ServiceAccount
// checked by a GET each sync (what a remote cluster still does); impersonated, checked
// from the informer on ServiceAccounts' metadata, as the controller does for the local
// cluster. RSS is the process's: the Go runtime keeps freed pages, so the first mode run
// pays for the heap the later ones reuse; heap-B/app is the figure to compare.
func BenchmarkImpersonation(b *testing.B) {
	const apps, accounts = 1000, 50
	ctx := context.Background()
	ns := newNamespace(b)
	for i := range accounts {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("deployer-%d", i), Namespace: ns}}
		if err := k8s.Create(ctx, sa); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []string{"baseline", "impersonated-uncached", "impersonated"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			var requests atomic.Int64
			cfg := rest.CopyConfig(restConfig)
			cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, n: &requests} }
			list := make([]*landfallv1.Application, apps)
			for i := range list {
				list[i] = &landfallv1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%d", i)}}
				if mode != "baseline" {
					list[i].Spec.ServiceAccountName = fmt.Sprintf("deployer-%d", i%accounts)
				}
			}
			heap0, rss0 := memoryInUse(b)
			dests, stop := benchDestinations(b, cfg, mode == "impersonated")
			defer stop()
			requests.Store(0)
			b.ResetTimer()
			for range b.N {
				for _, app := range list {
					c, err := dests.ForApplication(ctx, app)
					if err != nil {
						b.Fatal(err)
					}
					err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "absent"}, &corev1.ConfigMap{})
					if client.IgnoreNotFound(err) != nil && mode == "baseline" {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			heap1, rss1 := memoryInUse(b)
			runtime.KeepAlive(dests)
			runtime.KeepAlive(list)
			b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/pass")
			b.ReportMetric(float64(heap1-heap0)/apps, "heap-B/app")
			b.ReportMetric(float64(rss1-rss0)/apps, "rss-B/app")
			b.ReportMetric(float64(dests.Cached()), "clients")
		})
	}
}

// benchDestinations builds the Application controller's destinations on cfg; informed
// reads ServiceAccounts from an informer started on cfg, as the manager's cache would.
func benchDestinations(b *testing.B, cfg *rest.Config, informed bool) (*controllers.Destinations, func()) {
	dests, err := controllers.NewDestinationsForTest(cfg, k8s, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	if !informed {
		return dests, func() {}
	}
	informers, err := cache.New(cfg, cache.Options{Scheme: k8s.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = informers.Start(ctx)
	}()
	if !informers.WaitForCacheSync(ctx) {
		b.Fatal("the informers did not start")
	}
	dests.WithAccounts(informers)
	return dests, func() { cancel(); <-done }
}

// memoryInUse returns the heap in use after a collection, and the process's resident set.
func memoryInUse(b *testing.B) (heap, rss int64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			rss = kb << 10
		}
	}
	return int64(m.HeapInuse), rss
}
