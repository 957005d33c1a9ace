package chart_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// rollsBack: a commit whose image never becomes Ready is rolled back by the controller with
// the chart's rights alone. It keeps the last healthy revision's objects in a Secret next to
// the Application and applies them again; status and the live Deployment say so, and
// nothing it did was forbidden. A good commit then deploys as usual, so later steps start
// healthy.
func rollsBack(t *testing.T, f *fixture, rel releaseRef, ctl *controller, shop *shopApp) {
	g := NewWithT(t)
	withoutDeployableSecrets(t, f, rel)
	mark := ctl.LogMark()
	// The Deployment's progress deadline normally has the bad image Degraded in seconds;
	// the health timeout bounds the rollout should that verdict never come.
	shop.setHealthTimeout(t, time.Minute)
	shop.waitReady(t)
	good := shop.envStatus(g, shop.get(g)).Revision
	g.Expect(good).To(HaveSuffix(shop.git.Head(t, "refs/heads/main")))
	expectStoredRevision(t, f, shop, good)

	bad := shop.commitImage(t, "bonjour", "bad")
	shop.requestFetch(t)
	g.Eventually(func(g Gomega) {
		app := shop.get(g)
		st := shop.envStatus(g, app)
		g.Expect(st.Rollout).NotTo(BeNil())
		g.Expect(st.Rollout.Revision).To(HaveSuffix(bad))
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutRolledBack), st.Rollout.Message)
		g.Expect(st.Revision).To(Equal(good), "back on the last healthy revision")
		cond := readyCondition(app)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Reason).To(Equal(landfallv1.ReasonRolledBack), cond.Message)
	}).WithTimeout(90 * time.Second).Should(Succeed())
	t.Logf("rolled back: %s", readyCondition(shop.get(g)).Message)
	expectImageApplied(t, f, shop, webImage("bad"))
	d := &appsv1.Deployment{}
	g.Expect(f.admin.Get(context.Background(), client.ObjectKey{Namespace: shop.target, Name: "web"}, d)).To(Succeed())
	g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(webImage(goodTag)), "the live Deployment is back on the good image")
	expectStoredRevision(t, f, shop, good) // a revision that failed is never the one kept
	g.Expect(ctl.LogSince(mark)).NotTo(ContainSubstring("forbidden"), "the chart must grant everything the rollback did")

	// A newer commit deploys past the failed one, and the Secret that held the good
	// revision is updated to hold it.
	next := shop.commit(t, "salut")
	shop.requestFetch(t)
	shop.waitReady(t)
	expectStoredRevision(t, f, shop, "main@sha1:"+next)
	g.Expect(ctl.LogSince(mark)).NotTo(ContainSubstring("forbidden"))
}

// withoutDeployableSecrets upgrades the release with Secrets taken out of the deployable
// kinds until the test ends. By default those rules let Landfall write Secrets everywhere,
// which would hide whether its own rules grant what its revision store needs.
func withoutDeployableSecrets(t *testing.T, f *fixture, rel releaseRef) {
	t.Helper()
	if rel.lockedDown {
		return // Landfall holds none of the deployable rules at all
	}
	rules := withoutResource(defaultDeployableRules(t), "secrets")
	helmUpgrade(t, f.cluster.Kubeconfig, rel.name, rel.namespace, map[string]any{"rbac": map[string]any{"deployableRules": rules}})
	t.Cleanup(func() { helmUpgrade(t, f.cluster.Kubeconfig, rel.name, rel.namespace, nil) })
}

// expectStoredRevision waits until the Secret of the Application's staging revision store,
// next to the Application, holds revision: the objects a rollback goes back to.
func expectStoredRevision(t *testing.T, f *fixture, shop *shopApp, revision string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		sec, err := storedRevision(f.admin, shop.app.Namespace, shop.app.Name, "staging")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(sec.Data["revision"])).To(Equal(revision))
		g.Expect(sec.Data).To(HaveKey("objects.json.gz"))
	}).WithTimeout(30*time.Second).Should(Succeed(), "the stored revision of %s", shop.app)
}

// storedRevision finds the Secret that keeps an environment's last healthy revision: by
// its labels and type, as its name is a hash of the Application's UID.
func storedRevision(c client.Client, ns, app, env string) (*corev1.Secret, error) {
	list := &corev1.SecretList{}
	if err := c.List(context.Background(), list, client.InNamespace(ns), client.MatchingLabels{
		"landfall.dev/application": ns + "." + app, "landfall.dev/environment": env}); err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].Type == "landfall.dev/rendered-revision" {
			return &list.Items[i], nil
		}
	}
	return nil, fmt.Errorf("no stored revision of %s/%s %s", ns, app, env)
}

// expectImageApplied checks that a ReplicaSet of the shop's Deployment ran image: the
// Deployment had it, however briefly.
func expectImageApplied(t *testing.T, f *fixture, shop *shopApp, image string) {
	t.Helper()
	g := NewWithT(t)
	list := &appsv1.ReplicaSetList{}
	g.Expect(f.admin.List(context.Background(), list, client.InNamespace(shop.target), client.MatchingLabels{"app": "web"})).To(Succeed())
	var images []string
	for _, rs := range list.Items {
		images = append(images, rs.Spec.Template.Spec.Containers[0].Image)
	}
	g.Expect(images).To(ContainElement(image))
}
