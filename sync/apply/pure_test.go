package apply

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestChangeSetSummary(t *testing.T) {
	g := NewWithT(t)
	cs := &ChangeSet{}
	g.Expect(cs.String()).To(Equal("no changes"))
	ref := func(n string) ObjectRef { return ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: n} }
	for i := range 5 {
		cs.Add(ref(fmt.Sprint("u", i)), Unchanged, "")
	}
	cs.Add(ref("c1"), Configured, "")
	cs.Add(ref("n1"), Created, "")
	cs.Add(ref("n2"), Created, "")
	cs.Add(ref("f"), Failed, "boom")
	g.Expect(cs.String()).To(Equal("2 created, 1 configured, 5 unchanged, 1 failed"))
	g.Expect(cs.Counts()).To(Equal(map[Action]int{Created: 2, Configured: 1, Unchanged: 5, Failed: 1}))
	g.Expect(cs.Writes()).To(Equal(3))
	g.Expect(cs.Refs(Created)).To(Equal([]ObjectRef{ref("n1"), ref("n2")}))
	g.Expect(cs.Changes[8].String()).To(Equal("ConfigMap/ns/f Failed: boom"))

	cs.fail(ref("n2"), "not established")
	g.Expect(cs.String()).To(Equal("1 created, 1 configured, 5 unchanged, 2 failed"))
}

func TestRefString(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}.String()).
		To(Equal("Deployment.apps/shop/web"))
	g.Expect(ObjectRef{Version: "v1", Kind: "Namespace", Name: "shop"}.String()).To(Equal("Namespace/shop"))
}

func TestPruneAllowed(t *testing.T) {
	cases := []struct {
		inventory, stale int
		allowMass, want  bool
	}{
		{10, 0, false, true},
		{10, 5, false, true},   // exactly half
		{10, 6, false, false},  // more than half
		{1, 1, false, false},   // everything
		{3, 3, false, false},   // everything
		{3, 3, true, true},     // allowed on purpose
		{0, 0, false, true},    // nothing to do
		{2, 4, false, false},   // nonsense counts err on the safe side
		{100, 50, false, true}, // half of a big inventory
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d of %d allow=%v", c.stale, c.inventory, c.allowMass), func(t *testing.T) {
			g := NewWithT(t)
			err := PruneAllowed(c.inventory, c.stale, c.allowMass)
			if c.want {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ErrMassPrune))
			var mass *MassPruneError
			g.Expect(errors.As(err, &mass)).To(BeTrue())
			g.Expect(*mass).To(Equal(MassPruneError{Inventory: c.inventory, Stale: c.stale}))
			g.Expect(err.Error()).To(ContainSubstring(fmt.Sprintf("delete %d of the %d objects", c.stale, c.inventory)))
		})
	}
}

func TestStampIsPure(t *testing.T) {
	g := NewWithT(t)
	in := configMap(t, "ns", "c", "x")
	in.SetLabels(map[string]string{"app": "web", managedLabel: "false"})
	before := in.DeepCopy()
	out := Stamp([]*unstructured.Unstructured{in, nil},
		map[string]string{managedLabel: "true", "landfall.dev/application": "shop"},
		map[string]string{ownerKey: "a/shop/dev"})
	g.Expect(in).To(Equal(before), "Stamp must not change its input")
	g.Expect(out).To(HaveLen(2))
	g.Expect(out[1]).To(BeNil())
	g.Expect(out[0].GetLabels()).To(Equal(map[string]string{
		"app": "web", managedLabel: "true", "landfall.dev/application": "shop",
	}))
	g.Expect(out[0].GetAnnotations()).To(Equal(map[string]string{ownerKey: "a/shop/dev"}))
}

func TestApplyOrderIsDeterministic(t *testing.T) {
	g := NewWithT(t)
	mk := func(st stage, wave int, kind, ns, name string) item {
		return item{stage: st, wave: wave, ref: ObjectRef{Version: "v1", Kind: kind, Namespace: ns, Name: name}}
	}
	want := []item{
		mk(stageDefinitions, 0, "Namespace", "", "a"),
		mk(stageDefinitions, 0, "CustomResourceDefinition", "", "a"),
		mk(stageCluster, -2, "ClusterRole", "", "z"),
		mk(stageCluster, 0, "ClusterRole", "", "a"),
		mk(stageNamespaced, -1, "Deployment", "b", "x"),
		mk(stageNamespaced, 0, "ServiceAccount", "b", "x"),
		mk(stageNamespaced, 0, "Secret", "a", "x"),
		mk(stageNamespaced, 0, "ConfigMap", "a", "x"),
		mk(stageNamespaced, 0, "ConfigMap", "b", "a"),
		mk(stageNamespaced, 0, "Service", "a", "x"),
		mk(stageNamespaced, 0, "Deployment", "a", "x"),
		mk(stageNamespaced, 0, "Gizmo", "a", "x"), // unknown kinds last
		mk(stageNamespaced, 3, "ConfigMap", "a", "x"),
	}
	for range 20 {
		shuffled := append([]item(nil), want...)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		var got []item
		groups := groupItems(shuffled)
		for _, grp := range groups {
			got = append(got, grp.items...)
		}
		g.Expect(got).To(Equal(want))
		g.Expect(groups).To(HaveLen(6)) // defs; cluster -2, 0; namespaced -1, 0, 3
	}
}

