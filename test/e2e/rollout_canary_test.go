package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/prometheus"
)

const (
	// canaryReplicas is the web Deployment's size: 25% is 1 canary and 3 stable pods, 50%
	// is 2 and 2.
	canaryReplicas = 4
	// errorRate is the gauge the test serves and Prometheus scrapes; a step fails when it
	// is above maxErrorRate twice in a row.
	errorRate    = "error_rate"
	maxErrorRate = 0.05
	canaryLabel  = "landfall.dev/canary"
	// analysisBound is how soon two bad measurements must roll back: a few 1 s intervals
	// and scrapes, with room for a loaded machine.
	analysisBound = 30 * time.Second
)

// TestCanary runs canary rollouts on the full cluster, gated by a real Prometheus that
// scrapes a gauge the test sets. A good revision goes 25% → 50% → 100%: the canary
// Deployment appears with the split replicas, its pods serve behind the stable Service,
// and promotion gives the stable the new template and removes the canary. The controller
// is killed with SIGKILL at 50% and restarted: it resumes at that step and finishes. A
// revision whose metric turns bad at 50% is rolled back at that step, and the stable pods
// never drop below the step's count. It has a cluster of its own: it kills the controller.
func TestCanary(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	target := prometheus.NewTarget(t)
	target.Set(errorRate, 0)
	prom := prometheus.Start(t, target.Addr)
	prom.WaitFor(t, errorRate, timeout, func(v float64) bool { return v == 0 })

	e := newEnv(t, "canary")
	f := newFixture(t, e, webApp("apps/web", image("v1"), canaryReplicas))
	ns := f.ns + "-prod"
	limit := maxErrorRate
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "production", Namespace: ns}},
		func(s *landfallv1.ApplicationSpec) {
			s.Rollout = &landfallv1.RolloutSpec{
				Strategy: landfallv1.RolloutCanary,
				// 50% pauses longer: the bad revision's metric turns bad there.
				Steps: []landfallv1.CanaryStep{
					{Weight: 25, Pause: &metav1.Duration{Duration: 3 * time.Second}},
					{Weight: 50, Pause: &metav1.Duration{Duration: 6 * time.Second}},
				},
				HealthTimeout: &metav1.Duration{Duration: healthTimeout},
				Analysis: []landfallv1.AnalysisMetric{{
					Name: "error-rate", Prometheus: landfallv1.PrometheusQuery{Address: prom.URL, Query: errorRate},
					Max: &limit, Interval: &metav1.Duration{Duration: time.Second}, FailureLimit: 1,
				}},
			}
		})
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", first) }, rolloutTimeout, poll).Should(Succeed())
	waitRolledOut(g, e.k8s, ns, "web", canaryReplicas)

	good := goodCanaryAcrossRestart(t, f, app, ns)
	badCanaryRollsBack(t, f, app, ns, target, good)
}

