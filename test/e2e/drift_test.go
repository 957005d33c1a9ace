package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestScaleByHand: with selfHeal a Deployment scaled by hand (through the scale
// subresource, as kubectl scale does) is put back (the time it took is logged; a loaded
// machine must not fail the test, so the deadline is generous); without it the drift is
// reported as OutOfSync naming the Deployment, and left alone.
func TestScaleByHand(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	f := newFixture(t, e, testdata(t, "web", "apps/web"))
	target := f.ns + "-staging"
	app := f.syncedApplication(t, "web", "apps/web", "staging", target)
	waitRolledOut(g, e.k8s, target, "web", 2)

	scaled := time.Now()
	scale(g, e.k8s, target, "web", 5)
	g.Eventually(func(g Gomega) int32 {
		d := &appsv1.Deployment{}
		g.Expect(e.k8s.Get(ctx, key(target, "web"), d)).To(Succeed())
		g.Expect(d.Generation).To(BeNumerically(">", 2), "the scale to 5 went through before the heal")
		return *d.Spec.Replicas
	}, timeout, 10*time.Millisecond).Should(Equal(int32(2)), "self-heal puts spec.replicas back")
	t.Logf("scaled by hand to 5, healed back to 2 after %s", time.Since(scaled).Round(time.Millisecond))

	f.waitObserved(g, app, f.updateSpec(g, app, func(s *landfallv1.ApplicationSpec) { s.SelfHeal = false }))

	scale(g, e.k8s, target, "web", 4)
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g, app), "staging")
		g.Expect(st.Sync).To(Equal(landfallv1.SyncOutOfSync))
		g.Expect(st.OutOfSync).To(ContainElement("Deployment.apps/" + target + "/web"))
	}, timeout, poll).Should(Succeed())
	g.Expect(f.get(g, app).Status.Sync).To(Equal(landfallv1.SyncOutOfSync))
	// The reconcile that reported the drift has finished: had it healed, it would show.
	d := &appsv1.Deployment{}
	g.Expect(e.k8s.Get(ctx, key(target, "web"), d)).To(Succeed())
	g.Expect(*d.Spec.Replicas).To(Equal(int32(4)), "the hand edit is left alone")
}

// scale sets a Deployment's replicas through its scale subresource, as kubectl scale does,
// reading it again when the controller-manager wrote its status in between (a conflict).
func scale(g *WithT, c client.Client, ns, name string, replicas int32) {
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d := &appsv1.Deployment{}
		if err := c.Get(context.Background(), key(ns, name), d); err != nil {
			return err
		}
		s := &autoscalingv1.Scale{}
		if err := c.SubResource("scale").Get(context.Background(), d, s); err != nil {
			return err
		}
		s.Spec.Replicas = replicas
		return c.SubResource("scale").Update(context.Background(), d, client.WithSubResourceBody(s))
	})).To(Succeed())
}
