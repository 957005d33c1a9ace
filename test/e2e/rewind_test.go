package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

func settings(version string) map[string]string {
	return map[string]string{"apps/settings/settings.yaml": strings.Replace(integrityConfig, "source: git", "source: "+version, 1)}
}

// TestForcePushRewindIsHeld: main is force-pushed back to an older commit. The Repository
// holds the newer revision with RevisionRegressed naming both commits and a Warning Event,
// and the Application keeps running it; once the Repository's rewindPolicy allows it, the
// older commit is applied and the Application's history records the rollout as a rewind.
func TestForcePushRewindIsHeld(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	f := newFixture(t, e, settings("v1"))
	older := f.srv.Head(t, "refs/heads/main")
	ns := f.ns + "-one"
	app := f.application(t, "settings", "apps/settings", []landfallv1.Environment{{Name: "one", Namespace: ns}}, nil)
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), older) }, timeout, poll).Should(Succeed())
	newer := f.push(t, write(t, settings("v2")))
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), newer) }, timeout, poll).Should(Succeed())
	configLog := watchObject[*corev1.ConfigMap](t, e, &corev1.ConfigMapList{}, ns, "settings")

	f.srv.PushRef(t, "refs/heads/main", older) // git push --force: main rewound
	f.webhook(t)
	g.Eventually(func(g Gomega) {
		repo := &landfallv1.Repository{}
		g.Expect(e.k8s.Get(ctx, client.ObjectKeyFromObject(f.repo), repo)).To(Succeed())
		c := apimeta.FindStatusCondition(repo.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonRevisionRegressed))
		g.Expect(c.Message).To(And(ContainSubstring(older), ContainSubstring(newer)))
		g.Expect(repo.Status.Revision).To(HaveSuffix(newer), "the Repository keeps the newer revision")
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return repositoryWarnings(g, f, landfallv1.ReasonRevisionRegressed) }, timeout, poll).
		Should(ContainElement(And(ContainSubstring(older), ContainSubstring(newer))))
	expectSynced(g, f.get(g, app), newer)

	allowedAt := time.Now()
	repo := &landfallv1.Repository{}
	must(t, e.k8s.Get(ctx, client.ObjectKeyFromObject(f.repo), repo))
	repo.Spec.RewindPolicy = landfallv1.RewindAllow
	must(t, e.k8s.Update(ctx, repo))
	g.Eventually(func(g Gomega) {
		repo := &landfallv1.Repository{}
		g.Expect(e.k8s.Get(ctx, client.ObjectKeyFromObject(f.repo), repo)).To(Succeed())
		g.Expect(repo.Status.Revision).To(HaveSuffix(older))
		g.Expect(repo.Status.RewoundFrom).To(HaveSuffix(newer))
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		expectSynced(g, got, older)
		g.Expect(got.Status.History).NotTo(BeEmpty())
		h := got.Status.History[0]
		g.Expect(h.Revision).To(HaveSuffix(older))
		g.Expect(h.Result).To(Equal(landfallv1.ResultSucceeded))
		g.Expect(h.RewoundFrom).To(HaveSuffix(newer), "the history records the rewind")
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return repositoryWarnings(g, f, landfallv1.ReasonRevisionRegressed) }, timeout, poll).
		Should(ContainElement(ContainSubstring("rewindPolicy Allow")), "an allowed rewind is a Warning too")
	for _, s := range configLog.since(0) {
		if s.obj.Data["source"] == "v1" {
			g.Expect(s.at).To(BeTemporally(">", allowedAt), "the older commit was applied before the rewind was allowed")
		}
	}
	g.Eventually(func(g Gomega) string {
		cm := &corev1.ConfigMap{}
		g.Expect(e.k8s.Get(ctx, key(ns, "settings"), cm)).To(Succeed())
		return cm.Data["source"]
	}, timeout, poll).Should(Equal("v1"))
}

// repositoryWarnings returns the messages of the Warning Events about the fixture's
// Repository with reason.
func repositoryWarnings(g Gomega, f *fixture, reason string) []string {
	events := &corev1.EventList{}
	g.Expect(f.e.k8s.List(context.Background(), events, client.InNamespace(f.ns))).To(Succeed())
	var out []string
	for _, e := range events.Items {
		if e.InvolvedObject.Kind == "Repository" && e.InvolvedObject.Name == f.repo.Name &&
			e.Type == corev1.EventTypeWarning && e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}
