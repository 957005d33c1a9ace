package e2e

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// benchRollbacks is how many failed revisions the rollback benchmark measures; each
// costs a progress deadline and a good commit to start the next one from.
const benchRollbacks = 3

// BenchmarkRollbackAfterFailure measures failure verdict → previous revision applied: from
// the moment a watch sees the staging Deployment report ProgressDeadlineExceeded (the
// Deployment controller's verdict on a bad image) until it sees the last healthy pod
// template back in the live Deployment, over 3 bad pushes. Target ≤ 10 s. The time from
// the bad push to the verdict is the Deployment's progress deadline (10 s) and is not
// Landfall's; it is reported for context.
func BenchmarkRollbackAfterFailure(b *testing.B) {
	g := NewWithT(b)
	e := shared(b)
	f := newFixture(b, e, webApp("apps/web", image("v0"), 2))
	staging := f.ns + "-staging"
	app := f.application(b, "web", "apps/web", []landfallv1.Environment{{Name: "staging", Namespace: staging}},
		func(s *landfallv1.ApplicationSpec) {
			s.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
		})
	good := revisionOf(f.srv.Head(b, "refs/heads/main"))
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "staging", good) }, rolloutTimeout, poll).Should(Succeed())
	waitRolledOut(g, e.k8s, staging, "web", 2)
	live := watchObject[*appsv1.Deployment](b, e, &appsv1.DeploymentList{}, staging, "web")

	b.ResetTimer()
	var verdictToApplied, pushToVerdict []time.Duration
	for round := range benchRollbacks {
		stable := image(fmt.Sprintf("v%d", round))
		mark := live.len()
		pushed := time.Now()
		bad := f.pushImage(b, "apps/web", "bad", 2)
		verdict, back := rollbackTimes(g, live, mark, stable)
		verdictToApplied = append(verdictToApplied, back.Sub(verdict))
		pushToVerdict = append(pushToVerdict, verdict.Sub(pushed))

		b.StopTimer()
		g.Eventually(func(g Gomega) {
			st := envStatus(g, f.get(g, app), "staging")
			g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutRolledBack))
			g.Expect(st.Rollout.Revision).To(Equal(bad))
		}, rolloutTimeout, poll).Should(Succeed())
		waitRolledOut(g, e.k8s, staging, "web", 2)
		good = f.pushImage(b, "apps/web", fmt.Sprintf("v%d", round+1), 2)
		g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "staging", good) }, rolloutTimeout, poll).Should(Succeed())
		waitRolledOut(g, e.k8s, staging, "web", 2)
		b.StartTimer()
	}
	b.StopTimer()
	p50, worst := percentile(verdictToApplied, 50), percentile(verdictToApplied, 100)
	b.ReportMetric(ms(p50), "p50_ms")
	b.ReportMetric(ms(worst), "max_ms")
	b.ReportMetric(ms(percentile(pushToVerdict, 50)), "push_to_verdict_ms")
	b.Logf("ProgressDeadlineExceeded → last healthy template live again, over %d rollbacks: p50 %s, max %s (target ≤ 10s); "+
		"bad push → ProgressDeadlineExceeded (the %ds deadline): p50 %s",
		len(verdictToApplied), p50.Round(time.Millisecond), worst.Round(time.Millisecond),
		progressDeadline, percentile(pushToVerdict, 50).Round(time.Millisecond))
}

// rollbackTimes waits, in the Deployment's recorded states from mark on, for the bad
// image, then for ProgressDeadlineExceeded, then for the stable image back, and returns
// when the watch delivered the verdict and the restored template.
func rollbackTimes(g *WithT, live *objectLog[*appsv1.Deployment], mark int, stable string) (verdict, back time.Time) {
	var failed observed[*appsv1.Deployment]
	g.Eventually(func() bool {
		var ok bool
		failed, ok = live.first(mark, func(s observed[*appsv1.Deployment]) bool {
			return imageOf(s.obj) == image("bad") && progressDeadlineExceeded(s.obj)
		})
		return ok
	}, rolloutTimeout, poll).Should(BeTrue(), "the bad image misses its progress deadline")
	g.Eventually(func() bool {
		restored, ok := live.first(mark, func(s observed[*appsv1.Deployment]) bool {
			return !s.at.Before(failed.at) && imageOf(s.obj) == stable
		})
		back = restored.at
		return ok
	}, rolloutTimeout, poll).Should(BeTrue(), "the last healthy template comes back")
	return failed.at, back
}
