package chart_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/cluster"
)

// fixture is one full cluster shared by the install tests, and the landfall binary.
type fixture struct {
	cluster  *cluster.Cluster
	admin    client.Client
	landfall string
}

// releaseRef names an installed release of the chart.
type releaseRef struct {
	name, namespace, serviceAccount string
	// lockedDown: installed with tenancy.defaultServiceAccount, so Landfall holds none of
	// the deployable rules and every Application deploys as a ServiceAccount of its own.
	lockedDown bool
}

func (r releaseRef) user() string {
	return "system:serviceaccount:" + r.namespace + ":" + r.serviceAccount
}

// clusterWideSteps run in order against one cluster-wide release of the chart and one
// controller running as its ServiceAccount. Each step leaves the release and the shop
// application healthy for the next. Together they exercise the rights the chart grants for
// Landfall's own work: a sync, the stored revision of a rollback, and the Repositories,
// Applications and namespaces a preview creates and deletes.
var clusterWideSteps = []struct {
	name string
	run  func(t *testing.T, f *fixture, rel releaseRef, ctl *controller, shop *shopApp)
}{
	{"deploys an application from Git", deploysFromGit},
	{"names a permission the chart does not grant", namesMissingPermission},
	{"rolls back a bad revision", rollsBack},
	{"runs a pull-request preview", runsPreview},
}

// TestChartInCluster installs the chart into a full cluster with the Helm SDK, runs the
// controller as the chart's ServiceAccount (impersonated, outside the cluster: kwok runs
// no real image) and deploys from a real Git server: the chart's RBAC is enough for a sync,
// a rollback and a pull-request preview, and a permission it lacks is named on the
// Application instead of failing silently.
func TestChartInCluster(t *testing.T) {
	f := startFixture(t)

	t.Run("cluster-wide", func(t *testing.T) {
		rel := releaseRef{name: "landfall", namespace: "landfall-system", serviceAccount: "landfall"}
		// The release namespace enforces the restricted Pod Security Standard: the chart's
		// pod must be admitted under it, and kwok then runs it.
		createNamespace(t, f, rel.namespace, map[string]string{
			"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"})
		helmInstall(t, f.cluster.Kubeconfig, rel.name, rel.namespace, nil)
		waitAvailable(t, f, rel)
		ctl := startController(t, f, rel)
		shop := newShopApp(t, f, rel.namespace, "shop-staging")
		for _, step := range clusterWideSteps {
			if !t.Run(step.name, func(t *testing.T) { step.run(t, f, rel, ctl, shop) }) {
				return // later steps build on this one
			}
		}
	})

	// Runs after the cluster-wide controller stopped: that one would reconcile these
	// Applications too, with its wider rights.
	t.Run("restricted to namespaces", func(t *testing.T) {
		rel := releaseRef{name: "landfall-teams", namespace: "teams-system", serviceAccount: "landfall-teams"}
		createNamespace(t, f, "team-a", nil)
		createNamespace(t, f, "team-b", nil)
		helmInstall(t, f.cluster.Kubeconfig, rel.name, rel.namespace,
			map[string]any{"rbac": map[string]any{"namespaces": []any{"team-a"}}})
		ctl := startController(t, f, rel)
		inside := newShopApp(t, f, rel.namespace, "team-a")
		inside.waitReady(t)
		inside.expectDeployed(t)
		inside.expectHealed(t)

		outside := inside.addApplication(t, "outside", "team-b")
		cond := outside.waitNotReady(t)
		g := NewWithT(t)
		g.Expect(cond.Message).To(ContainSubstring(`namespaces "team-b" is forbidden`))
		g.Expect(cond.Message).To(ContainSubstring(rel.user()))
		g.Consistently(func(g Gomega) {
			list := &appsv1.DeploymentList{}
			g.Expect(f.admin.List(context.Background(), list, client.InNamespace("team-b"))).To(Succeed())
			g.Expect(list.Items).To(BeEmpty())
		}).WithTimeout(2 * time.Second).Should(Succeed())

		// Nothing else was forbidden: the drift watch lists the objects it applied in
		// team-a only, as the chart's Role allows.
		for _, line := range strings.Split(ctl.Log(), "\n") {
			if strings.Contains(line, "forbidden") && !strings.Contains(line, "team-b") {
				t.Errorf("forbidden: %s", line)
			}
		}
	})

	// Runs after the others stopped, for the same reason.
	t.Run("locked down", func(t *testing.T) { lockedDown(t, f) })
}

