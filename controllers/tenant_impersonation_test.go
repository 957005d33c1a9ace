package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/tenant"
)

// grant binds a Role of rules in namespace ns to the ServiceAccount sa of saNamespace.
func grant(t *testing.T, ns, saNamespace, sa, name string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	if err := tenant.Grant(context.Background(), k8s, ns, saNamespace, sa, name, rules...); err != nil {
		t.Fatal(err)
	}
}

func readyCondition(g Gomega, f *fixture) *metav1.Condition {
	c := apimeta.FindStatusCondition(f.get(g).Status.Conditions, landfallv1.ConditionReady)
	g.Expect(c).NotTo(BeNil())
	return c
}

func hasEventWith(g Gomega, ns, reason, text string) bool {
	events := &corev1.EventList{}
	g.Expect(k8s.List(context.Background(), events, client.InNamespace(ns))).To(Succeed())
	for _, e := range events.Items {
		if e.Reason == reason && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// An Application deploys as its ServiceAccount: missing, it deploys nothing and says so;
// lacking a permission, the apiserver's refusal (verb and resource) is the condition and
// the controller's own rights are not used instead; granted, it syncs.
func TestApplicationDeploysAsItsServiceAccount(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	var target string
	f := newFixture(t, appFiles(), func(a *landfallv1.Application) {
		a.Spec.ServiceAccountName = "deployer"
		target = a.Namespace + "-staging"
		// A tenant that may not create namespaces deploys into one the platform made.
		g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: target}})).To(Succeed())
	})

	g.Eventually(func(g Gomega) {
		c := readyCondition(g, f)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonServiceAccountNotFound))
		g.Expect(c.Message).To(ContainSubstring(f.ns + "/deployer"))
		stalled := apimeta.FindStatusCondition(f.get(g).Status.Conditions, landfallv1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(hasEventWith(g, f.ns, landfallv1.ReasonServiceAccountNotFound, "deployer")).To(BeTrue())
	}, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(exists(target, "web-config", &corev1.ConfigMap{})())).To(BeTrue())

	// The ServiceAccount may write ConfigMaps and Services, not Deployments.
	g.Expect(k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: f.ns}})).To(Succeed())
	all := tenant.AllVerbs
	grant(t, target, f.ns, "deployer", "config", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps", "services"}, Verbs: all})
	f.update(g, func(a *landfallv1.Application) {
		a.Annotations = map[string]string{landfallv1.AnnotationSyncRequestedAt: "1"}
	})
	g.Eventually(func(g Gomega) {
		c := readyCondition(g, f)
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonApplyFailed))
		g.Expect(c.Message).To(ContainSubstring(`User "system:serviceaccount:` + f.ns + `:deployer" cannot`))
		g.Expect(c.Message).To(ContainSubstring(`resource "deployments" in API group "apps"`))
	}, timeout, poll).Should(Succeed())
	// The controller may create Deployments; it did not do so on the tenant's behalf.
	g.Consistently(func() bool { return apierrors.IsNotFound(exists(target, "web", &appsv1.Deployment{})()) }, 2*time.Second, poll).Should(BeTrue())

	grant(t, target, f.ns, "deployer", "apps", rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: all})
	f.update(g, func(a *landfallv1.Application) { a.Annotations[landfallv1.AnnotationSyncRequestedAt] = "2" })
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g), "staging")
		g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced))
		g.Expect(st.Inventory.Entries).To(HaveLen(3))
	}, timeout, poll).Should(Succeed())
	dep := &appsv1.Deployment{}
	g.Expect(exists(target, "web", dep)()).To(Succeed())
	g.Expect(dep.ManagedFields).NotTo(BeEmpty())

	// Drift is watched as the ServiceAccount, in its namespace: a hand edit is healed.
	cm := &corev1.ConfigMap{}
	g.Expect(exists(target, "web-config", cm)()).To(Succeed())
	cm.Data["greeting"] = "edited by hand"
	g.Expect(k8s.Update(ctx, cm)).To(Succeed())
	g.Eventually(func(g Gomega) string {
		g.Expect(exists(target, "web-config", cm)()).To(Succeed())
		return cm.Data["greeting"]
	}, timeout, poll).Should(Equal("hello"))

	// The existence check reads an informer, not a request per sync: a deleted ServiceAccount
	// is seen at the next sync all the same, and nothing is deployed or pruned meanwhile.
	g.Expect(k8s.Delete(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: f.ns}})).To(Succeed())
	f.update(g, func(a *landfallv1.Application) { a.Annotations[landfallv1.AnnotationSyncRequestedAt] = "3" })
	g.Eventually(func(g Gomega) string { return readyCondition(g, f).Reason }, timeout, poll).
		Should(Equal(landfallv1.ReasonServiceAccountNotFound))
	g.Expect(exists(target, "web", dep)()).To(Succeed())
}
