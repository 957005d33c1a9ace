package apply

import (
	"context"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestApplyCreateUnchangedConfigured(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/shop/staging")
	ns := unique("apply-basic")
	desired := []*unstructured.Unstructured{
		deployment(t, ns, "web", 1), configMap(t, ns, "settings", "v1"), namespace(t, ns),
	}

	cs, err := m.Apply(ctx, desired)
	g.Expect(err).NotTo(HaveOccurred())
	// The Namespace goes first even though it came last; ConfigMaps before Deployments.
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"Namespace/NS Created",
		"ConfigMap/NS/settings Created",
		"Deployment.apps/NS/web Created",
	}))
	g.Expect(cs.String()).To(Equal("3 created"))

	versions := map[ObjectRef]string{}
	for _, o := range desired {
		l, err := live(ctx, RefOf(o))
		g.Expect(err).NotTo(HaveOccurred())
		versions[RefOf(o)] = l.GetResourceVersion()
	}

	cs, err = m.Apply(ctx, desired)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.String()).To(Equal("3 unchanged"))
	g.Expect(cs.Writes()).To(BeZero())
	for ref, rv := range versions {
		l, err := live(ctx, ref)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(l.GetResourceVersion()).To(Equal(rv), "%s was written although unchanged", ref)
	}

	desired[1] = configMap(t, ns, "settings", "v2")
	cs, err = m.Apply(ctx, desired)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.String()).To(Equal("1 configured, 2 unchanged"))
	g.Expect(cs.Refs(Configured)).To(Equal([]ObjectRef{RefOf(desired[1])}))
	l, err := live(ctx, RefOf(desired[1]))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(l.Object["data"]).To(Equal(map[string]any{"key": "v2"}))
	managers := []string{}
	for _, f := range l.GetManagedFields() {
		managers = append(managers, f.Manager)
	}
	g.Expect(managers).To(ConsistOf(testManager))
	// The caller's objects are left as they were.
	g.Expect(desired[0].GetResourceVersion()).To(BeEmpty())
}

func TestApplyCRDAndCustomResourceTogether(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/widgets/prod")
	ns := unique("apply-crd")
	group := ns + ".landfall.dev"
	widget := obj(t, `{apiVersion: %s/v1, kind: Widget, metadata: {name: w1, namespace: %s}, spec: {size: 3}}`, group, ns)
	desired := []*unstructured.Unstructured{
		widget, crd(t, group, "Widget", "widgets"), namespace(t, ns),
	}

	cs, err := m.Apply(ctx, desired)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"Namespace/NS Created",
		"CustomResourceDefinition.apiextensions.k8s.io/widgets.NS.landfall.dev Created",
		"Widget.NS.landfall.dev/NS/w1 Created",
	}))
	l, err := live(ctx, RefOf(widget))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(l.Object["spec"]).To(Equal(map[string]any{"size": int64(3)}))

	cs, err = m.Apply(ctx, desired)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.String()).To(Equal("3 unchanged"))
}

func TestApplySyncWaveOrder(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/waves/dev")
	ns := unique("apply-waves")
	desired := []*unstructured.Unstructured{
		withAnnotation(configMap(t, ns, "a-last", "x"), waveKey, "5"),
		deployment(t, ns, "app", 1),
		configMap(t, ns, "m-middle", "x"),
		withAnnotation(configMap(t, ns, "z-first", "x"), waveKey, "-1"),
		obj(t, "{apiVersion: v1, kind: ServiceAccount, metadata: {name: runner, namespace: %s}}", ns),
		namespace(t, ns),
	}

	cs, err := m.Apply(ctx, desired)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"Namespace/NS Created",
		"ConfigMap/NS/z-first Created",
		"ServiceAccount/NS/runner Created",
		"ConfigMap/NS/m-middle Created",
		"Deployment.apps/NS/app Created",
		"ConfigMap/NS/a-last Created",
	}))
	// The cluster agrees: each object was written after the one before it.
	last := int64(0)
	for _, c := range cs.Changes {
		l, err := live(ctx, c.Ref)
		g.Expect(err).NotTo(HaveOccurred())
		rv, err := strconv.ParseInt(l.GetResourceVersion(), 10, 64)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(rv).To(BeNumerically(">", last), "%s was written out of order", c.Ref)
		last = rv
	}
}

