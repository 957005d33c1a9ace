package e2e

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

const (
	// stagingBake is how long staging must stay healthy before production takes a revision.
	stagingBake = 5 * time.Second
	// healthTimeout is far longer than the progress deadline: a bad image must be caught by
	// the Deployment reporting Degraded, not by running out of time.
	healthTimeout = 3 * time.Minute
)

// healthGatedApp creates an Application "web" that rolls the web app out to staging and
// then, after staging baked, to production; it waits until the first commit is live in
// both and returns the Application and the namespaces.
func healthGatedApp(t *testing.T, f *fixture) (app *landfallv1.Application, staging, production string) {
	t.Helper()
	staging, production = f.ns+"-staging", f.ns+"-prod"
	app = f.application(t, "web", "apps/web", []landfallv1.Environment{
		{Name: "staging", Namespace: staging, BakeTime: &metav1.Duration{Duration: stagingBake}},
		{Name: "production", Namespace: production},
	}, func(s *landfallv1.ApplicationSpec) {
		s.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutRolling,
			HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
	})
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))
	NewWithT(t).Eventually(func(g Gomega) {
		got := f.get(g, app)
		expectCompleted(g, got, "staging", first)
		expectCompleted(g, got, "production", first)
	}, rolloutTimeout, poll).Should(Succeed())
	return app, staging, production
}

// TestHealthGatesPromotion follows three commits through staging and production on the
// full cluster: a good one is promoted to production only after staging baked; a bad image
// makes staging's Deployment miss its progress deadline (Degraded), staging rolls back to
// the previous revision by itself, production is never touched, and status, an Event and
// the controller's metric say why; the next good commit deploys normally.
func TestHealthGatesPromotion(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, webApp("apps/web", image("v1"), 2))
	app, staging, production := healthGatedApp(t, f)

	good := f.pushImage(t, "apps/web", "v2", 2)
	expectPromotedAfterBake(t, f, app, good)
	waitRolledOut(g, e.k8s, staging, "web", 2)
	waitRolledOut(g, e.k8s, production, "web", 2)

	prodBefore := deployment(g, e.k8s, production, "web")
	bad := f.pushImage(t, "apps/web", "bad", 2)
	g.Eventually(func(g Gomega) string { return imageOf(deployment(g, e.k8s, staging, "web")) }, timeout, poll).
		Should(Equal(image("bad")), "the bad image reaches staging")
	_, failed := historyIndex(expectRolledBack(t, f, app, "staging", bad, good, "Degraded", "progress deadline exceeded"), "staging", bad)
	g.Expect(failed.FinishedAt.Sub(failed.StartedAt.Time)).To(BeNumerically("<", healthTimeout), "caught within the health timeout")
	g.Expect(rollbacks(g, e, app, "staging", "HealthTimeout")).To(BeZero(), "the Degraded path, not the timeout, rolled back")
	g.Expect(imageOf(waitRolledOut(g, e.k8s, staging, "web", 2))).To(Equal(image("v2")))

	got := f.get(g, app)
	prod := envStatus(g, got, "production")
	g.Expect(prod.Revision).To(Equal(good))
	g.Expect(prod.DesiredRevision).To(Equal(good), "promotion stopped at staging")
	i, _ := historyIndex(got, "production", bad)
	g.Expect(i).To(Equal(-1), "production never started the bad revision")
	prodAfter := deployment(g, e.k8s, production, "web")
	g.Expect(prodAfter.UID).To(Equal(prodBefore.UID))
	g.Expect(prodAfter.Generation).To(Equal(prodBefore.Generation), "production's Deployment was not written")
	g.Expect(imageOf(prodAfter)).To(Equal(image("v2")))

	next := f.pushImage(t, "apps/web", "v3", 2)
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		expectCompleted(g, got, "staging", next)
		expectCompleted(g, got, "production", next)
		g.Expect(envStatus(g, got, "staging").FailedRevisions).To(ContainElement(bad), "the failed revision stays failed")
	}, rolloutTimeout, poll).Should(Succeed())
	g.Expect(imageOf(waitRolledOut(g, e.k8s, staging, "web", 2))).To(Equal(image("v3")))
	g.Expect(imageOf(waitRolledOut(g, e.k8s, production, "web", 2))).To(Equal(image("v3")))
}

