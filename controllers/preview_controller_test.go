package controllers_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestPreviewLifecycle: two pull requests get a namespace each, with the pull request's own
// files; a new commit on one changes only that one; a closed webhook (the ref stays, as Git
// hosts keep it) and a deleted ref each remove a preview, pruning its objects and deleting
// the namespace Landfall made; deleting the Preview removes what is left.
func TestPreviewLifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newPreviewFixture(t)
	c1 := f.openPR(t, 1, prFiles(1, "v1", nil))
	c2 := f.openPR(t, 2, prFiles(2, "v1", nil))
	p := f.create(t, nil)

	e1 := f.expectRunning(g, 1, c1)
	f.expectRunning(g, 2, c2)
	g.Expect(e1.Namespace).To(Equal(f.ns + "-pr-1"))
	g.Expect(e1.Application).To(Equal("previews-pr-1"))
	cm1 := &corev1.ConfigMap{}
	g.Expect(exists(f.ns+"-pr-1", "web-config", cm1)()).To(Succeed())
	g.Expect(cm1.Data).To(HaveKeyWithValue("pr", "1"))
	g.Eventually(func(g Gomega) {
		got := f.get(g)
		g.Expect(got.Status.Running).To(Equal(int32(2)))
		ready := apimeta.FindStatusCondition(got.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
		g.Expect(ready.Message).To(Equal("2 running, 0 waiting"))
	}, timeout, poll).Should(Succeed())
	expectChildren(g, p, f.ns, 1)

	// A new commit on PR 2: only preview 2 changes.
	app1 := &landfallv1.Application{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "previews-pr-1"}, app1)).To(Succeed())
	c2b := f.openPR(t, 2, prFiles(2, "v2", nil))
	f.prHook(t, "synchronize", 2)
	f.expectRunning(g, 2, c2b)
	g.Eventually(func(g Gomega) map[string]string {
		cm := &corev1.ConfigMap{}
		g.Expect(exists(f.ns+"-pr-2", "web-config", cm)()).To(Succeed())
		return cm.Data
	}, timeout, poll).Should(HaveKeyWithValue("version", "v2"))
	again := &corev1.ConfigMap{}
	g.Expect(exists(f.ns+"-pr-1", "web-config", again)()).To(Succeed())
	g.Expect(again.ResourceVersion).To(Equal(cm1.ResourceVersion), "preview 1 untouched")
	after := &landfallv1.Application{}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app1), after)).To(Succeed())
	g.Expect(after.Generation).To(Equal(app1.Generation), "preview 1's Application untouched")
	g.Expect(after.Status.Revision).To(Equal(app1.Status.Revision))

	// Closed: the ref stays (GitHub keeps it), the preview goes and stays gone.
	f.prHook(t, "closed", 1)
	f.expectGone(g, "previews-pr-1", f.ns+"-pr-1")
	g.Expect(f.entry(g, "refs/pull/1/head").State).To(Equal(landfallv1.PreviewClosed))

	// The ref disappears: announced by a push, as when a branch is deleted.
	f.srv.DeleteRef(t, "refs/pull/2/head")
	g.Expect(sendHook(t, f.repo, hookToken, []byte(pushBody))).To(Equal(http.StatusOK))
	f.expectGone(g, "previews-pr-2", f.ns+"-pr-2")
	g.Eventually(func(g Gomega) []landfallv1.PreviewEntry { return f.get(g).Status.Previews }, timeout, poll).
		Should(ConsistOf(HaveField("State", landfallv1.PreviewClosed)))

	// Reopened with a new commit: a new preview; deleting the Preview removes it all.
	c1b := f.openPR(t, 1, prFiles(1, "v2", nil))
	g.Expect(k8s.Patch(ctx, p, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"namespaceTemplate":"`+f.ns+`-again-{{.Number}}"}}`)))).To(Succeed())
	f.prHook(t, "reopened", 1)
	f.expectRunning(g, 1, c1b)
	g.Expect(exists(f.ns+"-again-1", "web-config", &corev1.ConfigMap{})()).To(Succeed())
	g.Expect(k8s.Delete(ctx, p)).To(Succeed())
	f.expectGone(g, "previews-pr-1", f.ns+"-again-1")
	g.Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(p), p)) }, timeout, poll).
		Should(BeTrue(), "the Preview goes once its children are gone")
}

// expectChildren checks the children of a running pull request: owned by the Preview,
// labelled, following the pull request's ref, confined, and a namespace marked as Landfall's.
func expectChildren(g *WithT, p *landfallv1.Preview, ns string, n int) {
	ctx := context.Background()
	name := "previews-pr-" + strconv.Itoa(n)
	app := &landfallv1.Application{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, app)).To(Succeed())
	g.Expect(metav1.IsControlledBy(app, p)).To(BeTrue())
	g.Expect(app.Labels).To(HaveKeyWithValue(landfallv1.LabelPullRequest, strconv.Itoa(n)))
	g.Expect(app.Labels).To(HaveKey(landfallv1.LabelPreview))
	g.Expect(app.Spec.Prune && app.Spec.SelfHeal).To(BeTrue())
	g.Expect(app.Spec.AllowClusterScoped).To(BeFalse())
	g.Expect(app.Spec.AllowedNamespaces).To(BeEmpty())
	g.Expect(app.Spec.Environments).To(HaveLen(1))
	g.Expect(app.Spec.Environments[0].Name).To(Equal("preview"))
	repo := &landfallv1.Repository{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, repo)).To(Succeed())
	g.Expect(metav1.IsControlledBy(repo, p)).To(BeTrue())
	g.Expect(repo.Spec.Ref).To(Equal(landfallv1.GitRef{Name: "refs/pull/" + strconv.Itoa(n) + "/head"}))
	namespace := &corev1.Namespace{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: app.Spec.Environments[0].Namespace}, namespace)).To(Succeed())
	g.Expect(namespace.Annotations).To(HaveKeyWithValue(landfallv1.AnnotationOwner, ns+"/"+name+"/preview"))
	g.Expect(namespace.Annotations).To(HaveKeyWithValue("landfall.dev/created-namespace", "true"))
}

// TestPreviewMaxPreviews: with maxPreviews 2 and three pull requests, two run and the third
// waits with a status naming the limit; it starts when one closes.
func TestPreviewMaxPreviews(t *testing.T) {
	g := NewWithT(t)
	f := newPreviewFixture(t)
	var commits []string
	for n := 1; n <= 3; n++ {
		commits = append(commits, f.openPR(t, n, prFiles(n, "v1", nil)))
	}
	f.create(t, func(s *landfallv1.PreviewSpec) { s.MaxPreviews = 2 })
	f.expectRunning(g, 1, commits[0])
	f.expectRunning(g, 2, commits[1])
	g.Eventually(func(g Gomega) {
		got := f.get(g)
		g.Expect(got.Status.Running).To(Equal(int32(2)))
		g.Expect(got.Status.Waiting).To(Equal(int32(1)))
		e := f.entry(g, "refs/pull/3/head")
		g.Expect(e.State).To(Equal(landfallv1.PreviewWaiting))
		g.Expect(e.Message).To(ContainSubstring("maxPreviews (2)"))
		g.Expect(e.Namespace).To(BeEmpty())
	}, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(k8s.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "previews-pr-3"},
		&landfallv1.Application{}))).To(BeTrue(), "a waiting preview has no Application")

	f.prHook(t, "closed", 1)
	f.expectGone(g, "previews-pr-1", f.ns+"-pr-1")
	f.expectRunning(g, 3, commits[2])
	g.Expect(exists(f.ns+"-pr-3", "web-config", &corev1.ConfigMap{})()).To(Succeed())
	g.Eventually(func(g Gomega) int32 { return f.get(g).Status.Waiting }, timeout, poll).Should(BeZero())
}

// TestPreviewTTL: a preview whose head has not changed for the TTL is removed and shows
// Expired; a new commit brings it back (here in a new namespace: the template uses the
// short SHA).
func TestPreviewTTL(t *testing.T) {
	g := NewWithT(t)
	f := newPreviewFixture(t)
	c1 := f.openPR(t, 1, prFiles(1, "v1", nil))
	f.create(t, func(s *landfallv1.PreviewSpec) {
		s.TTL = &metav1.Duration{Duration: 5 * time.Second}
		s.NamespaceTemplate = f.ns + "-{{.Number}}-{{.ShortSHA}}"
	})
	first := f.ns + "-1-" + c1[:7]
	g.Eventually(func(g Gomega) {
		e := f.entry(g, "refs/pull/1/head")
		g.Expect(e.State).To(Equal(landfallv1.PreviewExpired))
		g.Expect(e.Message).To(ContainSubstring("ttl"))
	}, timeout, poll).Should(Succeed())
	f.expectGone(g, "previews-pr-1", first)

	// A longer TTL does not bring it back by itself (Expired lasts until the head changes);
	// it keeps the revived preview from expiring again while the test watches it.
	p := f.get(g)
	g.Expect(k8s.Patch(context.Background(), p, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"ttl":"1h"}}`)))).To(Succeed())
	g.Eventually(func(g Gomega) int64 { return f.get(g).Status.ObservedGeneration }, timeout, poll).Should(Equal(p.Generation))
	g.Expect(f.entry(g, "refs/pull/1/head").State).To(Equal(landfallv1.PreviewExpired))
	c1b := f.openPR(t, 1, prFiles(1, "v2", nil))
	f.prHook(t, "synchronize", 1)
	e := f.expectRunning(g, 1, c1b)
	g.Expect(e.Namespace).To(Equal(f.ns + "-1-" + c1b[:7]))
}

