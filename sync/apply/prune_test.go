package apply

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// applyOwned applies objs stamped with owner's marks, as the controller does.
func applyOwned(t *testing.T, m *Manager, owner string, objs ...*unstructured.Unstructured) {
	t.Helper()
	stamped := Stamp(objs, map[string]string{managedLabel: "true"}, map[string]string{ownerKey: owner})
	if _, err := m.Apply(context.Background(), stamped); err != nil {
		t.Fatal(err)
	}
}

func gone(ctx context.Context, ref ObjectRef) func() bool {
	return func() bool {
		_, err := live(ctx, ref)
		return apierrors.IsNotFound(err)
	}
}

func TestPruneDeletesOnlyOwnedObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	owner := "apps/prune/dev"
	ns := unique("prune-owned")
	m := newManager(t, k8s, owner)
	ours := configMap(t, ns, "ours", "x")
	applyOwned(t, m, owner, namespace(t, ns), ours)
	// Someone else's objects of the same kind, one with our label copied but no owner
	// annotation, one owned by another Application.
	copied := configMap(t, ns, "copied", "x")
	copied.SetLabels(map[string]string{managedLabel: "true"})
	g.Expect(k8s.Create(ctx, copied)).To(Succeed())
	other := withAnnotation(configMap(t, ns, "other", "x"), ownerKey, "apps/other/dev")
	g.Expect(k8s.Create(ctx, other)).To(Succeed())
	missing := ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: "missing"}

	cs, keep, err := m.Prune(ctx, []ObjectRef{RefOf(copied), RefOf(ours), missing, RefOf(other)})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(keep).To(BeEmpty())
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"ConfigMap/NS/copied Skipped",
		"ConfigMap/NS/missing Pruned",
		"ConfigMap/NS/other Skipped",
		"ConfigMap/NS/ours Pruned",
	}))
	g.Expect(cs.Changes[0].Message).To(ContainSubstring("no landfall.dev/owner annotation"))
	g.Expect(cs.Changes[1].Message).To(Equal("already gone"))
	g.Expect(cs.Changes[2].Message).To(ContainSubstring(`"apps/other/dev"`))
	g.Eventually(gone(ctx, RefOf(ours)), 10*time.Second, 50*time.Millisecond).Should(BeTrue())
	for _, o := range []*unstructured.Unstructured{copied, other} {
		_, err := live(ctx, RefOf(o))
		g.Expect(err).NotTo(HaveOccurred(), "%s is not ours and must stay", RefOf(o))
	}
}

func TestPruneDeletesNamespacesLast(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	owner := "apps/ns/dev"
	m := newManager(t, k8s, owner)
	ns := unique("prune-ns")
	things := crd(t, ns+".landfall.dev", "Thing", "things")
	applyOwned(t, m, owner, namespace(t, ns), configMap(t, ns, "inside", "x"), things)
	foreign := namespace(t, ns+"-foreign")
	g.Expect(k8s.Create(ctx, foreign)).To(Succeed())

	stale := []ObjectRef{
		RefOf(namespace(t, ns)), RefOf(foreign), RefOf(things), RefOf(configMap(t, ns, "inside", "x")),
	}
	cs, keep, err := m.DeleteAll(ctx, stale)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(keep).To(BeEmpty())
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"ConfigMap/NS/inside Pruned",
		"CustomResourceDefinition.apiextensions.k8s.io/things.NS.landfall.dev Pruned",
		"Namespace/NS Pruned",
		"Namespace/NS-foreign Skipped",
	}))
	// envtest runs no namespace controller, so an owned Namespace stays Terminating.
	ours, err := live(ctx, stale[0])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ours.GetDeletionTimestamp()).NotTo(BeNil())
	theirs, err := live(ctx, stale[1])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(theirs.GetDeletionTimestamp()).To(BeNil(), "a Namespace we do not own must stay")
}

func TestPruneStopsAtTheFirstAPIError(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	owner := "apps/throttle/dev"
	ns := unique("prune-throttled")
	objs := []*unstructured.Unstructured{
		configMap(t, ns, "a", "x"), configMap(t, ns, "b", "x"), configMap(t, ns, "c", "x"),
	}
	applyOwned(t, newManager(t, k8s, owner), owner, append(objs, namespace(t, ns))...)

	// The real apiserver does the work; only the delete of "b" is answered with 429, as a
	// throttling apiserver would.
	base, err := client.NewWithWatch(cfg, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	throttled := interceptor.NewClient(base, interceptor.Funcs{
		Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			if o.GetName() == "b" {
				return apierrors.NewTooManyRequests("slow down", 1)
			}
			return c.Delete(ctx, o, opts...)
		},
	})
	m := newManager(t, throttled, owner)
	refs := []ObjectRef{RefOf(objs[2]), RefOf(objs[1]), RefOf(objs[0])}
	cs, keep, err := m.Prune(ctx, refs)
	g.Expect(err).To(HaveOccurred())
	g.Expect(apierrors.IsTooManyRequests(err)).To(BeTrue(), "the cause stays visible: %v", err)
	g.Expect(err.Error()).To(ContainSubstring(inNS(ns, "ConfigMap/NS/b")))
	g.Expect(keep).To(Equal([]ObjectRef{RefOf(objs[1]), RefOf(objs[2])}))
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"ConfigMap/NS/a Pruned",
		"ConfigMap/NS/b Failed",
		"ConfigMap/NS/c Skipped",
	}))
	g.Eventually(gone(ctx, RefOf(objs[0])), 10*time.Second, 50*time.Millisecond).Should(BeTrue())
	for _, o := range objs[1:] {
		_, err := live(ctx, RefOf(o))
		g.Expect(err).NotTo(HaveOccurred(), "%s must stay after the prune stopped", RefOf(o))
	}
}

func TestPruneKindNoLongerServed(t *testing.T) {
	g := NewWithT(t)
	m := newManager(t, k8s, "apps/x/dev")
	ref := ObjectRef{Group: "gone.landfall.dev", Version: "v1", Kind: "Vanished", Namespace: "default", Name: "v"}
	cs, keep, err := m.Prune(context.Background(), []ObjectRef{ref})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(keep).To(BeEmpty())
	g.Expect(cs.Changes).To(Equal([]Change{{Ref: ref, Action: Pruned, Message: "already gone"}}))
}

func TestPruneRequiresAnOwner(t *testing.T) {
	g := NewWithT(t)
	m, err := New(k8s, Options{FieldManager: testManager})
	g.Expect(err).NotTo(HaveOccurred())
	ref := ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "default", Name: "kube-root-ca.crt"}
	_, keep, err := m.Prune(context.Background(), []ObjectRef{ref})
	g.Expect(err).To(MatchError(errNoOwner))
	g.Expect(keep).To(Equal([]ObjectRef{ref}))
}
