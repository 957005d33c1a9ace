package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestPruneTakesOnlyWhatLandfallMade: a file removed from Git has its object pruned; objects
// others made with Landfall's labels copied (even its owner annotation) are never touched; a
// render error prunes nothing, says which file is broken, and a fix recovers.
func TestPruneTakesOnlyWhatLandfallMade(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	files := testdata(t, "web", "apps/web")
	extra, err := os.ReadFile(filepath.Join("testdata", "web-extra.yaml"))
	must(t, err)
	files["apps/web/extra.yaml"] = string(extra)
	f := newFixture(t, e, files)
	target := f.ns + "-staging"
	app := f.syncedApplication(t, "web", "apps/web", "staging", target)

	copied := map[string]string{landfallv1.LabelManaged: "true", landfallv1.LabelApplication: f.ns + ".web",
		landfallv1.LabelEnvironment: "staging"}
	strangers := []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "stranger-labels", Namespace: target, Labels: copied}},
		{ObjectMeta: metav1.ObjectMeta{Name: "stranger-owner", Namespace: target, Labels: copied,
			Annotations: map[string]string{landfallv1.AnnotationOwner: f.ns + "/web/staging"}}},
	}
	for _, s := range strangers {
		must(t, e.k8s.Create(ctx, s))
	}
	kept := []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &corev1.ConfigMap{}}
	keptNames := []string{"web", "web", "web-config"}
	before := uids(g, e.k8s, target, kept, keptNames)

	// A file removed from Git: its object goes, nothing else does.
	removed := f.push(t, remove(t, "apps/web/extra.yaml"))
	g.Eventually(func() bool {
		return apierrors.IsNotFound(e.k8s.Get(ctx, key(target, "web-extra"), &corev1.ConfigMap{}))
	}, timeout, poll).Should(BeTrue(), "web-extra is pruned")
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), removed) }, timeout, poll).Should(Succeed())
	expectUntouched(g, e.k8s, strangers)
	g.Expect(uids(g, e.k8s, target, kept, keptNames)).To(Equal(before), "the other objects were neither deleted nor re-created")

	// A broken manifest: Ready=False naming the file, an Event, and nothing pruned.
	f.push(t, write(t, map[string]string{"apps/web/service.yaml": "apiVersion: v1\nkind: [broken\n"}))
	g.Eventually(func(g Gomega) {
		cond := ready(f.get(g, app))
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(landfallv1.ReasonRenderFailed))
		g.Expect(cond.Message).To(ContainSubstring("service.yaml"))
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		events := &eventsv1.EventList{}
		g.Expect(e.k8s.List(ctx, events, client.InNamespace(f.ns))).To(Succeed())
		g.Expect(events.Items).To(ContainElement(And(
			HaveField("Reason", landfallv1.ReasonRenderFailed),
			HaveField("Regarding.Name", "web"),
			HaveField("Note", ContainSubstring("service.yaml")))))
	}, timeout, poll).Should(Succeed())
	// The reconcile that reported the failure is over: had it pruned, the objects would be
	// gone now. Retries of the failed render must not prune either.
	g.Consistently(func(g Gomega) {
		g.Expect(uids(g, e.k8s, target, kept, keptNames)).To(Equal(before))
	}, 3*time.Second, 100*time.Millisecond).Should(Succeed())
	expectUntouched(g, e.k8s, strangers)

	// Fixed in Git: synced again.
	fixed := f.push(t, write(t, testdata(t, "web", "apps/web")))
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), fixed) }, timeout, poll).Should(Succeed())
	g.Expect(uids(g, e.k8s, target, kept, keptNames)).To(Equal(before))
	expectUntouched(g, e.k8s, strangers)
}

// uids reads objects (kinds given by kept, names by names) and returns their UIDs: an object
// deleted and created again under the same name gets a new one.
func uids(g Gomega, c client.Client, ns string, objs []client.Object, names []string) []types.UID {
	var out []types.UID
	for i, o := range objs {
		g.Expect(c.Get(context.Background(), key(ns, names[i]), o)).To(Succeed(), "%T %s", o, names[i])
		out = append(out, o.GetUID())
	}
	return out
}

// expectUntouched checks that objects still exist unchanged (same UID and resourceVersion).
func expectUntouched(g Gomega, c client.Client, objs []*corev1.ConfigMap) {
	for _, o := range objs {
		live := &corev1.ConfigMap{}
		g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(o), live)).To(Succeed(), "%s still exists", o.Name)
		g.Expect(live.UID).To(Equal(o.UID), o.Name)
		g.Expect(live.ResourceVersion).To(Equal(o.ResourceVersion), "%s is unchanged", o.Name)
	}
}

// TestApplyErrorPrunesNothing: a commit the apiserver refuses part of (an invalid Service)
// prunes nothing, says which object failed, and a revert to the last good content puts
// back what the failed commit had already changed.
func TestApplyErrorPrunesNothing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	good := testdata(t, "web", "apps/web")
	extra, err := os.ReadFile(filepath.Join("testdata", "web-extra.yaml"))
	must(t, err)
	good["apps/web/extra.yaml"] = string(extra)
	f := newFixture(t, e, good)
	target := f.ns + "-staging"
	app := f.syncedApplication(t, "web", "apps/web", "staging", target)

	// ConfigMaps are applied before Services: the new greeting lands, the Service is refused.
	bad := map[string]string{
		"apps/web/configmap.yaml": strings.Replace(good["apps/web/configmap.yaml"], "hello", "from the failed commit", 1),
		"apps/web/service.yaml":   strings.Replace(good["apps/web/service.yaml"], "port: 80", "port: 99999", 1),
	}
	f.push(t, func(dir string) { write(t, bad)(dir); remove(t, "apps/web/extra.yaml")(dir) })
	g.Eventually(func(g Gomega) {
		cond := ready(f.get(g, app))
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Reason).To(Equal(landfallv1.ReasonApplyFailed))
		g.Expect(cond.Message).To(ContainSubstring("Service/" + target + "/web"))
	}, timeout, poll).Should(Succeed())
	g.Expect(e.k8s.Get(ctx, key(target, "web-extra"), &corev1.ConfigMap{})).To(Succeed(), "not pruned after a failed apply")

	reverted := f.push(t, write(t, good))
	g.Eventually(func(g Gomega) {
		expectSynced(g, f.get(g, app), reverted)
		cm := &corev1.ConfigMap{}
		g.Expect(e.k8s.Get(ctx, key(target, "web-config"), cm)).To(Succeed())
		g.Expect(cm.Data).To(HaveKeyWithValue("greeting", "hello"), "the failed commit's change is undone")
	}, timeout, poll).Should(Succeed())
	g.Expect(e.k8s.Get(ctx, key(target, "web-extra"), &corev1.ConfigMap{})).To(Succeed())
}
