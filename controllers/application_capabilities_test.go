package controllers_test

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestHelmCapabilitiesFromDestination: a chart's .Capabilities.APIVersions.Has is true for
// a group/version (and group/version/Kind) the destination serves, a CRD's included, and
// false for one it does not.
func TestHelmCapabilitiesFromDestination(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	group := fmt.Sprintf("caps%d.landfall.dev", len(t.Name())*7919%100000)
	crd := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal(fmt.Appendf(nil, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, group), &crd.Object)).To(Succeed())
	g.Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, crd))).To(Succeed())
	dc, err := discovery.NewDiscoveryClientForConfig(restConfig)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() error { _, err := dc.ServerResourcesForGroupVersion(group + "/v1"); return err }, timeout, poll).
		Should(Succeed(), "the CRD is served")

	tmpl := `apiVersion: v1
kind: ConfigMap
metadata: {name: capabilities}
data:
  crd: "{{ .Capabilities.APIVersions.Has "%[1]s/v1" }}"
  kind: "{{ .Capabilities.APIVersions.Has "%[1]s/v1/Widget" }}"
  missing: "{{ .Capabilities.APIVersions.Has "nothing.landfall.dev/v1" }}"
`
	f := newFixture(t, map[string]string{
		"apps/web/Chart.yaml":               "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"apps/web/templates/configmap.yaml": fmt.Sprintf(tmpl, group),
	}, nil)
	cm := &corev1.ConfigMap{}
	g.Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: f.ns + "-staging", Name: "capabilities"}, cm)
	}, timeout, poll).Should(Succeed())
	g.Expect(cm.Data).To(Equal(map[string]string{"crd": "true", "kind": "true", "missing": "false"}))
}
