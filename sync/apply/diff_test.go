package apply

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestDriftedWritesNothing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/drift/dev")
	ns := unique("drift")
	settings := configMap(t, ns, "settings", "v1")
	_, err := m.Apply(ctx, []*unstructured.Unstructured{namespace(t, ns), settings, deployment(t, ns, "web", 1)})
	g.Expect(err).NotTo(HaveOccurred())
	before, err := live(ctx, RefOf(settings))
	g.Expect(err).NotTo(HaveOccurred())

	changed := configMap(t, ns, "settings", "v2")
	added := configMap(t, ns, "added", "x")
	cs, comps, err := m.Drifted(ctx, []*unstructured.Unstructured{
		namespace(t, ns), changed, deployment(t, ns, "web", 1), added,
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"Namespace/NS Unchanged",
		"ConfigMap/NS/added Created",
		"ConfigMap/NS/settings Configured",
		"Deployment.apps/NS/web Unchanged",
	}))
	g.Expect(comps).To(HaveLen(2))
	g.Expect(comps[0].Live).To(BeNil())
	g.Expect(comps[1].Live.Object["data"]).To(Equal(map[string]any{"key": "v1"}))
	g.Expect(comps[1].Merged.Object["data"]).To(Equal(map[string]any{"key": "v2"}))
	// The dry-run result is the server's view: it has what the apiserver fills in.
	g.Expect(comps[1].Merged.GetUID()).To(Equal(before.GetUID()))

	after, err := live(ctx, RefOf(settings))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(after.GetResourceVersion()).To(Equal(before.GetResourceVersion()))
	_, err = live(ctx, RefOf(added))
	g.Expect(err).To(HaveOccurred(), "Drifted must not create anything")
}

func TestDriftedBeforeDefinitionsExist(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/gadgets/dev")
	ns := unique("drift-new")
	gadget := obj(t, `{apiVersion: %s.landfall.dev/v1, kind: Gadget, metadata: {name: g1, namespace: %s}}`, ns, ns)
	cs, comps, err := m.Drifted(ctx, []*unstructured.Unstructured{
		gadget, crd(t, ns+".landfall.dev", "Gadget", "gadgets"), namespace(t, ns), configMap(t, ns, "c", "x"),
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.String()).To(Equal("4 created"))
	g.Expect(comps).To(HaveLen(4))
	g.Expect(comps[3].Ref).To(Equal(RefOf(gadget)))
	g.Expect(comps[3].Merged.Object).To(Equal(gadget.Object))
	_, err = live(ctx, RefOf(namespace(t, ns)))
	g.Expect(err).To(HaveOccurred(), "Drifted must not create anything")
}

func TestDriftedReportsInvalidObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/drift/dev")
	ns := unique("drift-bad")
	_, err := m.Apply(ctx, []*unstructured.Unstructured{namespace(t, ns)})
	g.Expect(err).NotTo(HaveOccurred())

	cs, comps, err := m.Drifted(ctx, []*unstructured.Unstructured{
		deployment(t, ns, "broken", -1), configMap(t, ns, "fine", "x"),
	})
	g.Expect(err).To(MatchError(ContainSubstring(inNS(ns, "Deployment.apps/NS/broken"))))
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"ConfigMap/NS/fine Created",
		"Deployment.apps/NS/broken Failed",
	}))
	g.Expect(comps).To(HaveLen(1))
}
