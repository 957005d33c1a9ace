package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// previewFixture is a Git server with pull-request refs, a Repository for it and a Preview,
// in a fresh namespace. In envtest nothing deletes a namespace's contents nor finishes
// deleting it (no controller-manager): tests see a deleted preview namespace as Terminating.
type previewFixture struct {
	srv     *gitserver.Server
	repo    *landfallv1.Repository
	preview *landfallv1.Preview
	ns      string
}

func newPreviewFixture(t *testing.T) *previewFixture {
	t.Helper()
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"README": "main"})
	ns := newNamespace(t)
	return &previewFixture{srv: srv, ns: ns, repo: newRepository(t, ns, srv, time.Hour)}
}

// create makes the Preview "previews": pull requests refs/pull/*/head, each in
// "<ns>-pr-<n>", deploying apps/web.
func (f *previewFixture) create(t *testing.T, mutate func(*landfallv1.PreviewSpec)) *landfallv1.Preview {
	t.Helper()
	p := &landfallv1.Preview{
		ObjectMeta: metav1.ObjectMeta{Name: "previews", Namespace: f.ns},
		Spec: landfallv1.PreviewSpec{
			RepositoryRef:     landfallv1.LocalObjectReference{Name: f.repo.Name},
			Refs:              []string{"refs/pull/*/head"},
			NamespaceTemplate: f.ns + "-pr-{{.Number}}",
			Template:          landfallv1.EnvironmentTemplate{Path: "apps/web"},
		},
	}
	if mutate != nil {
		mutate(&p.Spec)
	}
	if err := k8s.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), p) })
	f.preview = p
	return p
}

// openPR commits files as the whole tree of branch pr-<n> and points refs/pull/<n>/head
// at it, as a Git host does for a pull request.
func (f *previewFixture) openPR(t *testing.T, n int, files map[string]string) string {
	t.Helper()
	commit := f.srv.Commit(t, fmt.Sprintf("pr-%d", n), files)
	f.srv.PushRef(t, fmt.Sprintf("refs/pull/%d/head", n), commit)
	return commit
}

// prHook sends a signed GitHub pull_request event.
func (f *previewFixture) prHook(t *testing.T, action string, n int) {
	t.Helper()
	body := fmt.Appendf(nil, `{"action":%q,"number":%d,"pull_request":{"number":%d},"repository":{"clone_url":"http://example.invalid/x.git"}}`,
		action, n, n)
	h := http.Header{"X-Github-Event": {"pull_request"}, "X-Hub-Signature-256": {"sha256=" + hmacHex(hookToken, body)}}
	code, err := postWebhook(f.repo, h, body)
	if err != nil || code != http.StatusOK {
		t.Fatalf("pull_request webhook: %d, %v", code, err)
	}
}

func (f *previewFixture) get(g Gomega) *landfallv1.Preview {
	p := &landfallv1.Preview{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(f.preview), p)).To(Succeed())
	return p
}

// entry returns the status entry of a ref, failing when there is none.
func (f *previewFixture) entry(g Gomega, ref string) landfallv1.PreviewEntry {
	for _, e := range f.get(g).Status.Previews {
		if e.Ref == ref {
			return e
		}
	}
	g.Expect(ref).To(BeEmpty(), "no status entry for the ref")
	return landfallv1.PreviewEntry{}
}

// expectRunning waits until the pull request's preview runs healthy at commit.
func (f *previewFixture) expectRunning(g *WithT, n int, commit string) landfallv1.PreviewEntry {
	ref := fmt.Sprintf("refs/pull/%d/head", n)
	var e landfallv1.PreviewEntry
	g.Eventually(func(g Gomega) {
		e = f.entry(g, ref)
		g.Expect(e.State).To(Equal(landfallv1.PreviewRunning), e.Message)
		g.Expect(e.Revision).To(Equal(ref + "@sha1:" + commit))
		g.Expect(e.Health).To(Equal(landfallv1.HealthHealthy), e.Message)
	}, timeout, poll).Should(Succeed(), "preview of %s", ref)
	return e
}

// expectGone waits until a preview's Application, Repository and applied objects are gone
// and its namespace is being deleted.
func (f *previewFixture) expectGone(g *WithT, app, namespace string) {
	ctx := context.Background()
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: app}, &landfallv1.Application{}))
	}, timeout, poll).Should(BeTrue(), "Application %s deleted", app)
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: app}, &landfallv1.Repository{}))
	}, timeout, poll).Should(BeTrue(), "Repository %s deleted", app)
	g.Expect(apierrors.IsNotFound(exists(namespace, "web-config", &corev1.ConfigMap{})())).To(BeTrue(), "objects pruned")
	g.Eventually(func(g Gomega) {
		ns := &corev1.Namespace{}
		err := k8s.Get(ctx, client.ObjectKey{Name: namespace}, ns)
		if !apierrors.IsNotFound(err) {
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ns.DeletionTimestamp).NotTo(BeNil(), "namespace %s is being deleted", namespace)
		}
	}, timeout, poll).Should(Succeed())
}

// prFiles is a pull request's tree: a ConfigMap naming the pull request and a version, and
// a Service (both healthy without a controller-manager), plus extra files.
func prFiles(n int, version string, extra map[string]string) map[string]string {
	files := map[string]string{
		"apps/web/configmap.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {pr: %q, version: %q}\n", fmt.Sprint(n), version),
		"apps/web/service.yaml":   serviceYAML,
	}
	for k, v := range extra {
		files[k] = v
	}
	return files
}