func TestApplyInvalidObjectFailsAndStopsLaterWaves(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/bad/dev")
	ns := unique("apply-invalid")
	bad := deployment(t, ns, "broken", -1)
	later := withAnnotation(configMap(t, ns, "later", "x"), waveKey, "1")
	desired := []*unstructured.Unstructured{
		namespace(t, ns), bad, configMap(t, ns, "fine", "x"), deployment(t, ns, "good", 1), later,
	}

	cs, err := m.Apply(ctx, desired)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring(inNS(ns, "Deployment.apps/NS/broken")))
	g.Expect(err.Error()).To(ContainSubstring("spec.replicas"))
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"Namespace/NS Created",
		"ConfigMap/NS/fine Created",
		"Deployment.apps/NS/broken Failed",
		"Deployment.apps/NS/good Created",
		"ConfigMap/NS/later Skipped",
	}))
	t.Log(cs.Changes[2])
	g.Expect(cs.Changes[2].Message).To(ContainSubstring("spec.replicas"))

	_, err = live(ctx, RefOf(desired[3]))
	g.Expect(err).NotTo(HaveOccurred(), "an object of the same wave is still applied")
	_, err = live(ctx, RefOf(later))
	g.Expect(err).To(HaveOccurred(), "a later wave must not be applied after a failure")
}

