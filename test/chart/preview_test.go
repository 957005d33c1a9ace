package chart_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// pullRequest is the number of the pull request the preview step opens.
const pullRequest = 7

// runsPreview: a pull request, announced by a signed webhook, gets a namespace of its own
// running the application as the pull request has it; when its ref goes, the preview goes
// with everything in it. The controller does all of it with the chart's rights: it creates
// and deletes the child Repository and Application and the namespace, and nothing it did
// was forbidden.
func runsPreview(t *testing.T, f *fixture, rel releaseRef, ctl *controller, shop *shopApp) {
	g := NewWithT(t)
	ctx := context.Background()
	withoutDeployableSecrets(t, f, rel)
	mark := ctl.LogMark()
	p := &landfallv1.Preview{
		ObjectMeta: metav1.ObjectMeta{Namespace: shop.repo.Namespace, Name: "shop"},
		Spec: landfallv1.PreviewSpec{
			RepositoryRef: landfallv1.LocalObjectReference{Name: shop.repo.Name}, Refs: []string{"refs/pull/*/head"},
			NamespaceTemplate: "chart-pr-{{.Number}}", Template: landfallv1.EnvironmentTemplate{Path: "shop"}, MaxPreviews: 2,
		},
	}
	g.Expect(f.admin.Create(ctx, p)).To(Succeed())
	// Once Ready, the Preview has listed the refs and found none: the pull request opened
	// next is news that only the webhook brings before the next poll, a minute later.
	waitPreviewReady(t, f, p)

	ref := fmt.Sprintf("refs/pull/%d/head", pullRequest)
	greeting := fmt.Sprintf("hello from pull request %d", pullRequest)
	head := shop.openPullRequest(t, pullRequest, greeting)
	shop.pullRequestHook(t, ctl, "opened", pullRequest)
	entry := waitPreviewRunning(t, f, p, ref, head)
	g.Expect(entry.Namespace).To(Equal(fmt.Sprintf("chart-pr-%d", pullRequest)))
	ns := &corev1.Namespace{}
	g.Expect(f.admin.Get(ctx, client.ObjectKey{Name: entry.Namespace}, ns)).To(Succeed())
	g.Expect(ns.Annotations).To(HaveKeyWithValue("landfall.dev/created-namespace", "true"))
	expectShopObjects(t, f, entry.Namespace, fmt.Sprintf("%s/%s/preview", p.Namespace, entry.Application))
	cm := &corev1.ConfigMap{}
	g.Expect(f.admin.Get(ctx, client.ObjectKey{Namespace: entry.Namespace, Name: "greeting"}, cm)).To(Succeed())
	g.Expect(cm.Data).To(HaveKeyWithValue("greeting", greeting), "the pull request's version, not main's")
	// The preview's Application keeps its healthy revision too, in a Secret of its own: one
	// the controller had to create.
	g.Eventually(func() error {
		_, err := storedRevision(f.admin, p.Namespace, entry.Application, "preview")
		return err
	}).WithTimeout(30 * time.Second).Should(Succeed())

	shop.git.DeleteRef(t, ref)
	shop.pullRequestHook(t, ctl, "closed", pullRequest)
	waitPreviewGone(t, f, p, entry)

	// The Preview's finalizer is the controller's to remove.
	g.Expect(f.admin.Delete(ctx, p)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(f.admin.Get(ctx, client.ObjectKeyFromObject(p), &landfallv1.Preview{}))
	}).WithTimeout(30*time.Second).Should(BeTrue(), "Preview deleted")
	g.Expect(ctl.LogSince(mark)).NotTo(ContainSubstring("forbidden"), "the chart must grant everything the preview did")
}

// openPullRequest branches pr-<n> off main, commits greeting on it and points
// refs/pull/<n>/head at that commit, as a Git host does; it returns the commit.
func (s *shopApp) openPullRequest(t *testing.T, n int, greeting string) string {
	t.Helper()
	branch := fmt.Sprintf("pr-%d", n)
	// A branch the server does not have would start empty.
	s.git.PushRef(t, "refs/heads/"+branch, s.git.Head(t, "refs/heads/main"))
	commit := s.git.Commit(t, branch, map[string]string{"shop/configmap.yaml": greetingFile(greeting)})
	s.git.PushRef(t, fmt.Sprintf("refs/pull/%d/head", n), commit)
	return commit
}

// waitPreviewReady waits until the Preview is Ready at its current generation.
func waitPreviewReady(t *testing.T, f *fixture, p *landfallv1.Preview) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		got := getPreview(g, f, p)
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		cond := meta.FindStatusCondition(got.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue), "%s: %s", cond.Reason, cond.Message)
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// waitPreviewRunning waits until the preview of ref runs healthy at commit, and returns its
// status entry.
func waitPreviewRunning(t *testing.T, f *fixture, p *landfallv1.Preview, ref, commit string) landfallv1.PreviewEntry {
	t.Helper()
	var entry landfallv1.PreviewEntry
	NewWithT(t).Eventually(func(g Gomega) {
		got := getPreview(g, f, p)
		g.Expect(got.Status.Previews).To(ContainElement(HaveField("Ref", ref), &entry))
		g.Expect(entry.State).To(Equal(landfallv1.PreviewRunning), entry.Message)
		g.Expect(entry.Revision).To(HaveSuffix(commit))
		g.Expect(entry.Health).To(Equal(landfallv1.HealthHealthy), entry.Message)
		g.Expect(got.Status.Running).To(Equal(int32(1)))
	}).WithTimeout(90*time.Second).Should(Succeed(), "preview of %s", ref)
	t.Logf("preview of %s: Application %s in namespace %s", ref, entry.Application, entry.Namespace)
	return entry
}

// waitPreviewGone waits until the preview's Application and Repository are deleted, its
// namespace with everything in it is gone, and the Preview lists no pull request.
func waitPreviewGone(t *testing.T, f *fixture, p *landfallv1.Preview, entry landfallv1.PreviewEntry) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	child := client.ObjectKey{Namespace: p.Namespace, Name: entry.Application}
	for _, obj := range []client.Object{&landfallv1.Application{}, &landfallv1.Repository{}} {
		g.Eventually(func() bool { return apierrors.IsNotFound(f.admin.Get(ctx, child, obj)) }).
			WithTimeout(60*time.Second).Should(BeTrue(), "%T %s deleted", obj, child)
	}
	g.Eventually(func() bool {
		return apierrors.IsNotFound(f.admin.Get(ctx, client.ObjectKey{Name: entry.Namespace}, &corev1.Namespace{}))
	}).WithTimeout(90*time.Second).Should(BeTrue(), "namespace %s deleted", entry.Namespace)
	g.Eventually(func(g Gomega) []landfallv1.PreviewEntry { return getPreview(g, f, p).Status.Previews }).
		WithTimeout(30 * time.Second).Should(BeEmpty())
}

func getPreview(g Gomega, f *fixture, p *landfallv1.Preview) *landfallv1.Preview {
	got := &landfallv1.Preview{}
	g.Expect(f.admin.Get(context.Background(), client.ObjectKeyFromObject(p), got)).To(Succeed())
	return got
}
