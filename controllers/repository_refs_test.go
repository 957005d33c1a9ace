package controllers_test

import (
	"net/http"
	"testing"

	. "github.com/onsi/gomega"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// refRepository makes a Repository for an anonymous HTTP server with the given ref and a
// webhook Secret.
func refRepository(t *testing.T, srv *gitserver.Server, ns, name string, ref landfallv1.GitRef) *landfallv1.Repository {
	t.Helper()
	return createRepository(t, ns, name, landfallv1.RepositorySpec{
		URL: srv.URL, Ref: ref, Insecure: true, Interval: hourly,
		WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"},
	})
}

func TestRepositoryResolvesSemverTagAndCommit(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{Anonymous: true, AllowSHA1InWant: true})
	one := srv.Commit(t, "main", map[string]string{"VERSION": "1.0.0"})
	srv.Tag(t, "v1.0.0", one, false)
	two := srv.Commit(t, "main", map[string]string{"VERSION": "1.2.0"})
	srv.Tag(t, "v1.2.0", two, true)
	three := srv.Commit(t, "main", map[string]string{"VERSION": "2.0.0"})
	srv.Tag(t, "v2.0.0", three, false)
	srv.Tag(t, "not-a-version", three, false)

	ns := newNamespace(t)
	createSecret(t, ns, "hook", map[string]string{"token": hookToken})
	semver := refRepository(t, srv, ns, "semver", landfallv1.GitRef{SemVer: ">=1.0.0 <2.0.0"})
	tag := refRepository(t, srv, ns, "tag", landfallv1.GitRef{Tag: "v1.2.0"})
	commit := refRepository(t, srv, ns, "commit", landfallv1.GitRef{Commit: one})

	// The highest tag in range, the commit an annotated tag points to (not the tag object),
	// and a pinned commit that is no branch's tip.
	for repo, want := range map[*landfallv1.Repository]string{
		semver: "v1.2.0@sha1:" + two,
		tag:    "v1.2.0@sha1:" + two,
		commit: "sha1:" + one,
	} {
		g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).
			Should(Equal(want), repo.Name)
	}

	// A new tag in range is picked up at the next fetch, here asked for by a webhook.
	four := srv.Commit(t, "main", map[string]string{"VERSION": "1.3.0"})
	srv.Tag(t, "v1.3.0", four, true)
	body := []byte(`{"ref":"refs/tags/v1.3.0","repository":{"clone_url":"https://git.example.invalid/x.git"}}`)
	g.Expect(postWebhook(semver, githubPush(hookToken, body), body)).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) string { return repositoryStatus(g, semver).Revision }, timeout, poll).
		Should(Equal("v1.3.0@sha1:" + four))
}
