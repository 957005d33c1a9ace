package controllers_test

import (
	"context"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// TestRepositoryRewindPolicy: with AllowTags, a moved tag is taken (with a Warning) while a
// force-pushed branch is held with RevisionRegressed; a push on top of the held branch
// that descends from the current revision is an ordinary update again.
func TestRepositoryRewindPolicy(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{Anonymous: true})
	a := srv.Commit(t, "main", map[string]string{"app.yaml": "a"})
	b := srv.Commit(t, "main", map[string]string{"app.yaml": "b"})
	srv.Tag(t, "release", b, true)
	ns := newNamespace(t)
	createSecret(t, ns, "hook", map[string]string{"token": hookToken})
	branch := refRepository(t, srv, ns, "branch", landfallv1.GitRef{Branch: "main"})
	tag := refRepository(t, srv, ns, "tag", landfallv1.GitRef{Tag: "release"})
	for _, repo := range []*landfallv1.Repository{branch, tag} {
		g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).Should(HaveSuffix(b))
		setRewindPolicy(g, repo, landfallv1.RewindAllowTags)
	}

	srv.PushRef(t, "refs/heads/main", a) // main rewound
	srv.Tag(t, "release", a, true)       // the tag moved back
	for _, repo := range []*landfallv1.Repository{branch, tag} {
		g.Expect(postWebhook(repo, githubPush(hookToken, []byte(githubPushBody)), []byte(githubPushBody))).To(Equal(http.StatusOK))
	}
	expectRefused(g, branch, landfallv1.ReasonRevisionRegressed, "main@sha1:"+b, a, b) // a branch rewind is held under AllowTags
	g.Eventually(func(g Gomega) {
		st := repositoryStatus(g, tag)
		g.Expect(st.Revision).To(Equal("release@sha1:" + a))
		g.Expect(st.RewoundFrom).To(Equal("release@sha1:" + b))
		g.Expect(apimeta.IsStatusConditionTrue(st.Conditions, landfallv1.ConditionReady)).To(BeTrue())
	}, timeout, poll).Should(Succeed(), "a moved tag is taken under AllowTags")
	g.Eventually(func(g Gomega) []string { return warningEvents(g, tag, landfallv1.ReasonRevisionRegressed) }, timeout, poll).
		ShouldNot(BeEmpty(), "a rewind that is taken is reported too")
	g.Expect(warningEvents(g, branch, landfallv1.ReasonRevisionRegressed)).NotTo(BeEmpty())

	// The branch's owner puts b back and pushes on top: a descendant of b, an update.
	srv.PushRef(t, "refs/heads/main", b)
	c := srv.Commit(t, "main", map[string]string{"app.yaml": "c"})
	g.Expect(postWebhook(branch, githubPush(hookToken, []byte(githubPushBody)), []byte(githubPushBody))).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) {
		st := repositoryStatus(g, branch)
		g.Expect(st.Revision).To(Equal("main@sha1:" + c))
		g.Expect(st.RewoundFrom).To(BeEmpty())
		g.Expect(apimeta.IsStatusConditionTrue(st.Conditions, landfallv1.ConditionReady)).To(BeTrue())
	}, timeout, poll).Should(Succeed())
}

func setRewindPolicy(g Gomega, repo *landfallv1.Repository, p landfallv1.RewindPolicy) {
	g.Eventually(func() error {
		got := &landfallv1.Repository{}
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), got); err != nil {
			return err
		}
		got.Spec.RewindPolicy = p
		return k8s.Update(context.Background(), got)
	}, timeout, poll).Should(Succeed())
}

// TestMovedTagIsARewind: a tag is held to the same rule as a branch. Under the default
// policy a tag moved back to an older commit is held with RevisionRegressed naming both
// commits (Stalled, a Warning Event) and the Repository keeps the tagged commit; the tag
// moved on to a descendant is an ordinary update.
func TestMovedTagIsARewind(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{Anonymous: true})
	a := srv.Commit(t, "main", map[string]string{"app.yaml": "a"})
	b := srv.Commit(t, "main", map[string]string{"app.yaml": "b"})
	srv.Tag(t, "release", b, true)
	ns := newNamespace(t)
	createSecret(t, ns, "hook", map[string]string{"token": hookToken})
	repo := refRepository(t, srv, ns, "tag", landfallv1.GitRef{Tag: "release"})
	g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).Should(Equal("release@sha1:" + b))

	srv.Tag(t, "release", a, true)
	pokeRepository(g, repo)
	expectRefused(g, repo, landfallv1.ReasonRevisionRegressed, "release@sha1:"+b, a, b) // held under the default policy

	c := srv.Commit(t, "main", map[string]string{"app.yaml": "c"}) // a descendant of b
	srv.Tag(t, "release", c, true)
	pokeRepository(g, repo)
	g.Eventually(func(g Gomega) {
		st := repositoryStatus(g, repo)
		g.Expect(st.Revision).To(Equal("release@sha1:" + c))
		g.Expect(st.RewoundFrom).To(BeEmpty())
		g.Expect(apimeta.IsStatusConditionTrue(st.Conditions, landfallv1.ConditionReady)).To(BeTrue())
	}, timeout, poll).Should(Succeed(), "a tag moved on to a descendant is an update")
}

// pokeRepository sends the Repository a push webhook, so it fetches now.
func pokeRepository(g *WithT, repo *landfallv1.Repository) {
	g.Expect(postWebhook(repo, githubPush(hookToken, []byte(githubPushBody)), []byte(githubPushBody))).To(Equal(http.StatusOK))
}

// expectRefused waits until the Repository is Ready=False and Stalled for reason, with a
// message holding each of says, and a Warning Event for it, while it keeps the revision kept.
func expectRefused(g *WithT, repo *landfallv1.Repository, reason, kept string, says ...string) {
	g.Eventually(func(g Gomega) {
		st := repositoryStatus(g, repo)
		c := apimeta.FindStatusCondition(st.Conditions, landfallv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(reason))
		for _, s := range says {
			g.Expect(c.Message).To(ContainSubstring(s))
		}
		g.Expect(apimeta.IsStatusConditionTrue(st.Conditions, landfallv1.ConditionStalled)).To(BeTrue(), "the user must decide")
		g.Expect(st.Revision).To(Equal(kept))
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return warningEvents(g, repo, reason) }, timeout, poll).
		Should(ContainElement(ContainSubstring(says[0])))
}