func TestApplySecretErrorsCarryNoData(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/secret/dev")
	ns := unique("apply-secret")
	// "aHVudGVyMg==" is "hunter2"; the key is invalid, so the apiserver refuses the Secret.
	secret := obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: creds, namespace: %s},
  type: kubernetes.io/basic-auth, data: {"bad key!": aHVudGVyMg==, password: aHVudGVyMg==}}`, ns)

	cs, err := m.Apply(ctx, []*unstructured.Unstructured{namespace(t, ns), secret})
	g.Expect(err).To(HaveOccurred())
	t.Log(err)
	g.Expect(err.Error()).To(ContainSubstring(inNS(ns, "Secret/NS/creds")))
	g.Expect(err.Error()).To(ContainSubstring("Invalid"))
	for _, s := range []string{err.Error(), cs.Changes[1].Message} {
		g.Expect(s).NotTo(ContainSubstring("hunter2"))
		g.Expect(s).NotTo(ContainSubstring("aHVudGVyMg"))
	}
}

func TestApplyRejectsBadSetBeforeWriting(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, k8s, "apps/reject/dev")
	ns := unique("apply-reject")
	cases := map[string]struct {
		bad  *unstructured.Unstructured
		want string
	}{
		"unknown kind":   {obj(t, "{apiVersion: nope.example/v1, kind: Ghost, metadata: {name: g, namespace: %s}}", ns), inNS(ns, "Ghost.nope.example/NS/g: the cluster does not serve")},
		"no name":        {obj(t, "{apiVersion: v1, kind: ConfigMap, metadata: {namespace: %s}}", ns), "metadata.name is required"},
		"no namespace":   {obj(t, "{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}"), "ConfigMap/x: metadata.namespace is required"},
		"bad wave":       {withAnnotation(configMap(t, ns, "w", "x"), waveKey, "soon"), inNS(ns, `ConfigMap/NS/w: annotation landfall.dev/sync-wave: "soon" is not an integer`)},
		"duplicate":      {configMap(t, ns, "ok", "other"), inNS(ns, "ConfigMap/NS/ok: appears more than once")},
		"no api version": {obj(t, "{kind: ConfigMap, metadata: {name: v, namespace: %s}}", ns), "apiVersion and kind are required"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			desired := []*unstructured.Unstructured{namespace(t, ns), configMap(t, ns, "ok", "x"), tc.bad}
			cs, err := m.Apply(ctx, desired)
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(cs.Count(Failed)).To(Equal(1))
			g.Expect(cs.Count(Skipped)).To(Equal(2))
			_, err = live(ctx, RefOf(desired[0]))
			g.Expect(err).To(HaveOccurred(), "nothing may be written when the set is invalid")
		})
	}
}

func TestApplyRefusesObjectOfAnotherOwner(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := unique("apply-owner")
	theirs := newManager(t, k8s, "apps/theirs/prod")
	_, err := theirs.Apply(ctx, []*unstructured.Unstructured{
		namespace(t, ns), withAnnotation(configMap(t, ns, "shared", "theirs"), ownerKey, "apps/theirs/prod"),
	})
	g.Expect(err).NotTo(HaveOccurred())

	ours := newManager(t, k8s, "apps/ours/prod")
	cs, err := ours.Apply(ctx, []*unstructured.Unstructured{
		withAnnotation(configMap(t, ns, "shared", "ours"), ownerKey, "apps/ours/prod"),
	})
	g.Expect(err).To(MatchError(ErrOwnedByOther))
	g.Expect(cs.Changes[0].Message).To(ContainSubstring(`"apps/theirs/prod"`))
	l, err := live(ctx, ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: "shared"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(l.Object["data"]).To(Equal(map[string]any{"key": "theirs"}))
}

func TestApplyLeavesReplicasToTheAutoscaler(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := unique("apply-hpa")
	dropReplicas := func(o *Options) {
		o.DropFields = func(ref ObjectRef) []string {
			if ref.Kind == "Deployment" {
				return []string{"/spec/replicas"}
			}
			return nil
		}
	}
	plain := newManager(t, k8s, "apps/hpa/dev")
	withHPA := newManager(t, k8s, "apps/hpa/dev", dropReplicas)
	web := deployment(t, ns, "web", 2)
	_, err := plain.Apply(ctx, []*unstructured.Unstructured{namespace(t, ns), web})
	g.Expect(err).NotTo(HaveOccurred())

	// Landfall is the field's only manager: dropping it must not reset it to the default.
	cs, err := withHPA.Apply(ctx, []*unstructured.Unstructured{deployment(t, ns, "web", 7)})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.String()).To(Equal("1 unchanged"))
	g.Expect(replicas(ctx, g, ns, "web")).To(Equal(int64(2)))

	// The autoscaler scales through the scale subresource, as the HPA controller does.
	scaleTo(ctx, g, ns, "web", 5)
	cs, err = withHPA.Apply(ctx, []*unstructured.Unstructured{web})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.String()).To(Equal("1 unchanged"))
	g.Expect(replicas(ctx, g, ns, "web")).To(Equal(int64(5)))

	// Without the option Landfall forces its own value back: the fight the option avoids.
	cs, err = plain.Apply(ctx, []*unstructured.Unstructured{web})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.String()).To(Equal("1 configured"))
	g.Expect(replicas(ctx, g, ns, "web")).To(Equal(int64(2)))
}

func TestApplyWaitTimeoutNamesTheCRD(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/clash/dev", func(o *Options) { o.WaitTimeout = 2 * time.Second })
	ns := unique("clash")
	// Two CRDs claiming the same kind in one group: the second one is never established.
	first := crd(t, ns+".landfall.dev", "Apple", "apples")
	second := crd(t, ns+".landfall.dev", "Apple", "pears")

	_, err := m.Apply(ctx, []*unstructured.Unstructured{first})
	g.Expect(err).NotTo(HaveOccurred())
	cs, err := m.Apply(ctx, []*unstructured.Unstructured{second, configMap(t, "default", "after-"+ns, "x")})
	g.Expect(err).To(MatchError(ContainSubstring(inNS(ns, "pears.NS.landfall.dev: applied, but not established"))))
	g.Expect(err).To(MatchError(ContainSubstring("names not accepted")))
	g.Expect(actions(cs, ns)).To(Equal([]string{
		"CustomResourceDefinition.apiextensions.k8s.io/pears.NS.landfall.dev Failed",
		"ConfigMap/default/after-NS Skipped",
	}))
}
