package examples_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/test/cluster"
)

// TestTenantsExampleApplied renders examples/tenants as `kubectl apply -k` would and applies
// it to a real kube-apiserver: the platform's namespaces, two TenantPolicies, each team's
// ServiceAccount and bindings, and each team's Repository and Application are accepted,
// and the bindings grant what the README says: the payments team's ServiceAccount may
// deploy into team-payments and not into production.
func TestTenantsExampleApplied(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	res, err := render.New().Render(ctx, render.Input{Root: examplesDir, Path: "tenants", Namespace: "default",
		Policy: render.Policy{AllowClusterScoped: true, AllowedNamespaces: []string{"*"}}})
	g.Expect(err).NotTo(HaveOccurred())
	kinds := map[string]int{}
	for _, o := range res.Objects {
		kinds[o.GetKind()]++
	}
	g.Expect(kinds).To(Equal(map[string]int{"Namespace": 4, "TenantPolicy": 2, "ServiceAccount": 2, "ClusterRole": 1, "RoleBinding": 3,
		"Repository": 2, "Application": 2}))

	env, err := cluster.NewEnvtest()
	g.Expect(err).NotTo(HaveOccurred())
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	scheme, err := controllers.NewScheme()
	g.Expect(err).NotTo(HaveOccurred())
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	// Namespaces first, as kubectl orders them.
	for _, pass := range []bool{true, false} {
		for _, o := range res.Objects {
			if (o.GetKind() == "Namespace") == pass {
				g.Expect(c.Create(ctx, o.DeepCopy())).To(Succeed(), "%s %s", o.GetKind(), o.GetName())
			}
		}
	}
	policies := &landfallv1.TenantPolicyList{}
	g.Expect(c.List(ctx, policies)).To(Succeed())
	g.Expect(policies.Items).To(HaveLen(2))
	apps := &unstructured.UnstructuredList{}
	apps.SetAPIVersion(landfallv1.GroupVersion.String())
	apps.SetKind("ApplicationList")
	g.Expect(c.List(ctx, apps)).To(Succeed())
	g.Expect(apps.Items).To(HaveLen(2))

	for _, c2 := range []struct {
		user, namespace string
		allowed         bool
	}{
		{"system:serviceaccount:team-payments:deployer", "team-payments", true},
		{"system:serviceaccount:team-payments:deployer", "production", false},
		{"system:serviceaccount:shop:deployer", "production", true},
		{"system:serviceaccount:shop:deployer", "team-payments", false},
	} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: c2.user,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: c2.namespace, Verb: "create", Group: "apps", Resource: "deployments"}}}
		g.Expect(c.Create(ctx, sar)).To(Succeed())
		g.Expect(sar.Status.Allowed).To(Equal(c2.allowed), "%s creating Deployments in %s", c2.user, c2.namespace)
	}
}
