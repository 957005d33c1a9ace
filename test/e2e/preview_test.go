package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestPreviewPullRequests: three pull requests get three namespaces with healthy
// Deployments (real pods, through kwok); a new commit on PR 2 changes preview 2 only; PR 1's
// ref deleted and PR 3 closed (its ref stays, as Git hosts keep it) each take their namespace
// and everything in it away, on one webhook each: the Repository polls once an hour.
func TestPreviewPullRequests(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	f := newFixture(t, e, testdata(t, "web-seed", "apps/web"))
	commits := map[int]string{}
	for n := 1; n <= 3; n++ {
		commits[n] = openPullRequest(t, f, n, previewFiles(t, n, "v1"))
	}
	p := createPreview(t, f, nil)
	for n := 1; n <= 3; n++ {
		entry := waitPreviewHealthy(g, f, p, n, commits[n])
		g.Expect(entry.Namespace).To(Equal(fmt.Sprintf("%s-pr-%d", f.ns, n)))
		waitRolledOut(g, e.k8s, entry.Namespace, "web", 2)
		cm := &corev1.ConfigMap{}
		g.Expect(e.k8s.Get(ctx, key(entry.Namespace, "web-config"), cm)).To(Succeed())
		g.Expect(cm.Data).To(HaveKeyWithValue("greeting", fmt.Sprintf("hello from pull request %d", n)))
	}
	g.Eventually(func(g Gomega) int32 { return getPreview(g, f, p).Status.Running }, timeout, poll).Should(Equal(int32(3)))
	before := map[int]int64{}
	for _, n := range []int{1, 3} {
		d := &appsv1.Deployment{}
		g.Expect(e.k8s.Get(ctx, key(fmt.Sprintf("%s-pr-%d", f.ns, n), "web"), d)).To(Succeed())
		before[n] = d.Generation
	}

	// A new commit on PR 2 (a new image): preview 2 rolls out, the others do not move.
	commits[2] = openPullRequest(t, f, 2, previewFiles(t, 2, "v2"))
	pullRequestHook(t, f, "synchronize", 2)
	waitPreviewHealthy(g, f, p, 2, commits[2])
	rolled := waitRolledOut(g, e.k8s, f.ns+"-pr-2", "web", 2)
	g.Expect(rolled.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/web:v2"))
	for _, n := range []int{1, 3} {
		d := &appsv1.Deployment{}
		g.Expect(e.k8s.Get(ctx, key(fmt.Sprintf("%s-pr-%d", f.ns, n), "web"), d)).To(Succeed())
		g.Expect(d.Generation).To(Equal(before[n]), "preview %d untouched", n)
		g.Expect(previewEntry(g, f, p, n).Revision).To(HaveSuffix(commits[n]))
	}

	// PR 1's ref deleted, announced by one push webhook.
	f.srv.DeleteRef(t, "refs/pull/1/head")
	f.webhook(t)
	waitPreviewGone(g, f, "previews-pr-1", f.ns+"-pr-1")
	// PR 3 closed: its ref stays.
	pullRequestHook(t, f, "closed", 3)
	waitPreviewGone(g, f, "previews-pr-3", f.ns+"-pr-3")
	g.Expect(previewEntry(g, f, p, 3).State).To(Equal(landfallv1.PreviewClosed))
	g.Expect(getPreview(g, f, p).Status.Running).To(Equal(int32(1)))
	waitRolledOut(g, e.k8s, f.ns+"-pr-2", "web", 2)
}

// TestPreviewRefusesEscapes: a pull request whose manifests add a ClusterRole, and one that
// writes into default, are refused with a clear status; nothing of either is applied.
func TestPreviewRefusesEscapes(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	f := newFixture(t, e, testdata(t, "web-seed", "apps/web"))
	role := "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: " + f.ns + "-escalate}\n" +
		"rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n"
	planted := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + f.ns + "-planted, namespace: default}\ndata: {x: y}\n"
	withRole := previewFiles(t, 1, "v1")
	withRole["apps/web/role.yaml"] = role
	intoDefault := previewFiles(t, 2, "v1")
	intoDefault["apps/web/planted.yaml"] = planted
	openPullRequest(t, f, 1, withRole)
	openPullRequest(t, f, 2, intoDefault)
	p := createPreview(t, f, nil)

	g.Eventually(func(g Gomega) {
		e1, e2 := previewEntry(g, f, p, 1), previewEntry(g, f, p, 2)
		g.Expect(e1.Health).To(Equal(landfallv1.HealthDegraded))
		g.Expect(e1.Message).To(And(ContainSubstring("ClusterRole "+f.ns+"-escalate"), ContainSubstring("cluster-scoped objects are not allowed")))
		g.Expect(e2.Health).To(Equal(landfallv1.HealthDegraded))
		g.Expect(e2.Message).To(And(ContainSubstring("ConfigMap default/"+f.ns+"-planted"), ContainSubstring("namespace not allowed")))
		ready := apimeta.FindStatusCondition(getPreview(g, f, p).Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonRenderFailed))
		g.Expect(ready.Message).To(ContainSubstring("pull request #1"))
	}, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(e.k8s.Get(ctx, key("", f.ns+"-escalate"), &rbacv1.ClusterRole{}))).To(BeTrue())
	g.Expect(apierrors.IsNotFound(e.k8s.Get(ctx, key("default", f.ns+"-planted"), &corev1.ConfigMap{}))).To(BeTrue())
	for n := 1; n <= 2; n++ {
		ns := fmt.Sprintf("%s-pr-%d", f.ns, n)
		for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &corev1.ConfigMap{}} {
			name := "web"
			if _, ok := o.(*corev1.ConfigMap); ok {
				name = "web-config"
			}
			g.Expect(apierrors.IsNotFound(e.k8s.Get(ctx, key(ns, name), o))).To(BeTrue(), "%T %s/%s must not be applied", o, ns, name)
		}
	}
}

