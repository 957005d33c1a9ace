package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// BenchmarkManualRollback measures a manual rollback: from the write of the pin annotation
// (what `landfall rollback` does) until a watch sees the previous revision's pod template
// in the live Deployment, with no sync request. Each round lifts the pin again and waits
// for the head to be back. Target ≤ 5 s.
func BenchmarkManualRollback(b *testing.B) {
	g := NewWithT(b)
	e := shared(b)
	f := newFixture(b, e, webApp("apps/web", image("v1"), 1))
	ns := f.ns + "-prod"
	app := f.application(b, "web", "apps/web", []landfallv1.Environment{{Name: "production", Namespace: ns}}, nil)
	first := revisionOf(f.srv.Head(b, "refs/heads/main"))
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", first) }, rolloutTimeout, poll).Should(Succeed())
	head := f.pushImage(b, "apps/web", "v2", 1)
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", head) }, rolloutTimeout, poll).Should(Succeed())
	live := watchObject[*appsv1.Deployment](b, e, &appsv1.DeploymentList{}, ns, "web")

	var took []time.Duration
	b.ResetTimer()
	for range b.N {
		mark := live.len()
		start := time.Now()
		setPinAnnotation(g, f, app, "production", first)
		var back observed[*appsv1.Deployment]
		g.Eventually(func() bool {
			var ok bool
			back, ok = live.first(mark, func(s observed[*appsv1.Deployment]) bool { return imageOf(s.obj) == image("v1") })
			return ok
		}, rolloutTimeout, poll).Should(BeTrue(), "the pinned revision's template is applied")
		took = append(took, back.at.Sub(start))

		b.StopTimer()
		g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", first) }, rolloutTimeout, poll).Should(Succeed())
		setPinAnnotation(g, f, app, "production", "")
		g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", head) }, rolloutTimeout, poll).Should(Succeed())
		b.StartTimer()
	}
	b.StopTimer()
	p50, worst := percentile(took, 50), percentile(took, 100)
	b.ReportMetric(ms(p50), "p50_ms")
	b.ReportMetric(ms(worst), "max_ms")
	b.Logf("pin written → previous template live, over %d rollbacks: p50 %s, max %s (target ≤ 5s; "+
		"baseline before pins passed the watch: the next resync, 10m by default, or a landfall sync)",
		len(took), p50.Round(time.Millisecond), worst.Round(time.Millisecond))
}

// setPinAnnotation sets (or, with "", removes) the pin of env with a merge patch.
func setPinAnnotation(g *WithT, f *fixture, app *landfallv1.Application, env, revision string) {
	var value any = revision
	if revision == "" {
		value = nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		landfallv1.AnnotationPinPrefix + env: value}}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.e.k8s.Patch(context.Background(), f.get(g, app), client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}
