package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/forge"
)

// forgeFixture is a repository on a real Gitea, and a Landfall Repository reading it over
// HTTP with the admin's token, a webhook Secret, and a Gitea webhook to Landfall's receiver
// signed with it; plus a Notification with one target, the forge itself.
type forgeFixture struct {
	*fixture
	gitea *forge.Gitea
	forge *forge.Repo
}

func newForgeFixture(t *testing.T, e *env, files map[string]string) *forgeFixture {
	t.Helper()
	g := forge.Start(t)
	repo := g.CreateRepo(t, "web")
	main := repo.Commit(t, "main", "", files)
	f := &fixture{e: e, ns: createNamespace(t, e)}
	ctx := context.Background()
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "git", Namespace: f.ns},
			StringData: map[string]string{"username": forge.Admin, "password": g.Token}},
		{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: f.ns}, StringData: map[string]string{"token": hookToken}},
		{ObjectMeta: metav1.ObjectMeta{Name: "gitea-token", Namespace: f.ns}, StringData: map[string]string{"token": g.Token}},
	} {
		must(t, e.k8s.Create(ctx, s))
	}
	f.repo = &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: "config", Namespace: f.ns},
		Spec: landfallv1.RepositorySpec{
			URL: repo.CloneURL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true,
			Interval:         &metav1.Duration{Duration: time.Hour}, // only Gitea's webhooks bring pushes in
			SecretRef:        &landfallv1.LocalObjectReference{Name: "git"},
			WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"},
		},
	}
	must(t, e.k8s.Create(ctx, f.repo))
	f.waitRevision(t, main)
	repo.AddWebhook(t, "http://"+e.ctrl.webhookAddr+"/hooks/"+f.ns+"/"+f.repo.Name, hookToken)
	must(t, e.k8s.Create(ctx, &landfallv1.Notification{
		ObjectMeta: metav1.ObjectMeta{Name: "forge", Namespace: f.ns},
		Spec: landfallv1.NotificationSpec{Targets: []landfallv1.NotificationTarget{{
			Name: "gitea", Type: landfallv1.TargetGitea, SecretRef: landfallv1.LocalObjectReference{Name: "gitea-token"}}}},
	}))
	return &forgeFixture{fixture: f, gitea: g, forge: repo}
}

// previewComments returns the comments on pull request n that carry the marker of the
// Preview "previews".
func (f *forgeFixture) previewComments(t *testing.T, n int64) []forge.Comment {
	marker := "<!-- landfall-preview " + f.ns + "/previews -->"
	var out []forge.Comment
	for _, c := range f.forge.Comments(t, n) {
		if strings.Contains(c.Body, marker) {
			out = append(out, c)
		}
	}
	return out
}

// TestForgePullRequestPreview drives a preview from Gitea alone: a branch pushed and a pull
// request opened through Gitea's API make Gitea send its own signed webhook; Landfall
// deploys the preview and comments on the pull request with the namespace, revision and
// health; a push to the branch updates that same comment; closing the pull request in Gitea
// removes the namespace and the comment says so. The Repository polls once an hour.
func TestForgePullRequestPreview(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newForgeFixture(t, e, testdata(t, "web-seed", "apps/web"))
	p := createPreview(t, f.fixture, nil)

	head := f.forge.Commit(t, "feature", "main", previewFiles(t, 1, "v1"))
	n := f.forge.OpenPullRequest(t, "feature", "main", "a feature")
	ns := fmt.Sprintf("%s-pr-%d", f.ns, n)
	entry := waitPreviewHealthy(g, f.fixture, p, int(n), head)
	g.Expect(entry.Namespace).To(Equal(ns))
	var first forge.Comment
	g.Eventually(func(g Gomega) {
		cs := f.previewComments(t, n)
		g.Expect(cs).To(HaveLen(1))
		first = cs[0]
		g.Expect(first.Body).To(And(ContainSubstring("`"+ns+"`"), ContainSubstring(head), ContainSubstring("Healthy")))
	}, timeout, poll).Should(Succeed(), "Landfall's comment on pull request %d", n)

	next := f.forge.Commit(t, "feature", "", previewFiles(t, 1, "v2"))
	waitPreviewHealthy(g, f.fixture, p, int(n), next)
	g.Eventually(func(g Gomega) {
		cs := f.previewComments(t, n)
		g.Expect(cs).To(HaveLen(1), "one comment per pull request, never one per push")
		g.Expect(cs[0].ID).To(Equal(first.ID))
		g.Expect(cs[0].Body).To(And(ContainSubstring(next), ContainSubstring("Healthy")))
	}, timeout, poll).Should(Succeed())

	f.forge.ClosePullRequest(t, n)
	waitPreviewGone(g, f.fixture, fmt.Sprintf("previews-pr-%d", n), ns)
	g.Eventually(func(g Gomega) {
		cs := f.previewComments(t, n)
		g.Expect(cs).To(HaveLen(1))
		g.Expect(cs[0].ID).To(Equal(first.ID))
		g.Expect(cs[0].Body).To(And(ContainSubstring("removed"), ContainSubstring("`"+ns+"`")))
	}, timeout, poll).Should(Succeed())
}

// TestForgeCommitStatuses: staging and production report on the commit they deploy, read
// back through Gitea's API: success for a healthy commit in both; for a bad image, staging
// rolls back by itself and the bad commit's staging status is failure, saying why, while
// production never reports on it.
func TestForgeCommitStatuses(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newForgeFixture(t, e, webApp("apps/web", image("v1"), 2))
	first := f.forge.Commit(t, "main", "", webApp("apps/web", image("v1"), 2)) // unchanged tree, a new commit
	f.waitRevision(t, first)
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{
		{Name: "staging", Namespace: f.ns + "-staging", BakeTime: &metav1.Duration{Duration: stagingBake}},
		{Name: "production", Namespace: f.ns + "-prod"},
	}, func(s *landfallv1.ApplicationSpec) {
		s.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutRolling,
			HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
	})
	waitStatus := func(commit, env, state string, desc ...string) {
		t.Helper()
		name := "landfall/" + app.Name + "/" + env
		g.Eventually(func(g Gomega) {
			var latest *forge.Status
			for _, s := range f.forge.Statuses(t, commit) {
				if s.Context == name {
					latest = &s
					break // newest first
				}
			}
			g.Expect(latest).NotTo(BeNil(), "no %s status on %s", name, commit)
			g.Expect(latest.State).To(Equal(state), latest.Description)
			for _, d := range desc {
				g.Expect(latest.Description).To(ContainSubstring(d))
			}
		}, rolloutTimeout, poll).Should(Succeed(), "%s status of %s", env, commit)
	}
	waitStatus(first, "staging", "success", "Promoted")
	waitStatus(first, "production", "success", "Promoted")

	bad := f.forge.Commit(t, "main", "", webApp("apps/web", image("bad"), 2))
	expectRolledBack(t, f.fixture, app, "staging", revisionOf(bad), revisionOf(first), "Degraded", "progress deadline exceeded")
	waitStatus(bad, "staging", "failure", "RolledBack")
	for _, s := range f.forge.Statuses(t, bad) {
		g.Expect(s.Context).NotTo(Equal("landfall/web/production"), "production never took the bad commit")
	}
	pending := false
	for _, s := range f.forge.Statuses(t, bad) {
		pending = pending || (s.Context == "landfall/web/staging" && s.State == "pending")
	}
	g.Expect(pending).To(BeTrue(), "staging said pending while it rolled the bad commit out")
}
