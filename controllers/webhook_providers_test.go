package controllers_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// hookedRepository makes a Repository on main for srv (basic auth), whose webhooks verify
// with hookToken unless withHookSecret is false, and waits for its first revision.
func hookedRepository(t testing.TB, srv *gitserver.Server, withHookSecret bool) *landfallv1.Repository {
	t.Helper()
	ns := newNamespace(t)
	createSecret(t, ns, "git", map[string]string{"username": srv.Username, "password": srv.Password})
	spec := landfallv1.RepositorySpec{
		URL: srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true, Interval: hourly,
		SecretRef: &landfallv1.LocalObjectReference{Name: "git"},
	}
	if withHookSecret {
		createSecret(t, ns, "hook", map[string]string{"token": hookToken})
		spec.WebhookSecretRef = &landfallv1.LocalObjectReference{Name: "hook"}
	}
	repo := createRepository(t, ns, "config", spec)
	NewWithT(t).Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).
		ShouldNot(BeEmpty())
	return repo
}

func TestWebhookWithoutSecretRefIsRefused(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{})
	first := srv.Commit(t, "main", map[string]string{"README": "one"})
	repo := hookedRepository(t, srv, false)
	srv.Commit(t, "main", map[string]string{"README": "two"})
	checks, packs := srv.Advertisements(), srv.UploadPacks()

	// Whatever key the sender signs with, and whichever provider it claims to be: without
	// a webhook Secret there is nothing to verify against.
	body := []byte(githubPushBody)
	for name, h := range map[string]http.Header{
		"github":       githubPush(hookToken, body),
		"github empty": githubPush("", body),
		"gitlab":       gitlabPush(hookToken),
		"gitea":        giteaPush(hookToken, body),
	} {
		g.Expect(postWebhook(repo, h, body)).To(Equal(http.StatusUnauthorized), name)
	}
	g.Consistently(func() int64 { return srv.Advertisements() - checks + srv.UploadPacks() - packs }, time.Second, poll).
		Should(BeZero(), "refused webhooks cause no Git traffic")
	g.Expect(repositoryStatus(g, repo).Revision).To(Equal("main@sha1:" + first))
}

func TestWebhookGitLabTokenAndGiteaSignature(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"README": "one"})
	repo := hookedRepository(t, srv, true)

	second := srv.Commit(t, "main", map[string]string{"README": "two"})
	g.Expect(postWebhook(repo, gitlabPush("not-the-token"), []byte(gitlabPushBody))).To(Equal(http.StatusUnauthorized))
	g.Expect(postWebhook(repo, gitlabPush(hookToken), []byte(gitlabPushBody))).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).
		Should(Equal("main@sha1:" + second))

	third := srv.Commit(t, "main", map[string]string{"README": "three"})
	body := []byte(giteaPushBody)
	g.Expect(postWebhook(repo, giteaPush("not-the-key", body), body)).To(Equal(http.StatusUnauthorized))
	g.Expect(postWebhook(repo, giteaPush(hookToken, body), body)).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).
		Should(Equal("main@sha1:" + third))
}

func TestWebhookToUnknownRepositoryIsNotFound(t *testing.T) {
	g := NewWithT(t)
	missing := &landfallv1.Repository{}
	missing.Namespace, missing.Name = newNamespace(t), "nothing-here"
	body := []byte(githubPushBody)
	g.Expect(postWebhook(missing, githubPush(hookToken, body), body)).To(Equal(http.StatusNotFound))
}

// A push often produces a burst of webhooks (several hooks, retries, one per ref). The
// workqueue keeps at most one fetch running and one waiting per Repository, and the waiting
// one finds the commit in the cache.
func TestWebhookBurstCoalesces(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"README": "one"})
	repo := hookedRepository(t, srv, true)
	packs := srv.UploadPacks()

	next := srv.Commit(t, "main", map[string]string{"README": "two"})
	body := []byte(githubPushBody)
	codes := make([]int, 20)
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i], errs[i] = postWebhook(repo, githubPush(hookToken, body), body) })
	}
	wg.Wait()
	for i := range codes {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		g.Expect(codes[i]).To(Equal(http.StatusOK))
	}

	g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).
		Should(Equal("main@sha1:" + next))
	g.Consistently(func() int64 { return srv.UploadPacks() - packs }, 2*time.Second, poll).
		Should(BeNumerically("<=", 2), "20 webhooks cost at most two fetches")
}
