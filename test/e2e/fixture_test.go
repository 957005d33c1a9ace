package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

const (
	// timeout bounds every wait on the controller: generous, because two cores are shared
	// by the cluster, the controller, the test and whatever else runs.
	timeout = 60 * time.Second
	poll    = 50 * time.Millisecond

	hookToken = "e2e-webhook-token"
	pushEvent = `{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000","repository":{"clone_url":"http://example.invalid/x.git"}}`
)

// fixture is a config repository on a real Git server, and a Repository for it (with
// credentials and a webhook secret) in a namespace of its own.
type fixture struct {
	e    *env
	srv  *gitserver.Server
	ns   string
	repo *landfallv1.Repository
}

// newFixture commits files as the first commit of main and waits until the Repository has
// resolved it. The Repository polls once an hour: only webhooks bring later pushes in.
func newFixture(tb testing.TB, e *env, files map[string]string) *fixture {
	tb.Helper()
	return newFixtureInterval(tb, e, files, &metav1.Duration{Duration: time.Hour})
}

func newFixtureInterval(tb testing.TB, e *env, files map[string]string, interval *metav1.Duration) *fixture {
	tb.Helper()
	f := &fixture{e: e, srv: gitserver.New(tb, gitserver.Options{})}
	commit := f.srv.Commit(tb, "main", files)
	f.ns = createNamespace(tb, e)
	f.createRepository(tb, func(s *landfallv1.RepositorySpec) { s.Interval = interval })
	f.waitRevision(tb, commit)
	return f
}

// createNamespace makes a namespace for one test.
func createNamespace(tb testing.TB, e *env) string {
	tb.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	must(tb, e.k8s.Create(context.Background(), ns))
	return ns.Name
}

// createRepository makes the credentials and webhook Secrets and a Repository for f.srv
// in f.ns, polling once an hour unless mutate says otherwise.
func (f *fixture) createRepository(tb testing.TB, mutate func(*landfallv1.RepositorySpec)) {
	tb.Helper()
	ctx := context.Background()
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "git", Namespace: f.ns},
			StringData: map[string]string{"username": f.srv.Username, "password": f.srv.Password}},
		{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: f.ns}, StringData: map[string]string{"token": hookToken}},
	} {
		must(tb, f.e.k8s.Create(ctx, s))
	}
	f.repo = &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: "config", Namespace: f.ns},
		Spec: landfallv1.RepositorySpec{
			URL: f.srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true,
			Interval:         &metav1.Duration{Duration: time.Hour},
			SecretRef:        &landfallv1.LocalObjectReference{Name: "git"},
			WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"},
		},
	}
	if mutate != nil {
		mutate(&f.repo.Spec)
	}
	must(tb, f.e.k8s.Create(ctx, f.repo))
}

// waitRevision waits until the Repository has resolved commit.
func (f *fixture) waitRevision(tb testing.TB, commit string) {
	tb.Helper()
	NewWithT(tb).Eventually(func(g Gomega) {
		repo := &landfallv1.Repository{}
		g.Expect(f.e.k8s.Get(context.Background(), client.ObjectKeyFromObject(f.repo), repo)).To(Succeed())
		g.Expect(repo.Status.Revision).To(HaveSuffix(commit))
	}, timeout, poll).Should(Succeed())
}

// application creates an Application named name deploying path to envs, pruning and
// self-healing unless mutate says otherwise.
func (f *fixture) application(tb testing.TB, name, path string, envs []landfallv1.Environment,
	mutate func(*landfallv1.ApplicationSpec)) *landfallv1.Application {
	tb.Helper()
	app := &landfallv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: landfallv1.ApplicationSpec{
			RepositoryRef: landfallv1.LocalObjectReference{Name: f.repo.Name},
			Path:          path, Environments: envs, Prune: true, SelfHeal: true,
		},
	}
	if mutate != nil {
		mutate(&app.Spec)
	}
	must(tb, f.e.k8s.Create(context.Background(), app))
	return app
}

// syncedApplication creates an Application of one environment, env, deploying path to
// target, and waits until it runs Git's head.
func (f *fixture) syncedApplication(tb testing.TB, name, path, env, target string) *landfallv1.Application {
	tb.Helper()
	app := f.application(tb, name, path, []landfallv1.Environment{{Name: env, Namespace: target}}, nil)
	NewWithT(tb).Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), f.srv.Head(tb, "refs/heads/main")) }, timeout, poll).
		Should(Succeed())
	return app
}

