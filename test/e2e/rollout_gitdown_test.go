package e2e

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestRollbackWhileGitIsDown: a bad image reaches staging, then the Git server stops
// answering (the Repository's fetch fails), then the Deployment misses its progress
// deadline. The rollback still happens, from the last healthy objects Landfall stored in
// the cluster; once Git is back the next commit deploys.
func TestRollbackWhileGitIsDown(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	f := newFixture(t, e, webApp("apps/web", image("v1"), 2))
	staging := f.ns + "-staging"
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "staging", Namespace: staging}},
		func(s *landfallv1.ApplicationSpec) {
			s.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
		})
	good := revisionOf(f.srv.Head(t, "refs/heads/main"))
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "staging", good) }, rolloutTimeout, poll).Should(Succeed())
	g.Expect(string(storedRevision(g, e.k8s, f.get(g, app), "staging").Data["revision"])).
		To(Equal(good), "the healthy revision's objects are kept in the cluster")

	bad := f.pushImage(t, "apps/web", "bad", 2)
	g.Eventually(func(g Gomega) string { return imageOf(deployment(g, e.k8s, staging, "web")) }, timeout, poll).
		Should(Equal(image("bad")))
	f.srv.SetDown(true)
	f.webhook(t) // makes the Repository fetch now, and fail
	g.Eventually(func(g Gomega) {
		repo := &landfallv1.Repository{}
		g.Expect(e.k8s.Get(ctx, client.ObjectKeyFromObject(f.repo), repo)).To(Succeed())
		c := apimeta.FindStatusCondition(repo.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonFetchFailed), "%s", c.Message)
	}, timeout, poll).Should(Succeed(), "the controller cannot reach Git")

	expectRolledBack(t, f, app, "staging", bad, good, "Degraded", "progress deadline exceeded")
	g.Expect(imageOf(waitRolledOut(g, e.k8s, staging, "web", 2))).To(Equal(image("v1")))
	repo := &landfallv1.Repository{}
	g.Expect(e.k8s.Get(ctx, client.ObjectKeyFromObject(f.repo), repo)).To(Succeed())
	g.Expect(apimeta.FindStatusCondition(repo.Status.Conditions, landfallv1.ConditionReady).Reason).
		To(Equal(landfallv1.ReasonFetchFailed), "Git was still down during the rollback")

	f.srv.SetDown(false)
	next := f.pushImage(t, "apps/web", "v2", 2)
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "staging", next) }, rolloutTimeout, poll).Should(Succeed())
	g.Expect(imageOf(waitRolledOut(g, e.k8s, staging, "web", 2))).To(Equal(image("v2")))
}