// TestPreviewSafeNamespaces: branches whose names would make kube-system or a 300-character
// name get safe namespace names (a branch literally named ../kube-system cannot exist: Git
// refuses ".." in ref names; the unit tests feed that string to the name function). Deleting
// the Preview removes every namespace it made.
func TestPreviewSafeNamespaces(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	f := newFixture(t, e, testdata(t, "web-seed", "apps/web"))
	long := strings.Repeat("a", 99) + "/" + strings.Repeat("b", 99) + "/" + strings.Repeat("c", 100)
	heads := map[string]string{
		"refs/heads/kube-system": f.srv.Commit(t, "kube-system", previewFiles(t, 0, "v1")),
		"refs/heads/" + long:     f.srv.Commit(t, long, previewFiles(t, 0, "v1")),
	}
	p := createPreview(t, f, func(s *landfallv1.PreviewSpec) {
		s.Refs = []string{"refs/heads/kube-system", "refs/heads/aaa*/*/*"}
		s.NamespaceTemplate = "{{.Branch}}"
	})
	var namespaces []string
	g.Eventually(func(g Gomega) {
		namespaces = nil
		got := getPreview(g, f, p)
		g.Expect(got.Status.Previews).To(HaveLen(2))
		for _, entry := range got.Status.Previews {
			g.Expect(entry.Revision).To(HaveSuffix(heads[entry.Ref]))
			g.Expect(entry.Health).To(Equal(landfallv1.HealthHealthy), entry.Message)
			namespaces = append(namespaces, entry.Namespace)
		}
	}, timeout, poll).Should(Succeed())
	for _, ns := range namespaces {
		g.Expect(validation.IsDNS1123Label(ns)).To(BeEmpty(), ns)
		g.Expect(ns).NotTo(HavePrefix("kube-"))
		g.Expect(ns).To(MatchRegexp(`-[0-9a-f]{8}$`), "a changed name carries a hash")
		waitRolledOut(g, e.k8s, ns, "web", 2)
	}
	system := &corev1.Namespace{}
	g.Expect(e.k8s.Get(ctx, key("", "kube-system"), system)).To(Succeed())
	g.Expect(system.Annotations).NotTo(HaveKey(landfallv1.AnnotationOwner))
	g.Expect(e.k8s.List(ctx, &appsv1.DeploymentList{}, client.InNamespace("kube-system"))).To(Succeed())

	g.Expect(e.k8s.Delete(ctx, p)).To(Succeed())
	for _, ns := range namespaces {
		g.Eventually(func() bool { return apierrors.IsNotFound(e.k8s.Get(ctx, key("", ns), &corev1.Namespace{})) },
			timeout, poll).Should(BeTrue(), "namespace %s deleted with the Preview", ns)
	}
	g.Eventually(func() bool { return apierrors.IsNotFound(e.k8s.Get(ctx, client.ObjectKeyFromObject(p), p)) },
		timeout, poll).Should(BeTrue())
}

