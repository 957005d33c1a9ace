package controllers_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestPreviewStaysInsideItsTenant: in a namespace a TenantPolicy selects, a pull request's
// preview namespace is the tenant's (its labels, the tenant label, its quota and
// isolation), and a Preview whose namespace template leaves the policy's destinations is
// refused with PolicyViolation naming the rule; no namespace is made for it.
func TestPreviewStaysInsideItsTenant(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newPreviewFixture(t)
	policy := newPolicy(t, "team-"+f.ns, landfallv1.TenantPolicySpec{
		Namespaces: []string{f.ns}, Repositories: []string{"http://127.0.0.1:*/*"}, Destinations: []string{f.ns + "-pr-*"},
		NamespaceLabels: map[string]string{"team": "previews"},
		Isolation:       &landfallv1.TenantIsolation{},
		Quota:           map[string]resource.Quantity{"pods": resource.MustParse("5")},
	})
	commit := f.openPR(t, 1, prFiles(1, "v1", nil))
	f.create(t, nil)
	e := f.expectRunning(g, 1, commit)
	g.Expect(e.Namespace).To(Equal(f.ns + "-pr-1"))

	ns := &corev1.Namespace{}
	g.Expect(exists("", e.Namespace, ns)()).To(Succeed())
	g.Expect(ns.Labels).To(HaveKeyWithValue("team", "previews"))
	g.Expect(ns.Labels).To(HaveKeyWithValue(landfallv1.LabelTenant, policy.Name))
	g.Eventually(func(g Gomega) {
		quota := &corev1.ResourceQuota{}
		g.Expect(exists(e.Namespace, "landfall-tenant", quota)()).To(Succeed())
		g.Expect(quota.Spec.Hard.Pods().String()).To(Equal("5"))
		g.Expect(exists(e.Namespace, "landfall-tenant", &networkingv1.NetworkPolicy{})()).To(Succeed())
	}, timeout, poll).Should(Succeed())

	outside := &landfallv1.Preview{
		ObjectMeta: metav1.ObjectMeta{Name: "outside", Namespace: f.ns},
		Spec: landfallv1.PreviewSpec{
			RepositoryRef: landfallv1.LocalObjectReference{Name: f.repo.Name}, Refs: []string{"refs/pull/*/head"},
			NamespaceTemplate: "elsewhere-" + f.ns + "-{{.Number}}", Template: landfallv1.EnvironmentTemplate{Path: "apps/web"},
		},
	}
	g.Expect(k8s.Create(ctx, outside)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), outside) })
	g.Eventually(func(g Gomega) {
		p := &landfallv1.Preview{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(outside), p)).To(Succeed())
		g.Expect(p.Status.Previews).NotTo(BeEmpty())
		g.Expect(p.Status.Previews[0].Message).To(And(ContainSubstring("matches none of destinations"), ContainSubstring("TenantPolicy "+policy.Name)))
	}, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(exists("", "elsewhere-"+f.ns+"-1", &corev1.Namespace{})())).To(BeTrue())
}
