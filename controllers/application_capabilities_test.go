package controllers_test

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestHelmCapabilitiesFromDestination: a chart's .Capabilities.APIVersions.Has is true for
// a group/version (and group/version/Kind) the destination serves, a CRD's included, and
// false for one it does not.
func TestHelmCapabilitiesFromDestination(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	group := fmt.Sprintf("caps%d.landfall.dev", len(t.Name())*7919%100000)
	g.Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, widgetCRD(t, group)))).To(Succeed())
	dc, err := discovery.NewDiscoveryClientForConfig(restConfig)
	g.Expect(err).NotTo(HaveOccurred())
	waitServed(g, dc, group+"/v1")

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