// TestPreviewMaxPreviews: maxPreviews 2 with three pull requests: two run, one waits with a
// status naming the limit, and it starts (healthy) when one closes.
func TestPreviewMaxPreviews(t *testing.T) {
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, testdata(t, "web-seed", "apps/web"))
	commits := map[int]string{}
	for n := 1; n <= 3; n++ {
		commits[n] = openPullRequest(t, f, n, previewFiles(t, n, "v1"))
	}
	p := createPreview(t, f, func(s *landfallv1.PreviewSpec) { s.MaxPreviews = 2 })
	waitPreviewHealthy(g, f, p, 1, commits[1])
	waitPreviewHealthy(g, f, p, 2, commits[2])
	g.Eventually(func(g Gomega) {
		got := getPreview(g, f, p)
		g.Expect(got.Status.Running).To(Equal(int32(2)))
		g.Expect(got.Status.Waiting).To(Equal(int32(1)))
		third := previewEntry(g, f, p, 3)
		g.Expect(third.State).To(Equal(landfallv1.PreviewWaiting))
		g.Expect(third.Message).To(ContainSubstring("maxPreviews (2)"))
	}, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(e.k8s.Get(context.Background(), key("", f.ns+"-pr-3"), &corev1.Namespace{}))).To(BeTrue())

	pullRequestHook(t, f, "closed", 2)
	waitPreviewGone(g, f, "previews-pr-2", f.ns+"-pr-2")
	waitPreviewHealthy(g, f, p, 3, commits[3])
	waitRolledOut(g, e.k8s, f.ns+"-pr-3", "web", 2)
	g.Expect(getPreview(g, f, p).Status.Waiting).To(BeZero())
}

// previewFiles is a pull request's tree: the web app with a greeting naming the pull
// request and an image tag.
func previewFiles(tb testing.TB, n int, tag string) map[string]string {
	files := testdata(tb, "web", "apps/web")
	files["apps/web/configmap.yaml"] = strings.Replace(files["apps/web/configmap.yaml"], "greeting: hello",
		fmt.Sprintf("greeting: hello from pull request %d", n), 1)
	files["apps/web/deployment.yaml"] = strings.Replace(files["apps/web/deployment.yaml"], "web:v1", "web:"+tag, 1)
	return files
}

// openPullRequest commits files as the whole tree of branch pr-<n> and points
// refs/pull/<n>/head at it, as a Git host does.
func openPullRequest(tb testing.TB, f *fixture, n int, files map[string]string) string {
	tb.Helper()
	commit := f.srv.Commit(tb, fmt.Sprintf("pr-%d", n), files)
	f.srv.PushRef(tb, fmt.Sprintf("refs/pull/%d/head", n), commit)
	return commit
}

