package apply

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// benchPairs ConfigMaps and as many Deployments, plus their Namespace, are what each op
// applies.
const benchPairs = 50

// countingClient returns a client whose HTTP requests are counted into n.
func countingClient(b *testing.B, n *atomic.Int64) client.Client {
	b.Helper()
	c := rest.CopyConfig(cfg)
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return rt.RoundTrip(r)
		})
	}
	cl, err := client.New(c, client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return cl
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func benchObjects(b *testing.B, ns string) []*unstructured.Unstructured {
	objs := []*unstructured.Unstructured{namespace(b, ns)}
	for i := range benchPairs {
		name := fmt.Sprintf("app-%02d", i)
		objs = append(objs, configMap(b, ns, name, "v1"), deployment(b, ns, name, 1))
	}
	return objs
}

// report adds the figures per op: wall time in ms, objects written, HTTP requests.
func report(b *testing.B, objects int, writes, requests int64) {
	n := float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/n, "ms/op")
	b.ReportMetric(float64(writes)/n, "writes/op")
	b.ReportMetric(float64(requests)/n, "requests/op")
	b.ReportMetric(float64(objects), "objects")
}

// BenchmarkApply measures Manager.Apply on 100 objects (50 ConfigMaps, 50 Deployments):
// the first apply into a new namespace, the steady state where nothing changed (no
// writes at all), and as a baseline a plain server-side apply of each object with no
// read and no dry-run, which always writes.
func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	var requests atomic.Int64
	m := newManager(b, countingClient(b, &requests), "apps/bench/dev")

	b.Run("first-time", func(b *testing.B) {
		sets := make([][]*unstructured.Unstructured, b.N)
		for i := range sets {
			sets[i] = benchObjects(b, unique("bench-first"))
		}
		requests.Store(0)
		var writes int64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			cs, err := m.Apply(ctx, sets[i])
			if err != nil {
				b.Fatal(err)
			}
			writes += int64(cs.Writes())
		}
		report(b, len(sets[0]), writes, requests.Load())
	})

	objs := benchObjects(b, unique("bench-steady"))
	if _, err := m.Apply(ctx, objs); err != nil {
		b.Fatal(err)
	}

	b.Run("steady-state", func(b *testing.B) {
		requests.Store(0)
		var writes int64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			cs, err := m.Apply(ctx, objs)
			if err != nil {
				b.Fatal(err)
			}
			writes += int64(cs.Writes())
		}
		report(b, len(objs), writes, requests.Load())
		if writes != 0 {
			b.Fatalf("steady state wrote %d objects; want none", writes)
		}
	})

	raw := countingClient(b, &requests)
	b.Run("raw-server-side-apply", func(b *testing.B) {
		requests.Store(0)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for _, o := range objs {
				err := raw.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
					client.FieldOwner(testManager), client.ForceOwnership)
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		report(b, len(objs), int64(len(objs)*b.N), requests.Load())
	})
}

// BenchmarkPrune measures pruning 100 owned ConfigMaps (a metadata read and a delete each).
func BenchmarkPrune(b *testing.B) {
	ctx := context.Background()
	owner := "apps/bench-prune/dev"
	m := newManager(b, k8s, owner)
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := unique("bench-prune")
		objs := []*unstructured.Unstructured{namespace(b, ns)}
		var refs []ObjectRef
		for j := range 2 * benchPairs {
			cm := configMap(b, ns, fmt.Sprintf("c-%03d", j), "x")
			objs, refs = append(objs, cm), append(refs, RefOf(cm))
		}
		stamped := Stamp(objs, nil, map[string]string{ownerKey: owner})
		if _, err := m.Apply(ctx, stamped); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		cs, _, err := m.Prune(ctx, refs)
		elapsed += time.Since(start)
		if err != nil || cs.Count(Pruned) != len(refs) {
			b.Fatalf("pruned %s: %v", cs, err)
		}
	}
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(2*benchPairs, "objects")
}
