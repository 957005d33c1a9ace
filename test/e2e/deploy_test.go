package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestPushDeploys: a push adding a Deployment, a Service and a ConfigMap, announced by a
// webhook, is applied into the environment's namespace (which Landfall creates), stamped as
// Landfall's, and the Deployment becomes Available.
func TestPushDeploys(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	f := newFixture(t, e, testdata(t, "web-seed", "apps/web"))
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "staging", Namespace: f.ns + "-staging"}}, nil)
	target := f.ns + "-staging"
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), f.srv.Head(t, "refs/heads/main")) }, timeout, poll).Should(Succeed())

	commit := f.srv.CommitChange(t, "main", write(t, testdata(t, "web", "apps/web")))
	pushed := time.Now()
	f.webhook(t)
	objects := []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &corev1.ConfigMap{}}
	names := []string{"web", "web", "web-config"}
	g.Eventually(func() error {
		for i, o := range objects {
			if err := e.k8s.Get(ctx, key(target, names[i]), o); err != nil {
				return err
			}
		}
		return nil
	}, timeout, 10*time.Millisecond).Should(Succeed())
	t.Logf("push to applied (webhook sent → Deployment, Service and ConfigMap readable): %s", time.Since(pushed).Round(time.Millisecond))

	for _, o := range objects {
		g.Expect(o.GetLabels()).To(HaveKeyWithValue(landfallv1.LabelManaged, "true"))
		g.Expect(o.GetLabels()).To(HaveKeyWithValue(landfallv1.LabelApplication, f.ns+".web"))
		g.Expect(o.GetLabels()).To(HaveKeyWithValue(landfallv1.LabelEnvironment, "staging"))
		g.Expect(o.GetAnnotations()).To(HaveKeyWithValue(landfallv1.AnnotationOwner, f.ns+"/web/staging"))
	}
	ns := &corev1.Namespace{}
	g.Expect(e.k8s.Get(ctx, key("", target), ns)).To(Succeed())
	g.Expect(ns.Labels).To(HaveKeyWithValue(landfallv1.LabelManaged, "true"), "Landfall created the namespace")

	waitRolledOut(g, e.k8s, target, "web", 2)
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		expectSynced(g, got, commit)
		g.Expect(envStatus(g, got, "staging").Inventory.Entries).To(HaveLen(4))
	}, timeout, poll).Should(Succeed())
}

// TestConfigMapGeneratorRolls: changing a Kustomize configMapGenerator literal makes a new
// ConfigMap (new hash suffix), the Deployment's pod template refers to it, so the
// Deployment rolls out a new ReplicaSet; the old ConfigMap is pruned.
func TestConfigMapGeneratorRolls(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	f := newFixture(t, e, testdata(t, "shop", "apps/shop"))
	target := f.ns + "-staging"
	f.application(t, "shop", "apps/shop", []landfallv1.Environment{
		{Name: "staging", Namespace: target, EnvironmentTemplate: landfallv1.EnvironmentTemplate{Path: "apps/shop/overlays/staging"}},
	}, nil)
	first := waitRolledOut(g, e.k8s, target, "shop", 1)
	oldConfig := configMapOf(first)
	g.Expect(oldConfig).To(HavePrefix("shop-config-"), "the generator's name carries a content hash")
	oldRS := replicaSetOf(g, e.k8s, first)

	base := testdata(t, "shop", "apps/shop")["apps/shop/base/kustomization.yaml"]
	changed := strings.Replace(base, "greeting=hello", "greeting=bonjour", 1)
	g.Expect(changed).NotTo(Equal(base))
	f.push(t, write(t, map[string]string{"apps/shop/base/kustomization.yaml": changed}))

	var rolled *appsv1.Deployment
	g.Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(e.k8s.Get(ctx, key(target, "shop"), d)).To(Succeed())
		g.Expect(configMapOf(d)).NotTo(Equal(oldConfig))
		rolled = d
	}, timeout, poll).Should(Succeed())
	newConfig := configMapOf(rolled)
	cm := &corev1.ConfigMap{}
	g.Expect(e.k8s.Get(ctx, key(target, newConfig), cm)).To(Succeed())
	g.Expect(cm.Data).To(HaveKeyWithValue("greeting", "bonjour"))

	rolled = waitRolledOut(g, e.k8s, target, "shop", 1)
	newRS := replicaSetOf(g, e.k8s, rolled)
	g.Expect(newRS.Name).NotTo(Equal(oldRS.Name), "a new ReplicaSet for the new pod template")
	g.Expect(configMapOf(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: newRS.Spec.Template}})).To(Equal(newConfig))
	g.Eventually(func(g Gomega) int32 {
		g.Expect(e.k8s.Get(ctx, client.ObjectKeyFromObject(oldRS), oldRS)).To(Succeed())
		return *oldRS.Spec.Replicas
	}, timeout, poll).Should(BeZero(), "the old ReplicaSet is scaled down")
	g.Eventually(func() bool {
		return apierrors.IsNotFound(e.k8s.Get(ctx, key(target, oldConfig), &corev1.ConfigMap{}))
	}, timeout, poll).Should(BeTrue(), "the old generated ConfigMap is pruned")
	t.Logf("ConfigMap %s → %s; ReplicaSet %s → %s", oldConfig, newConfig, oldRS.Name, newRS.Name)
}

// waitRolledOut waits until a Deployment is Available with every replica updated and
// ready, and no old pods left, and returns it.
func waitRolledOut(g *WithT, c client.Client, ns, name string, replicas int32) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Eventually(func(g Gomega) {
		g.Expect(c.Get(context.Background(), key(ns, name), d)).To(Succeed())
		g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
		g.Expect(d.Status.UpdatedReplicas).To(Equal(replicas))
		g.Expect(d.Status.AvailableReplicas).To(Equal(replicas))
		g.Expect(d.Status.Replicas).To(Equal(replicas), "old pods are gone")
		g.Expect(deploymentCondition(d, appsv1.DeploymentAvailable)).To(Equal(corev1.ConditionTrue))
	}, timeout, poll).Should(Succeed(), "Deployment %s/%s rolled out", ns, name)
	return d
}

func deploymentCondition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) corev1.ConditionStatus {
	for _, c := range d.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// configMapOf is the ConfigMap the first container takes its environment from.
func configMapOf(d *appsv1.Deployment) string {
	for _, src := range d.Spec.Template.Spec.Containers[0].EnvFrom {
		if src.ConfigMapRef != nil {
			return src.ConfigMapRef.Name
		}
	}
	return ""
}

// replicaSetOf returns the ReplicaSet of the Deployment's current pod template.
func replicaSetOf(g *WithT, c client.Client, d *appsv1.Deployment) *appsv1.ReplicaSet {
	list := &appsv1.ReplicaSetList{}
	g.Expect(c.List(context.Background(), list, client.InNamespace(d.Namespace))).To(Succeed())
	for i := range list.Items {
		rs := &list.Items[i]
		if rs.Annotations["deployment.kubernetes.io/revision"] == d.Annotations["deployment.kubernetes.io/revision"] {
			return rs
		}
	}
	g.Expect(list.Items).To(BeEmpty(), "no ReplicaSet of revision %s", d.Annotations["deployment.kubernetes.io/revision"])
	return nil
}