func TestPruneOrder(t *testing.T) {
	g := NewWithT(t)
	ns := ObjectRef{Version: "v1", Kind: "Namespace", Name: "shop"}
	crdRef := ObjectRef{Group: crdGroup, Version: "v1", Kind: "CustomResourceDefinition", Name: "w.x"}
	role := ObjectRef{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "r"}
	cm := ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "c"}
	deploy := ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "d"}
	g.Expect(sortForPrune([]ObjectRef{ns, crdRef, cm, role, deploy})).To(Equal([]ObjectRef{deploy, cm, role, crdRef, ns}))
}

func TestParsePointer(t *testing.T) {
	g := NewWithT(t)
	keys, err := parsePointer("/metadata/annotations/example.com~1a~0b")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(keys).To(Equal([]string{"metadata", "annotations", "example.com/a~b"}))
	for _, bad := range []string{"", "/", "spec/replicas", "/spec//replicas"} {
		_, err := parsePointer(bad)
		g.Expect(err).To(HaveOccurred(), "%q", bad)
	}
}

func TestUnchangedIgnoresVolatileFields(t *testing.T) {
	g := NewWithT(t)
	liveObj := configMap(t, "ns", "c", "x")
	liveObj.SetResourceVersion("1")
	liveObj.SetGeneration(1)
	liveObj.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "a"}})
	merged := liveObj.DeepCopy()
	merged.SetResourceVersion("2")
	merged.SetGeneration(2)
	merged.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "b"}})
	merged.Object["status"] = map[string]any{"phase": "other"}
	g.Expect(unchanged(liveObj, merged)).To(BeTrue())
	g.Expect(merged.GetResourceVersion()).To(Equal("2"), "the comparison must not change its inputs")

	merged.SetLabels(map[string]string{"new": "label"})
	g.Expect(unchanged(liveObj, merged)).To(BeFalse())
}

func TestSecretMessagesDropValues(t *testing.T) {
	g := NewWithT(t)
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "s", field.ErrorList{
		field.Invalid(field.NewPath("stringData", "password"), "hunter2", "too short"),
	})
	secret := ObjectRef{Version: "v1", Kind: "Secret", Namespace: "ns", Name: "s"}
	err := objectErr(secret, invalid)
	g.Expect(err.Error()).To(Equal("Secret/ns/s: Invalid (422): stringData.password: FieldValueInvalid"))
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "the cause stays inspectable")

	cm := ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "c"}
	g.Expect(objectErr(cm, invalid).Error()).To(ContainSubstring("hunter2"), "only Secrets are redacted")
}

func TestCRDEstablished(t *testing.T) {
	g := NewWithT(t)
	c := &unstructured.Unstructured{Object: map[string]any{}}
	ok, msg := crdEstablished(c)
	g.Expect(ok).To(BeFalse())
	g.Expect(msg).To(Equal("not established yet"))
	_ = unstructured.SetNestedSlice(c.Object, []any{
		map[string]any{"type": "NamesAccepted", "status": "False", "message": `"Apple" is already in use`},
		map[string]any{"type": "Established", "status": "False", "message": "not all names are accepted"},
	}, "status", "conditions")
	ok, msg = crdEstablished(c)
	g.Expect(ok).To(BeFalse())
	g.Expect(msg).To(Equal(`names not accepted: "Apple" is already in use`))
	_ = unstructured.SetNestedSlice(c.Object, []any{map[string]any{"type": "Established", "status": "True"}},
		"status", "conditions")
	ok, _ = crdEstablished(c)
	g.Expect(ok).To(BeTrue())
}

func TestNewChecksOptions(t *testing.T) {
	g := NewWithT(t)
	_, err := New(k8s, Options{})
	g.Expect(err).To(MatchError(ContainSubstring("field manager")))
	_, err = New(k8s, Options{FieldManager: "landfall", Owner: "a/b/c"})
	g.Expect(err).To(MatchError(ContainSubstring("go together")))
	m, err := New(k8s, Options{FieldManager: "landfall"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.opts.WaitTimeout).To(Equal(DefaultWaitTimeout))
}