// createPreview makes the Preview "previews" of f's Repository: refs/pull/*/head into
// "<ns>-pr-<n>", deploying apps/web; deleted when the test ends.
func createPreview(tb testing.TB, f *fixture, mutate func(*landfallv1.PreviewSpec)) *landfallv1.Preview {
	tb.Helper()
	p := &landfallv1.Preview{
		ObjectMeta: metav1.ObjectMeta{Name: "previews", Namespace: f.ns},
		Spec: landfallv1.PreviewSpec{
			RepositoryRef: landfallv1.LocalObjectReference{Name: f.repo.Name}, Refs: []string{"refs/pull/*/head"},
			NamespaceTemplate: f.ns + "-pr-{{.Number}}", Template: landfallv1.EnvironmentTemplate{Path: "apps/web"},
		},
	}
	if mutate != nil {
		mutate(&p.Spec)
	}
	must(tb, f.e.k8s.Create(context.Background(), p))
	tb.Cleanup(func() { _ = f.e.k8s.Delete(context.Background(), p) })
	return p
}

// pullRequestHook posts a GitHub pull_request event signed with the Repository's secret.
func pullRequestHook(tb testing.TB, f *fixture, action string, n int) {
	tb.Helper()
	body := fmt.Appendf(nil, `{"action":%q,"number":%d,"pull_request":{"number":%d},"repository":{"clone_url":"http://example.invalid/x.git"}}`,
		action, n, n)
	url := "http://" + f.e.ctrl.webhookAddr + "/hooks/" + f.ns + "/" + f.repo.Name
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	must(tb, err)
	req.Header.Set("X-GitHub-Event", "pull_request")
	mac := hmac.New(sha256.New, []byte(hookToken))
	mac.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	must(tb, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("pull_request webhook answered %s", resp.Status)
	}
}

func getPreview(g Gomega, f *fixture, p *landfallv1.Preview) *landfallv1.Preview {
	got := &landfallv1.Preview{}
	g.Expect(f.e.k8s.Get(context.Background(), client.ObjectKeyFromObject(p), got)).To(Succeed())
	return got
}

// previewEntry returns the status entry of pull request n.
func previewEntry(g Gomega, f *fixture, p *landfallv1.Preview, n int) landfallv1.PreviewEntry {
	ref := fmt.Sprintf("refs/pull/%d/head", n)
	for _, e := range getPreview(g, f, p).Status.Previews {
		if e.Ref == ref {
			return e
		}
	}
	g.Expect(ref).To(BeEmpty(), "no status entry")
	return landfallv1.PreviewEntry{}
}

// waitPreviewHealthy waits until pull request n's preview runs healthy at commit.
func waitPreviewHealthy(g *WithT, f *fixture, p *landfallv1.Preview, n int, commit string) landfallv1.PreviewEntry {
	var entry landfallv1.PreviewEntry
	g.Eventually(func(g Gomega) {
		entry = previewEntry(g, f, p, n)
		g.Expect(entry.State).To(Equal(landfallv1.PreviewRunning), entry.Message)
		g.Expect(entry.Revision).To(HaveSuffix(commit))
		g.Expect(entry.Health).To(Equal(landfallv1.HealthHealthy), entry.Message)
	}, timeout, poll).Should(Succeed(), "preview of pull request %d", n)
	return entry
}

// waitPreviewGone waits until a preview's Application and Repository are gone and its
// namespace, with everything in it, is deleted.
func waitPreviewGone(g *WithT, f *fixture, app, namespace string) {
	ctx := context.Background()
	for _, o := range []client.Object{&landfallv1.Application{}, &landfallv1.Repository{}} {
		g.Eventually(func() bool { return apierrors.IsNotFound(f.e.k8s.Get(ctx, key(f.ns, app), o)) },
			timeout, poll).Should(BeTrue(), "%T %s deleted", o, app)
	}
	g.Eventually(func() bool { return apierrors.IsNotFound(f.e.k8s.Get(ctx, key("", namespace), &corev1.Namespace{})) },
		timeout, poll).Should(BeTrue(), "namespace %s deleted", namespace)
	pods := &corev1.PodList{}
	g.Expect(f.e.k8s.List(ctx, pods, client.InNamespace(namespace))).To(Succeed())
	g.Expect(pods.Items).To(BeEmpty())
}
