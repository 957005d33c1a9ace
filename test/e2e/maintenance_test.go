package e2e

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// maintenanceBake is long enough to edit production by hand and see it healed while
// staging bakes.
const maintenanceBake = 40 * time.Second

// TestProductionKeptWhileStagingFailsOrBakes: promotion waits for staging, maintenance
// does not. Staging is rolled back from a bad image and waits for a new commit; later it
// bakes a good one. Both times production, scaled by hand, is healed at its last promoted
// revision and its status says so, while staging is still in that state.
func TestProductionKeptWhileStagingFailsOrBakes(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, webApp("apps/web", image("v1"), 2))
	staging, production := f.ns+"-staging", f.ns+"-prod"
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{
		{Name: "staging", Namespace: staging, BakeTime: &metav1.Duration{Duration: maintenanceBake}},
		{Name: "production", Namespace: production},
	}, func(s *landfallv1.ApplicationSpec) {
		s.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutRolling, HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
	})
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))
	waitCompleted(t, f, app, first, rolloutTimeout+maintenanceBake, "staging", "production")
	waitRolledOut(g, e.k8s, production, "web", 2)

	// Staging rolled back: it waits for a person (a new commit); production is kept.
	bad := f.pushImage(t, "apps/web", "bad", 2)
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g, app), "staging")
		g.Expect(st.Rollout.Revision).To(Equal(bad))
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutRolledBack), st.Message)
	}, rolloutTimeout, poll).Should(Succeed())
	healProduction(t, f, app, production, first, func(g Gomega, staging landfallv1.EnvironmentStatus) {
		g.Expect(staging.Rollout.Phase).To(Equal(landfallv1.RolloutRolledBack))
	})

	// Staging bakes a good commit: production keeps its revision and is kept.
	good := f.pushImage(t, "apps/web", "v2", 2)
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g, app), "staging")
		g.Expect(st.Rollout.Revision).To(Equal(good))
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutBaking), st.Message)
	}, rolloutTimeout, poll).Should(Succeed())
	healProduction(t, f, app, production, first, func(g Gomega, staging landfallv1.EnvironmentStatus) {
		g.Expect(staging.Rollout.Phase).To(Equal(landfallv1.RolloutBaking), "healed while staging still bakes")
	})

	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", good) }, rolloutTimeout+maintenanceBake, poll).Should(Succeed())
}

// healProduction scales production's Deployment by hand and waits for self-heal to put it
// back, checking production's status and the state of staging when it was seen healed.
func healProduction(t *testing.T, f *fixture, app *landfallv1.Application, production, revision string,
	stagingThen func(Gomega, landfallv1.EnvironmentStatus)) {
	t.Helper()
	g := NewWithT(t)
	edited := time.Now()
	scale(g, f.e.k8s, production, "web", 5)
	g.Eventually(func(g Gomega) int32 { return replicasOf(deployment(g, f.e.k8s, production, "web")) }, timeout, poll).
		Should(Equal(int32(2)), "production is healed")
	healed := time.Since(edited)
	got := f.get(g, app)
	stagingThen(g, envStatus(g, got, "staging"))
	t.Logf("production scaled by hand, healed after %s", healed.Round(time.Millisecond))
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		prod := envStatus(g, got, "production")
		g.Expect(prod.Revision).To(Equal(revision), "production keeps its last promoted revision")
		g.Expect(prod.Sync).To(Equal(landfallv1.SyncSynced))
		g.Expect(prod.Health).To(Equal(landfallv1.HealthHealthy))
		g.Expect(eventMessages(g, f.e.k8s, got, "SelfHealed")).To(ContainElement(ContainSubstring("environment production")))
	}, timeout, poll).Should(Succeed())
}