// goodCanaryAcrossRestart pushes image v2 and follows its canary through every step,
// killing and restarting the controller at 50%. It returns the revision.
func goodCanaryAcrossRestart(t *testing.T, f *fixture, app *landfallv1.Application, ns string) string {
	g := NewWithT(t)
	e := f.e
	stableLog := watchObject[*appsv1.Deployment](t, e, &appsv1.DeploymentList{}, ns, "web")
	canaryLog := watchObject[*appsv1.Deployment](t, e, &appsv1.DeploymentList{}, ns, "web-canary")
	revision := f.pushImage(t, "apps/web", "v2", canaryReplicas)
	expectStep(g, f, app, ns, revision, 0, 25, 1, image("v1"), image("v2"))
	expectStep(g, f, app, ns, revision, 1, 50, 2, image("v1"), image("v2"))

	e.killController(t)
	killed := f.get(g, app)
	recorded := envStatus(g, killed, "production").Rollout
	g.Expect(recorded.Revision).To(Equal(revision))
	g.Expect(recorded.Step).To(Equal(int32(1)), "killed at 50%%: %s", recorded.Message)
	canaryUID := deployment(g, e.k8s, ns, "web-canary").UID
	appLog := watchObject[*landfallv1.Application](t, e, &landfallv1.ApplicationList{}, app.Namespace, app.Name)
	stableMark, canaryMark := stableLog.len(), canaryLog.len()
	// With the controller gone the split holds still: the Service's endpoints are both
	// revisions' pods, the canary's marked.
	g.Eventually(func(g Gomega) map[bool]int { return servedPods(g, e.k8s, ns, "web") }, timeout, poll).
		Should(Equal(map[bool]int{true: 2, false: 2}), "ready endpoints of Service web, by canary label")

	e.restartController(t, "controller-restarted")
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", revision) }, rolloutTimeout, poll).Should(Succeed())
	g.Expect(imageOf(waitRolledOut(g, e.k8s, ns, "web", canaryReplicas))).To(Equal(image("v2")))
	expectDeleted(g, e.k8s, ns, "web-canary", "promotion removes the canary")

	// The restarted controller took up the rollout where status left it: never back to an
	// earlier step, the same canary kept at 50% until promotion, the stable never split again.
	for _, s := range appLog.since(0) {
		if ro := envStatus(g, s.obj, "production").Rollout; ro != nil && ro.Revision == revision {
			g.Expect(ro.Step).To(BeNumerically(">=", recorded.Step), "step after the restart: %s", ro.Message)
		}
	}
	expectHeldAtHalf(g, canaryLog.since(canaryMark), canaryUID, stableLog.since(stableMark))
	return revision
}

// badCanaryRollsBack pushes image v3, turns the error rate bad once the canary is at 50%,
// and checks the rollback at that step back to stable, with the stable pods available
// throughout.
func badCanaryRollsBack(t *testing.T, f *fixture, app *landfallv1.Application, ns string, target *prometheus.Target, stable string) {
	g := NewWithT(t)
	e := f.e
	stableLog := watchObject[*appsv1.Deployment](t, e, &appsv1.DeploymentList{}, ns, "web")
	bad := f.pushImage(t, "apps/web", "v3", canaryReplicas)
	expectStep(g, f, app, ns, bad, 0, 25, 1, image("v2"), image("v3"))
	expectStep(g, f, app, ns, bad, 1, 50, 2, image("v2"), image("v3"))
	target.Set(errorRate, 1)
	// Two failed measurements 1 s apart, after a scrape: well within half a minute unless
	// the step's wait ignores the metric's interval.
	g.Eventually(func(g Gomega) landfallv1.RolloutPhase {
		return envStatus(g, f.get(g, app), "production").Rollout.Phase
	}, analysisBound, poll).Should(Equal(landfallv1.RolloutRolledBack), "the bad metric rolls back within %s", analysisBound)
	expectRolledBack(t, f, app, "production", bad, stable, "AnalysisFailed", "analysis failed")
	ro := envStatus(g, f.get(g, app), "production").Rollout
	g.Expect([]int32{ro.Step, ro.Weight}).To(Equal([]int32{1, 50}), "rolled back at the step it failed")
	g.Expect(ro.Analysis).To(ContainElement(And(HaveField("Name", "error-rate"), HaveField("LastValue", "1"),
		HaveField("ConsecutiveFailures", BeNumerically(">", 1)))))
	expectDeleted(g, e.k8s, ns, "web-canary", "the rollback removes the canary")
	g.Expect(imageOf(waitRolledOut(g, e.k8s, ns, "web", canaryReplicas))).To(Equal(image("v2")))

	// The stable shrinks only as the steps ask (4 → 3 → 2), and its available pods never
	// fall below what the current step asks, through the rollback and back to all four.
	lowest := int32(canaryReplicas)
	for _, s := range stableLog.since(0) {
		d := s.obj
		lowest = min(lowest, replicasOf(d))
		g.Expect(imageOf(d)).To(Equal(image("v2")), "the stable keeps its template")
		g.Expect(d.Status.AvailableReplicas).To(BeNumerically(">=", lowest),
			"available stable pods at %s (spec %d)", s.at.Format(time.RFC3339Nano), replicasOf(d))
	}
	g.Expect(lowest).To(Equal(int32(2)), "the stable went down to the 50%% step's count, no lower")
}

