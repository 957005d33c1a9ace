package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/cluster"
)

// capabilitiesTemplate is added to the test's copy of the chart: it writes what Helm's
// .Capabilities said into a ConfigMap, so the test can read the render back.
const capabilitiesTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-capabilities
data:
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
  serviceMonitor: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" | quote }}
`

// serviceMonitorCRD is the smallest CustomResourceDefinition of the Prometheus Operator's
// ServiceMonitor: what a cluster running the operator serves.
var serviceMonitorCRD = cluster.CRDYAML("monitoring.coreos.com", "ServiceMonitor")

// TestHelmChartThroughTheController: the examples' payments chart, deployed by the
// controller to staging and production with each environment's values file and inline
// values, runs what those values say; .Capabilities.KubeVersion is the cluster's, and the
// chart's ServiceMonitor — rendered only where the cluster serves the kind — appears once
// the Prometheus Operator's CRD is installed and a sync asked for.
func TestHelmChartThroughTheController(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	noServiceMonitors(t, e)
	files := exampleChart(t, "charts/payments")
	files["charts/payments/templates/capabilities.yaml"] = capabilitiesTemplate
	f := newFixture(t, e, files)
	staging, production := f.ns+"-staging", f.ns+"-prod"
	app := f.application(t, "payments", "charts/payments", []landfallv1.Environment{
		{Name: "staging", Namespace: staging, EnvironmentTemplate: landfallv1.EnvironmentTemplate{
			ValuesFiles: []string{"values-staging.yaml"}, Values: values(t, `{provider: {timeout: 2s}}`)}},
		// This cluster serves no metrics API, so an HPA here could never fetch its metrics and
		// would be Degraded: the inline values turn production's autoscaling off, over its
		// values file, and fix its size.
		{Name: "production", Namespace: production, EnvironmentTemplate: landfallv1.EnvironmentTemplate{
			ValuesFiles: []string{"values-production.yaml"}, Values: values(t, `{autoscaling: {enabled: false}, replicaCount: 3}`)}},
	}, func(s *landfallv1.ApplicationSpec) {
		s.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutRolling, HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
	})
	waitCompleted(t, f, app, revisionOf(f.srv.Head(t, "refs/heads/main")), rolloutTimeout, "staging", "production")

	// Each environment runs its values: values.yaml, then its values file, then inline values.
	c := e.k8s
	sd, pd := deployment(g, c, staging, "payments"), deployment(g, c, production, "payments")
	g.Expect(imageOf(sd)).To(Equal("registry.example/shop/payments:2.4.0-rc.1"))
	g.Expect(imageOf(pd)).To(Equal("registry.example/shop/payments:2.3.1"))
	g.Expect(replicasOf(sd)).To(Equal(int32(1)))
	g.Expect(replicasOf(pd)).To(Equal(int32(3)), "inline replicaCount")
	g.Expect(configData(g, c, staging, "payments-config")).To(And(
		HaveKeyWithValue("PROVIDER_URL", "https://sandbox.payments-provider.example"),
		HaveKeyWithValue("PROVIDER_TIMEOUT", "2s")), "inline values over values.yaml")
	g.Expect(configData(g, c, production, "payments-config")).To(And(
		HaveKeyWithValue("PROVIDER_URL", "https://api.payments-provider.example"),
		HaveKeyWithValue("PROVIDER_TIMEOUT", "3s")), "values-production.yaml")
	g.Expect(c.Get(ctx, key(production, "payments"), &policyv1.PodDisruptionBudget{})).To(Succeed(), "production's budget")
	g.Expect(apierrors.IsNotFound(c.Get(ctx, key(staging, "payments"), &policyv1.PodDisruptionBudget{}))).To(BeTrue(), "no budget in staging")
	g.Expect(apierrors.IsNotFound(c.Get(ctx, key(production, "payments"), &autoscalingv2.HorizontalPodAutoscaler{}))).To(BeTrue(),
		"inline autoscaling.enabled=false over values-production.yaml")

	// Capabilities are the destination's.
	dc, err := discovery.NewDiscoveryClientForConfig(e.cluster.Config)
	g.Expect(err).NotTo(HaveOccurred())
	v, err := dc.ServerVersion()
	g.Expect(err).NotTo(HaveOccurred())
	for _, ns := range []string{staging, production} {
		g.Expect(configData(g, c, ns, "payments-capabilities")).To(Equal(map[string]string{
			"kubeVersion": v.GitVersion, "serviceMonitor": "false"}), "in %s", ns)
	}

	// The Prometheus Operator's CRD is installed: at the next sync the chart renders its
	// ServiceMonitor.
	crd := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal([]byte(serviceMonitorCRD), &crd.Object)).To(Succeed())
	// It stays when the test ends: the cluster is the package's and goes with it, and
	// deleting a kind while another test's chart may render it would fail that test.
	g.Expect(c.Create(ctx, crd)).To(Succeed())
	g.Eventually(func() error { _, err := dc.ServerResourcesForGroupVersion("monitoring.coreos.com/v1"); return err }, timeout, poll).Should(Succeed())
	g.Expect(c.Patch(ctx, app.DeepCopy(), client.RawPatch("application/merge-patch+json", []byte(
		`{"metadata":{"annotations":{"`+landfallv1.AnnotationSyncRequestedAt+`":"`+time.Now().Format(time.RFC3339Nano)+`"}}}`)))).To(Succeed())
	for _, ns := range []string{staging, production} {
		g.Eventually(func(g Gomega) {
			sm := &unstructured.Unstructured{}
			sm.SetGroupVersionKind(schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"})
			g.Expect(c.Get(ctx, key(ns, "payments"), sm)).To(Succeed())
			g.Expect(configData(g, c, ns, "payments-capabilities")).To(HaveKeyWithValue("serviceMonitor", "true"))
		}, timeout, poll).Should(Succeed(), "the ServiceMonitor in %s", ns)
	}
}

// noServiceMonitors removes the ServiceMonitor CRD an earlier run of the test in this
// cluster (-count) installed, and waits until the cluster no longer serves the kind.
func noServiceMonitors(tb testing.TB, e *env) {
	tb.Helper()
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	crd.SetName("servicemonitors.monitoring.coreos.com")
	must(tb, client.IgnoreNotFound(e.k8s.Delete(context.Background(), crd)))
	NewWithT(tb).Eventually(func() bool {
		return apierrors.IsNotFound(e.k8s.Get(context.Background(), client.ObjectKeyFromObject(crd), crd.DeepCopy()))
	}, timeout, poll).Should(BeTrue())
}

// exampleChart reads the chart under examples/shop-config/<dir>, keyed by its path in the
// test's repository.
func exampleChart(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	return filesUnder(tb, filepath.Join(cluster.RepoRoot(), "examples", "shop-config", filepath.FromSlash(dir)), dir)
}

func values(tb testing.TB, y string) *apiextensionsv1.JSON {
	tb.Helper()
	js, err := yaml.YAMLToJSON([]byte(y))
	must(tb, err)
	return &apiextensionsv1.JSON{Raw: js}
}

func configData(g Gomega, c client.Client, ns, name string) map[string]string {
	cm := &corev1.ConfigMap{}
	g.Expect(c.Get(context.Background(), key(ns, name), cm)).To(Succeed())
	return cm.Data
}
