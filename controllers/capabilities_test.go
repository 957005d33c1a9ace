package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/test/cluster"
)

// countingConfig is restConfig with a transport that counts discovery requests (/api and
// /apis, and the per-group documents of non-aggregated discovery).
func countingConfig(n *atomic.Int64) *rest.Config {
	cfg := rest.CopyConfig(restConfig)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if p := r.URL.Path; p == "/api" || p == "/apis" || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/apis/") {
				n.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	return cfg
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// widgetCRD is a CustomResourceDefinition of kind Widget in group.
func widgetCRD(t *testing.T, group string) *unstructured.Unstructured {
	t.Helper()
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(widgetCRDYAML(group)), &crd.Object); err != nil {
		t.Fatal(err)
	}
	return crd
}

func widgetCRDYAML(group string) string { return cluster.CRDYAML(group, "Widget") }

// waitServed waits until the apiserver serves groupVersion.
func waitServed(g Gomega, dc discovery.DiscoveryInterface, groupVersion string) {
	g.Eventually(func() error { _, err := dc.ServerResourcesForGroupVersion(groupVersion); return err }, timeout, poll).
		Should(Succeed(), "%s is served", groupVersion)
}

// TestDiscoveryCachedPerDestination: renders read the destination's API once per TTL, not
// once each (two requests a read with aggregated discovery); a CRD installed meanwhile
// counts once the TTL passed or the cache was invalidated (a CRD write, a manual sync).
func TestDiscoveryCachedPerDestination(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	var uncachedN, cachedN atomic.Int64
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }

	// The baseline: no cache, as before — every render reads.
	uncached, err := controllers.NewCapabilitiesForTest(countingConfig(&uncachedN), 0, now)
	g.Expect(err).NotTo(HaveOccurred())
	const renders = 20
	for range renders {
		g.Expect(uncached.APIVersions()).To(ContainElement("apps/v1/Deployment"))
	}
	perRead := uncachedN.Load() / renders
	t.Logf("discovery requests for %d renders: %d uncached (%d a read)", renders, uncachedN.Load(), perRead)
	g.Expect(perRead).To(BeNumerically(">=", 1))

	caps, err := controllers.NewCapabilitiesForTest(countingConfig(&cachedN), time.Minute, now)
	g.Expect(err).NotTo(HaveOccurred())
	for range renders {
		g.Expect(caps.APIVersions()).To(ContainElement("apps/v1/Deployment"))
	}
	t.Logf("discovery requests for %d renders: %d cached", renders, cachedN.Load())
	g.Expect(cachedN.Load()).To(Equal(perRead), "one read for all renders within the TTL")

	group := fmt.Sprintf("disco%d.landfall.dev", time.Now().UnixNano()%1000000)
	g.Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, widgetCRD(t, group)))).To(Succeed())
	dc, err := discovery.NewDiscoveryClientForConfig(restConfig)
	g.Expect(err).NotTo(HaveOccurred())
	waitServed(g, dc, group+"/v1")
	g.Expect(caps.APIVersions()).NotTo(ContainElement(group+"/v1"), "within the TTL the cached list stands")
	g.Expect(cachedN.Load()).To(Equal(perRead))

	clock = clock.Add(time.Minute)
	g.Expect(caps.APIVersions()).To(ContainElements(group+"/v1", group+"/v1/Widget"), "read again after the TTL")
	g.Expect(cachedN.Load()).To(Equal(2 * perRead))

	caps.Invalidate()
	caps.APIVersions()
	g.Expect(cachedN.Load()).To(Equal(3*perRead), "an invalidated cache reads again at once")
}