// expectHeldAtHalf checks what a controller that took over at 50% (v1 → v2) did to the
// Deployments: the canary is the same one, at 50% until promotion removed it, and the
// stable is at 50% or promoted, never split again.
func expectHeldAtHalf(g *WithT, canary []observed[*appsv1.Deployment], canaryUID types.UID, stable []observed[*appsv1.Deployment]) {
	for _, s := range canary {
		g.Expect(s.obj.GetUID()).To(Equal(canaryUID), "the canary was not re-created")
		if !s.deleted {
			g.Expect(replicasOf(s.obj)).To(Equal(int32(2)), "the canary stayed at 50%% until promotion")
		}
	}
	for _, s := range stable {
		g.Expect([]any{replicasOf(s.obj), imageOf(s.obj)}).To(Or(
			Equal([]any{int32(2), image("v1")}), Equal([]any{int32(canaryReplicas), image("v2")})),
			"the stable is at 50%% or promoted, nothing else")
	}
}

// expectStep waits until the rollout of revision is at step (weight) with the split live:
// canary pods on the new image, the stable's on the old, all available.
func expectStep(g *WithT, f *fixture, app *landfallv1.Application, ns, revision string, step, weight, canary int32,
	stableImage, canaryImage string) {
	g.Eventually(func(g Gomega) {
		ro := envStatus(g, f.get(g, app), "production").Rollout
		g.Expect(ro).NotTo(BeNil())
		g.Expect(ro.Revision).To(Equal(revision))
		g.Expect([]int32{ro.Step, ro.Weight}).To(Equal([]int32{step, weight}), "%s", ro.Message)
		s, c := deployment(g, f.e.k8s, ns, "web"), deployment(g, f.e.k8s, ns, "web-canary")
		g.Expect(c.Spec.Template.Labels).To(HaveKeyWithValue(canaryLabel, "true"))
		g.Expect(c.Spec.Selector.MatchLabels).To(HaveKeyWithValue(canaryLabel, "true"))
		g.Expect([]any{imageOf(s), replicasOf(s), s.Status.AvailableReplicas}).
			To(Equal([]any{stableImage, canaryReplicas - canary, canaryReplicas - canary}), "stable")
		g.Expect([]any{imageOf(c), replicasOf(c), c.Status.AvailableReplicas}).
			To(Equal([]any{canaryImage, canary, canary}), "canary")
	}, rolloutTimeout, poll).Should(Succeed(), "step %d (%d%%) of %s", step, weight, revision)
}

// expectDeleted waits until the Deployment ns/name is gone.
func expectDeleted(g *WithT, c client.Client, ns, name, why string) {
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(context.Background(), key(ns, name), &appsv1.Deployment{}))
	}, timeout, poll).Should(BeTrue(), why)
}

// servedPods counts the ready endpoints of a Service by whether their pod carries the
// canary label.
func servedPods(g Gomega, c client.Client, ns, service string) map[bool]int {
	ctx := context.Background()
	slices := &discoveryv1.EndpointSliceList{}
	g.Expect(c.List(ctx, slices, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: service})).To(Succeed())
	out := map[bool]int{}
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.TargetRef == nil || ep.Conditions.Ready == nil || !*ep.Conditions.Ready {
				continue
			}
			pod := &corev1.Pod{}
			g.Expect(c.Get(ctx, key(ns, ep.TargetRef.Name), pod)).To(Succeed())
			out[pod.Labels[canaryLabel] == "true"]++
		}
	}
	return out
}
