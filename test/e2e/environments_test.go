package e2e

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestEnvironmentsAcrossClusters: staging (this cluster) and production (a second cluster,
// reached through a kubeconfig Secret) come from two Kustomize overlays of one base; each
// environment gets its own objects and its own status, and a push to one overlay changes
// only that environment's objects.
func TestEnvironmentsAcrossClusters(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	remote, remoteK8s := startRemote(t, "remote", 2)

	f := newFixture(t, e, testdata(t, "shop", "apps/shop"))
	kubeconfig, err := remote.UserKubeconfig("landfall-remote", "system:masters")
	must(t, err)
	must(t, e.k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "production-cluster", Namespace: f.ns},
		Data: map[string][]byte{"kubeconfig": kubeconfig}}))
	staging, production := f.ns+"-staging", f.ns+"-prod"
	app := f.application(t, "shop", "apps/shop", []landfallv1.Environment{
		{Name: "staging", Namespace: staging,
			EnvironmentTemplate: landfallv1.EnvironmentTemplate{Path: "apps/shop/overlays/staging"}},
		{Name: "production", Namespace: production,
			EnvironmentTemplate: landfallv1.EnvironmentTemplate{Path: "apps/shop/overlays/production"},
			Cluster:             &landfallv1.ClusterRef{SecretRef: landfallv1.LocalObjectReference{Name: "production-cluster"}}},
	}, nil)

	first := f.srv.Head(t, "refs/heads/main")
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), first) }, timeout, poll).Should(Succeed())
	stagingShop := waitRolledOut(g, e.k8s, staging, "shop", 1)
	waitRolledOut(g, remoteK8s, production, "shop", 3)
	expectEnvironmentConfig(g, e.k8s, staging, "staging")
	expectEnvironmentConfig(g, remoteK8s, production, "production")
	g.Expect(apierrors.IsNotFound(e.k8s.Get(ctx, key("", production), &corev1.Namespace{}))).To(BeTrue(),
		"production's namespace is not in this cluster")
	g.Expect(apierrors.IsNotFound(remoteK8s.Get(ctx, key("", staging), &corev1.Namespace{}))).To(BeTrue(),
		"staging's namespace is not in the production cluster")
	got := f.get(g, app)
	for env, ns := range map[string]string{"staging": staging, "production": production} {
		entries := envStatus(g, got, env).Inventory.Entries
		g.Expect(entries).To(HaveLen(3), "environment %s: Deployment, Service, ConfigMap", env)
		for _, entry := range entries {
			g.Expect(entry).To(ContainSubstring("_"+ns+"_"), "environment %s's inventory names only its namespace", env)
		}
	}

	// A push to the production overlay changes production only; both record the revision.
	overlay := testdata(t, "shop", "apps/shop")["apps/shop/overlays/production/kustomization.yaml"]
	commit := f.push(t, write(t, map[string]string{
		"apps/shop/overlays/production/kustomization.yaml": strings.Replace(overlay, "count: 3", "count: 2", 1)}))
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), commit) }, timeout, poll).Should(Succeed())
	waitRolledOut(g, remoteK8s, production, "shop", 2)
	after := &appsv1.Deployment{}
	g.Expect(e.k8s.Get(ctx, key(staging, "shop"), after)).To(Succeed())
	g.Expect(after.UID).To(Equal(stagingShop.UID))
	g.Expect(after.Generation).To(Equal(stagingShop.Generation), "staging's Deployment did not change")
}

// expectEnvironmentConfig checks the overlay's generated ConfigMap in one environment.
func expectEnvironmentConfig(g *WithT, c client.Client, ns, environment string) {
	list := &corev1.ConfigMapList{}
	g.Expect(c.List(context.Background(), list, client.InNamespace(ns),
		client.MatchingLabels{landfallv1.LabelManaged: "true"})).To(Succeed())
	g.Expect(list.Items).To(ConsistOf(And(
		HaveField("Name", HavePrefix("shop-config-")),
		HaveField("Data", HaveKeyWithValue("environment", environment)),
		HaveField("Data", HaveKeyWithValue("greeting", "hello")))))
}