// deploysFromGit: a Deployment, a Service and a ConfigMap from Git reach their namespace,
// which Landfall creates; the Application is Ready; the controller holds its Lease and
// records Events — and nothing it did was forbidden.
func deploysFromGit(t *testing.T, f *fixture, rel releaseRef, ctl *controller, shop *shopApp) {
	g := NewWithT(t)
	ctx := context.Background()
	shop.waitReady(t)
	shop.expectDeployed(t)

	ns := &corev1.Namespace{}
	g.Expect(f.admin.Get(ctx, client.ObjectKey{Name: shop.target}, ns)).To(Succeed())
	g.Expect(ns.Annotations).To(HaveKeyWithValue("landfall.dev/created-namespace", "true"))

	lease := &coordinationv1.Lease{}
	g.Expect(f.admin.Get(ctx, client.ObjectKey{Namespace: rel.namespace, Name: "landfall-controller"}, lease)).To(Succeed())
	g.Expect(lease.Spec.HolderIdentity).To(HaveValue(Not(BeEmpty())))

	g.Eventually(func(g Gomega) {
		events := &eventsv1.EventList{}
		g.Expect(f.admin.List(ctx, events, client.InNamespace(rel.namespace))).To(Succeed())
		var reasons []string
		for _, e := range events.Items {
			if e.Regarding.Kind == "Application" && e.Regarding.Name == shop.app.Name {
				reasons = append(reasons, e.Reason)
			}
		}
		g.Expect(reasons).To(ContainElement("Synced"))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	g.Expect(ctl.Log()).NotTo(ContainSubstring("forbidden"), "the chart must grant everything the controller did")
}

// namesMissingPermission: with ConfigMaps taken out of the deployable kinds, the next sync
// fails with Ready=False naming the forbidden resource; given back, the sync completes.
func namesMissingPermission(t *testing.T, f *fixture, rel releaseRef, _ *controller, shop *shopApp) {
	g := NewWithT(t)
	ctx := context.Background()
	rules := withoutResource(defaultDeployableRules(t), "configmaps")
	helmUpgrade(t, f.cluster.Kubeconfig, rel.name, rel.namespace, map[string]any{"rbac": map[string]any{"deployableRules": rules}})

	shop.commit(t, "bonjour")
	shop.requestFetch(t)
	cond := shop.waitNotReady(t)
	g.Expect(cond.Reason).To(Equal(landfallv1.ReasonApplyFailed))
	g.Expect(cond.Message).To(ContainSubstring(`configmaps "greeting" is forbidden`))
	g.Expect(cond.Message).To(ContainSubstring(rel.user()))
	cm := &corev1.ConfigMap{}
	g.Expect(f.admin.Get(ctx, client.ObjectKey{Namespace: shop.target, Name: "greeting"}, cm)).To(Succeed())
	g.Expect(cm.Data).To(HaveKeyWithValue("greeting", "hello"), "the last good state keeps running")

	helmUpgrade(t, f.cluster.Kubeconfig, rel.name, rel.namespace, nil)
	shop.requestSync(t)
	shop.waitReady(t)
	g.Expect(f.admin.Get(ctx, client.ObjectKey{Namespace: shop.target, Name: "greeting"}, cm)).To(Succeed())
	g.Expect(cm.Data).To(HaveKeyWithValue("greeting", "bonjour"))
}

// startFixture starts a full cluster and builds the landfall binary at the same time.
func startFixture(t *testing.T) *fixture {
	t.Helper()
	built := make(chan error, 1)
	f := &fixture{}
	go func() {
		var err error
		f.landfall, err = cluster.LandfallBinary(t.Context(), t.TempDir())
		built <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{Name: "chart", Dir: t.TempDir(), Nodes: 1, Log: t.Logf, AuditWrites: true})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	if err := <-built; err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := landfallv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	f.cluster = c
	if f.admin, err = client.New(c.Config, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	return f
}

func createNamespace(t *testing.T, f *fixture, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := f.admin.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// waitAvailable waits until the release's Deployment is available: its pods were admitted
// and kwok runs them.
func waitAvailable(t *testing.T, f *fixture, rel releaseRef) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(f.admin.Get(context.Background(), client.ObjectKey{Namespace: rel.namespace, Name: rel.name}, d)).To(Succeed())
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentReplicaFailure {
				StopTrying("the Deployment's pods are refused: " + c.Message).Now()
			}
		}
		g.Expect(d.Status.AvailableReplicas).To(Equal(*d.Spec.Replicas))
	}).WithTimeout(time.Minute).Should(Succeed())
}

// defaultDeployableRules reads rbac.deployableRules from the chart's values.yaml.
func defaultDeployableRules(t *testing.T) []any {
	t.Helper()
	rbac, ok := loadChart(t).Values["rbac"].(map[string]any)
	if !ok {
		t.Fatal("values.yaml has no rbac")
	}
	rules, ok := rbac["deployableRules"].([]any)
	if !ok || len(rules) == 0 {
		t.Fatal("values.yaml has no rbac.deployableRules")
	}
	return rules
}

// withoutResource copies rules, leaving resource out of each.
func withoutResource(rules []any, resource string) []any {
	var out []any
	for _, r := range rules {
		rule := map[string]any{}
		for k, v := range r.(map[string]any) {
			rule[k] = v
		}
		var kept []any
		for _, res := range rule["resources"].([]any) {
			if res != resource {
				kept = append(kept, res)
			}
		}
		if len(kept) > 0 {
			rule["resources"] = kept
			out = append(out, rule)
		}
	}
	return out
}

// readyCondition returns the Application's Ready condition, or nil.
func readyCondition(app *landfallv1.Application) *metav1.Condition {
	return meta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
}