// push commits change on main, pushes it and sends the signed webhook, as a Git host would.
func (f *fixture) push(tb testing.TB, change func(dir string)) string {
	tb.Helper()
	commit := f.srv.CommitChange(tb, "main", change)
	f.webhook(tb)
	return commit
}

// webhook posts a GitHub push event signed with the Repository's webhook secret.
func (f *fixture) webhook(tb testing.TB) {
	tb.Helper()
	f.webhookTo(tb, f.e.ctrl.webhookAddr)
}

// webhookTo posts the signed push event to the webhook receiver at addr.
func (f *fixture) webhookTo(tb testing.TB, addr string) {
	tb.Helper()
	body := []byte(pushEvent)
	mac := hmac.New(sha256.New, []byte(hookToken))
	mac.Write(body)
	url := "http://" + addr + "/hooks/" + f.ns + "/" + f.repo.Name
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	must(tb, err)
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	must(tb, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("webhook answered %s", resp.Status)
	}
}

// get reads an Application afresh.
func (f *fixture) get(g Gomega, app *landfallv1.Application) *landfallv1.Application {
	got := &landfallv1.Application{}
	g.Expect(f.e.k8s.Get(context.Background(), client.ObjectKeyFromObject(app), got)).To(Succeed())
	return got
}

func envStatus(g Gomega, app *landfallv1.Application, name string) landfallv1.EnvironmentStatus {
	for _, e := range app.Status.Environments {
		if e.Name == name {
			return e
		}
	}
	g.Expect(app.Status.Environments).To(ContainElement(HaveField("Name", name)), "status of environment %s", name)
	return landfallv1.EnvironmentStatus{}
}

func ready(app *landfallv1.Application) *metav1.Condition {
	return apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
}

// expectSynced checks that every environment of app is Synced at commit and Ready is True.
func expectSynced(g Gomega, app *landfallv1.Application, commit string) {
	g.Expect(ready(app)).NotTo(BeNil())
	g.Expect(ready(app).Status).To(Equal(metav1.ConditionTrue), "Ready: %s", ready(app).Message)
	g.Expect(app.Status.Revision).To(HaveSuffix(commit))
	for _, e := range app.Spec.Environments {
		st := envStatus(g, app, e.Name)
		g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced), "environment %s: %s", e.Name, st.Message)
		g.Expect(st.Revision).To(HaveSuffix(commit), "environment %s", e.Name)
	}
}

// testdata returns the files below testdata/src, keyed by their path under dst.
func testdata(tb testing.TB, src, dst string) map[string]string {
	tb.Helper()
	return filesUnder(tb, filepath.Join("testdata", src), dst)
}

// filesUnder returns the files below root, keyed by their path under dst.
func filesUnder(tb testing.TB, root, dst string) map[string]string {
	tb.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		files[path.Join(dst, filepath.ToSlash(rel))] = string(b)
		return err
	})
	must(tb, err)
	return files
}

// write returns a change that writes files (path → content) into the work tree.
func write(tb testing.TB, files map[string]string) func(dir string) {
	return func(dir string) {
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			must(tb, os.MkdirAll(filepath.Dir(p), 0o755))
			must(tb, os.WriteFile(p, []byte(content), 0o644))
		}
	}
}

// remove returns a change that deletes files from the work tree.
func remove(tb testing.TB, names ...string) func(dir string) {
	return func(dir string) {
		for _, name := range names {
			must(tb, os.Remove(filepath.Join(dir, filepath.FromSlash(name))))
		}
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// key names a namespaced object.
func key(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

// updateSpec changes an Application's spec with a merge patch, which cannot conflict with
// the controller's own writes, and returns the new generation.
func (f *fixture) updateSpec(g *WithT, app *landfallv1.Application, mutate func(*landfallv1.ApplicationSpec)) int64 {
	current := f.get(g, app)
	patch := client.MergeFrom(current.DeepCopy())
	mutate(&current.Spec)
	g.Expect(f.e.k8s.Patch(context.Background(), current, patch)).To(Succeed())
	return current.Generation
}

// waitObserved waits until the controller has handled generation of app successfully.
func (f *fixture) waitObserved(g *WithT, app *landfallv1.Application, generation int64) {
	g.Eventually(func(g Gomega) int64 { return f.get(g, app).Status.ObservedGeneration }, timeout, poll).
		Should(BeNumerically(">=", generation))
}