// TestPreviewRefusesOutsideItsNamespace: a pull request whose manifests add a ClusterRole, or
// write into default, is refused with a clear status and nothing of it is applied; the
// Preview says which pull request is broken.
func TestPreviewRefusesOutsideItsNamespace(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newPreviewFixture(t)
	role := "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: " + f.ns + "-escalate}\nrules: []\n"
	intoDefault := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + f.ns + "-planted, namespace: default}\ndata: {x: y}\n"
	f.openPR(t, 1, prFiles(1, "v1", map[string]string{"apps/web/role.yaml": role}))
	f.openPR(t, 2, prFiles(2, "v1", map[string]string{"apps/web/planted.yaml": intoDefault}))
	f.create(t, nil)

	g.Eventually(func(g Gomega) {
		e1, e2 := f.entry(g, "refs/pull/1/head"), f.entry(g, "refs/pull/2/head")
		g.Expect(e1.Message).To(And(ContainSubstring("ClusterRole"), ContainSubstring("cluster-scoped objects are not allowed")))
		g.Expect(e2.Message).To(And(ContainSubstring("ConfigMap default/"), ContainSubstring("namespace not allowed")))
		ready := apimeta.FindStatusCondition(f.get(g).Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonRenderFailed))
		g.Expect(ready.Message).To(ContainSubstring("pull request #1"))
	}, timeout, poll).Should(Succeed())
	// The failed reconciles are over; none applied anything, not even the harmless objects.
	g.Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Name: f.ns + "-escalate"}, &rbacv1.ClusterRole{}))).To(BeTrue())
	g.Expect(apierrors.IsNotFound(exists("default", f.ns+"-planted", &corev1.ConfigMap{})())).To(BeTrue())
	for _, n := range []string{"1", "2"} {
		g.Expect(apierrors.IsNotFound(exists(f.ns+"-pr-"+n, "web-config", &corev1.ConfigMap{})())).To(BeTrue())
	}
}