// chartCapabilities is a chart that writes what Helm's .Capabilities say into a ConfigMap,
// and renders a Widget only where the cluster serves the kind.
func chartCapabilities(group string, withCRD bool) map[string]string {
	files := map[string]string{
		"apps/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"apps/web/templates/configmap.yaml": fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: capabilities}
data:
  widget: "{{ .Capabilities.APIVersions.Has "%[1]s/v1/Widget" }}"
  kubeVersion: "{{ .Capabilities.KubeVersion.Version }}"
`, group),
		"apps/web/templates/widget.yaml": fmt.Sprintf(`{{- if .Capabilities.APIVersions.Has "%[1]s/v1/Widget" }}
apiVersion: %[1]s/v1
kind: Widget
metadata: {name: web}
spec: {size: 3}
{{- end }}
`, group),
	}
	if withCRD {
		files["apps/web/templates/crd.yaml"] = widgetCRDYAML(group)
	}
	return files
}

// TestHelmCapabilitiesFollowTheCluster: through the controller, a chart's
// .Capabilities.KubeVersion is the destination's, and its APIVersions.Has branch follows what
// the cluster serves — a CRD installed by someone else counts at the next manual sync, and a
// CRD the chart itself ships counts at the next pass, so the chart converges, self-heal or not.
func TestHelmCapabilitiesFollowTheCluster(t *testing.T) {
	ctx := context.Background()
	dc, err := discovery.NewDiscoveryClientForConfig(restConfig)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	v, err := dc.ServerVersion()
	NewWithT(t).Expect(err).NotTo(HaveOccurred())

	configMap := func(g Gomega, ns string) map[string]string {
		cm := &corev1.ConfigMap{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "capabilities"}, cm)).To(Succeed())
		return cm.Data
	}
	widget := func(group, ns string) func() error {
		return func() error {
			w := &unstructured.Unstructured{}
			w.SetAPIVersion(group + "/v1")
			w.SetKind("Widget")
			return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, w)
		}
	}

	t.Run("installed by someone else", func(t *testing.T) {
		g := NewWithT(t)
		group := fmt.Sprintf("ext%d.landfall.dev", time.Now().UnixNano()%1000000)
		f := newFixture(t, chartCapabilities(group, false), nil)
		ns := f.ns + "-staging"
		g.Eventually(func(g Gomega) map[string]string { return configMap(g, ns) }, timeout, poll).
			Should(Equal(map[string]string{"widget": "false", "kubeVersion": v.GitVersion}))

		g.Expect(k8s.Create(ctx, widgetCRD(t, group))).To(Succeed())
		waitServed(g, dc, group+"/v1")
		f.update(g, func(a *landfallv1.Application) {
			if a.Annotations == nil {
				a.Annotations = map[string]string{}
			}
			a.Annotations[landfallv1.AnnotationSyncRequestedAt] = "after-the-crd"
		})
		g.Eventually(func(g Gomega) string { return configMap(g, ns)["widget"] }, timeout, poll).Should(Equal("true"))
		g.Eventually(widget(group, ns), timeout, poll).Should(Succeed(), "the branch the cluster serves is applied")
	})

	t.Run("shipped by the chart", func(t *testing.T) {
		g := NewWithT(t)
		group := fmt.Sprintf("own%d.landfall.dev", time.Now().UnixNano()%1000000)
		// Without self-heal: rendering again for the new API is Git's intent, not drift.
		f := newFixture(t, chartCapabilities(group, true), func(a *landfallv1.Application) {
			a.Spec.AllowClusterScoped, a.Spec.SelfHeal = true, false
		})
		ns := f.ns + "-staging"
		g.Eventually(widget(group, ns), timeout, poll).Should(Succeed(), "the pass after the CRD was applied renders the Widget")
		g.Expect(configMap(g, ns)).To(Equal(map[string]string{"widget": "true", "kubeVersion": v.GitVersion}))
		g.Expect(eventReasons(g, f.ns)).NotTo(ContainElement("SelfHealed"), "nothing was changed by hand")
	})
}

// BenchmarkHelmCapabilities: discovery requests and time per render for Helm's
// .Capabilities, read for every render (the baseline, before the cache) and cached per
// destination.
func BenchmarkHelmCapabilities(b *testing.B) {
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"uncached", 0}, {"cached", time.Minute}} {
		b.Run(bc.name, func(b *testing.B) {
			var n atomic.Int64
			caps, err := controllers.NewCapabilitiesForTest(countingConfig(&n), bc.ttl, time.Now)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if len(caps.APIVersions()) == 0 {
					b.Fatal("no API versions")
				}
			}
			b.ReportMetric(float64(n.Load())/float64(b.N), "requests/render")
		})
	}
}
