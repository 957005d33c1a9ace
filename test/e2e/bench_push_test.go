package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// benchPushes is how many pushes the push benchmark measures.
const benchPushes = 30

// BenchmarkPushToApplied measures push → last object applied: the time from a completed
// git push (the webhook is sent right after) until the apiserver reports the last of the
// app's three objects (Deployment, Service, ConfigMap) carrying the push's number, over
// 30 pushes. The baseline is the same three objects server-side applied in a tight loop.
// Targets: p50 ≤ 1 s, p99 ≤ 3 s.
func BenchmarkPushToApplied(b *testing.B) {
	ctx := context.Background()
	e := shared(b)
	web := testdata(b, "web", "apps/bench")
	f := newFixture(b, e, stampFiles(b, web, 0))
	target := f.ns + "-bench"
	f.syncedApplication(b, "bench", "apps/bench", "bench", target)
	resources := webResources
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	tracker, err := trackStamps(waitCtx, e.cluster.Config, target, resources...)
	must(b, err)

	b.ResetTimer()
	var samples []time.Duration
	for n := 1; n <= benchPushes; n++ {
		f.srv.CommitChange(b, "main", write(b, stampFiles(b, web, n)))
		pushed := time.Now()
		f.webhook(b)
		last, err := tracker.wait(waitCtx, n, len(resources))
		if err != nil {
			b.Fatalf("push %d: %v", n, err)
		}
		samples = append(samples, last.Sub(pushed))
	}
	b.StopTimer()
	raw := rawApplyLoop(b, e.k8s, f.ns+"-raw", web, benchPushes)

	p50, p99, rawP50 := percentile(samples, 50), percentile(samples, 99), percentile(raw, 50)
	b.ReportMetric(ms(p50), "p50_ms")
	b.ReportMetric(ms(p99), "p99_ms")
	b.ReportMetric(ms(rawP50), "raw_apply_ms")
	b.Logf("push → last object applied over %d pushes: p50 %s, p99 %s, max %s (targets ≤ 1s, ≤ 3s); "+
		"raw server-side apply of the same 3 objects: p50 %s, p99 %s",
		len(samples), p50.Round(time.Millisecond), p99.Round(time.Millisecond), percentile(samples, 100).Round(time.Millisecond),
		rawP50.Round(time.Millisecond), percentile(raw, 99).Round(time.Millisecond))
}

// stampFiles returns files with the push number n in an annotation on every object.
func stampFiles(tb testing.TB, files map[string]string, n int) map[string]string {
	out := map[string]string{}
	for name, content := range files {
		stamped := strings.Replace(content, "\nmetadata:\n", fmt.Sprintf("\nmetadata:\n  annotations: {%s: %q}\n", stampAnnotation, fmt.Sprint(n)), 1)
		if stamped == content {
			tb.Fatalf("%s: no metadata to stamp", name)
		}
		out[name] = stamped
	}
	return out
}

// rawApplyLoop server-side applies the objects of files into ns, stamped 1…n, through
// controller-runtime's client as fast as it can, and returns the time of each round.
func rawApplyLoop(tb testing.TB, c client.Client, ns string, files map[string]string, n int) []time.Duration {
	ctx := context.Background()
	must(tb, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	var rounds []time.Duration
	for i := 1; i <= n; i++ {
		objs := decodeObjects(tb, stampFiles(tb, files, i), ns)
		start := time.Now()
		for _, o := range objs {
			must(tb, rawApply(ctx, c, o))
		}
		rounds = append(rounds, time.Since(start))
	}
	return rounds
}

func rawApply(ctx context.Context, c client.Client, o *unstructured.Unstructured) error {
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.ForceOwnership, client.FieldOwner("bench"))
}

// decodeObjects parses one object per file and puts it in ns.
func decodeObjects(tb testing.TB, files map[string]string, ns string) []*unstructured.Unstructured {
	var objs []*unstructured.Unstructured
	for name, content := range files {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(content), &u.Object); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		u.SetNamespace(ns)
		objs = append(objs, u)
	}
	return objs
}