// expectPromotedAfterBake waits until revision completed in staging and production, and
// checks the timeline in the history: staging succeeded, then production started no
// sooner than the bake time later.
func expectPromotedAfterBake(t *testing.T, f *fixture, app *landfallv1.Application, revision string) {
	t.Helper()
	g := NewWithT(t)
	var got *landfallv1.Application
	g.Eventually(func(g Gomega) {
		got = f.get(g, app)
		expectCompleted(g, got, "staging", revision)
		expectCompleted(g, got, "production", revision)
	}, rolloutTimeout, poll).Should(Succeed())
	si, st := historyIndex(got, "staging", revision)
	pi, prod := historyIndex(got, "production", revision)
	g.Expect(si).To(BeNumerically(">=", 0), "staging's history entry")
	g.Expect(pi).To(BeNumerically(">=", 0), "production's history entry")
	g.Expect(pi).To(BeNumerically("<", si), "history is newest first: production's entry came after staging's")
	for _, h := range []landfallv1.HistoryEntry{st, prod} {
		g.Expect(h.Result).To(Equal(landfallv1.ResultSucceeded), "%s", h.Environment)
		g.Expect(h.FinishedAt).NotTo(BeNil(), "%s", h.Environment)
		g.Expect(h.FinishedAt.Time).NotTo(BeTemporally("<", h.StartedAt.Time), "%s", h.Environment)
	}
	// History times are whole seconds, and staging's entry is stamped a moment after the
	// bake's clock started, so the comparison allows one second.
	g.Expect(prod.StartedAt.Time).To(BeTemporally(">=", st.FinishedAt.Add(stagingBake-time.Second)),
		"production started %s after staging succeeded; the bake is %s",
		prod.StartedAt.Sub(st.FinishedAt.Time), stagingBake)
	promoted := eventMessages(g, f.e.k8s, got, "Promoted")
	g.Expect(promoted).To(ContainElement(And(ContainSubstring("staging"), ContainSubstring(revision))))
	g.Expect(promoted).To(ContainElement(And(ContainSubstring("production"), ContainSubstring(revision))))
}

// expectRolledBack waits until environment rolled back from bad to good for reason, and
// checks that the condition, the history, a Warning Event and the controller's metric
// name it; cause is what the message must also say. It returns the Application as it
// was when the rollback was seen.
func expectRolledBack(t *testing.T, f *fixture, app *landfallv1.Application, environment, bad, good, reason, cause string) *landfallv1.Application {
	t.Helper()
	g := NewWithT(t)
	var got *landfallv1.Application
	g.Eventually(func(g Gomega) {
		got = f.get(g, app)
		st := envStatus(g, got, environment)
		g.Expect(st.Rollout).NotTo(BeNil())
		g.Expect(st.Rollout.Revision).To(Equal(bad))
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutRolledBack), "%s", st.Rollout.Message)
		g.Expect(st.Revision).To(Equal(good), "back on the last healthy revision")
		g.Expect(st.LastHealthyRevision).To(Equal(good))
		g.Expect(st.FailedRevisions).To(ContainElement(bad))
	}, rolloutTimeout, poll).Should(Succeed())
	r, msg := readyReason(got)
	g.Expect(r).To(Equal(landfallv1.ReasonRolledBack))
	g.Expect(msg).To(And(ContainSubstring(environment), ContainSubstring(reason), ContainSubstring(cause)))
	_, h := historyIndex(got, environment, bad)
	g.Expect(h.Result).To(Equal(landfallv1.ResultRolledBack))
	g.Expect(h.Message).To(ContainSubstring(reason))
	g.Eventually(func(g Gomega) []string { return eventMessages(g, f.e.k8s, got, landfallv1.ReasonRolledBack) }, timeout, poll).
		Should(ContainElement(And(ContainSubstring(environment), ContainSubstring(bad), ContainSubstring(reason))))
	g.Expect(rollbacks(g, f.e, got, environment, reason)).To(Equal(1.0))
	return got
}