// TestPreviewNamespaceSafety: a namespace someone else made under the template's name is
// never deployed into nor deleted (the preview takes a hashed name); branch names that would
// make kube-system or a 300-character name make safe names.
func TestPreviewNamespaceSafety(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newPreviewFixture(t)
	theirs := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns + "-pr-1"}}
	g.Expect(k8s.Create(ctx, theirs)).To(Succeed())
	precious := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "precious", Namespace: theirs.Name}}
	g.Expect(k8s.Create(ctx, precious)).To(Succeed())
	c1 := f.openPR(t, 1, prFiles(1, "v1", nil))
	f.create(t, nil)
	e := f.expectRunning(g, 1, c1)
	g.Expect(e.Namespace).To(HavePrefix(f.ns + "-pr-1-"))
	g.Expect(validation.IsDNS1123Label(e.Namespace)).To(BeEmpty())
	g.Expect(exists(e.Namespace, "web-config", &corev1.ConfigMap{})()).To(Succeed())
	g.Expect(apierrors.IsNotFound(exists(theirs.Name, "web-config", &corev1.ConfigMap{})())).To(BeTrue())

	// Branches: one named kube-system, one of 300 characters, with the branch as the name.
	long := strings.Repeat("a", 99) + "/" + strings.Repeat("b", 99) + "/" + strings.Repeat("c", 100)
	g.Expect(long).To(HaveLen(300))
	kube := f.srv.Commit(t, "kube-system", prFiles(0, "v1", nil))
	longCommit := f.srv.Commit(t, long, prFiles(0, "v1", nil))
	branches := &landfallv1.Preview{ObjectMeta: metav1.ObjectMeta{Name: "branches", Namespace: f.ns},
		Spec: landfallv1.PreviewSpec{RepositoryRef: landfallv1.LocalObjectReference{Name: f.repo.Name},
			Refs: []string{"refs/heads/kube-system", "refs/heads/aaa*/*/*"}, NamespaceTemplate: "{{.Branch}}",
			Template: landfallv1.EnvironmentTemplate{Path: "apps/web"}}}
	g.Expect(k8s.Create(ctx, branches)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(ctx, branches) })
	g.Eventually(func(g Gomega) {
		got := &landfallv1.Preview{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(branches), got)).To(Succeed())
		g.Expect(got.Status.Previews).To(HaveLen(2))
		for _, e := range got.Status.Previews {
			g.Expect(e.State).To(Equal(landfallv1.PreviewRunning))
			g.Expect(e.Health).To(Equal(landfallv1.HealthHealthy), e.Message)
			g.Expect(validation.IsDNS1123Label(e.Namespace)).To(BeEmpty(), e.Namespace)
			g.Expect(e.Namespace).NotTo(HavePrefix("kube-"))
			g.Expect(validation.IsDNS1123Label(e.Application)).To(BeEmpty(), e.Application)
			switch e.Ref {
			case "refs/heads/kube-system":
				g.Expect(e.Revision).To(HaveSuffix(kube))
				g.Expect(e.Namespace).To(MatchRegexp(`^pr-kube-system-[0-9a-f]{8}$`))
			default:
				g.Expect(e.Revision).To(HaveSuffix(longCommit))
				g.Expect(e.Namespace).To(MatchRegexp(`^a{40,}-b*-?[0-9a-f]{8}$`))
			}
			g.Expect(exists(e.Namespace, "web-config", &corev1.ConfigMap{})()).To(Succeed())
		}
	}, timeout, poll).Should(Succeed())
	system := &corev1.Namespace{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "kube-system"}, system)).To(Succeed())
	g.Expect(system.Annotations).NotTo(HaveKey(landfallv1.AnnotationOwner))

	// Closing PR 1 deletes the namespace Landfall made, never theirs.
	f.prHook(t, "closed", 1)
	f.expectGone(g, "previews-pr-1", e.Namespace)
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(theirs), theirs)).To(Succeed())
	g.Expect(theirs.DeletionTimestamp).To(BeNil())
	g.Expect(exists(theirs.Name, "precious", &corev1.ConfigMap{})()).To(Succeed())
}

// TestRepositoryRefByName: the apiserver takes a ref given by its full name (what a
// preview's Repository follows), alone and below refs/ only.
func TestRepositoryRefByName(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	spec := func(ref landfallv1.GitRef) *landfallv1.Repository {
		return &landfallv1.Repository{ObjectMeta: metav1.ObjectMeta{GenerateName: "ref-", Namespace: ns},
			Spec: landfallv1.RepositorySpec{URL: "https://git.example.invalid/x.git", Ref: ref}}
	}
	g.Expect(k8s.Create(context.Background(), spec(landfallv1.GitRef{Name: "refs/merge-requests/4/head"}))).To(Succeed())
	for _, bad := range []landfallv1.GitRef{{Name: "pull/1/head"}, {Name: "refs/pull/1/head", Branch: "main"}} {
		err := k8s.Create(context.Background(), spec(bad), client.DryRunAll)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%+v: %v", bad, err)
	}
}
