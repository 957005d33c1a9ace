package controllers_test

import (
	"testing"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// sshRepository makes a Repository for the server's ssh:// URL with an identity and the
// given known_hosts in its credentials Secret.
func sshRepository(t *testing.T, srv *gitserver.Server, knownHosts []byte) *landfallv1.Repository {
	t.Helper()
	ns := newNamespace(t)
	createSecret(t, ns, "ssh", map[string]string{"identity": string(srv.ClientKey), "known_hosts": string(knownHosts)})
	return createRepository(t, ns, "config", landfallv1.RepositorySpec{
		URL: srv.SSHURL, Ref: landfallv1.GitRef{Branch: "main"}, Interval: hourly,
		SecretRef: &landfallv1.LocalObjectReference{Name: "ssh"},
	})
}

func TestRepositoryOverSSH(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{SSH: true})
	head := srv.Commit(t, "main", map[string]string{"README": "over ssh"})
	repo := sshRepository(t, srv, srv.KnownHosts)

	g.Eventually(func(g Gomega) {
		st := repositoryStatus(g, repo)
		g.Expect(st.Revision).To(Equal("main@sha1:" + head))
		g.Expect(apimeta.IsStatusConditionTrue(st.Conditions, landfallv1.ConditionReady)).To(BeTrue())
		g.Expect(st.LastFetchedAt).NotTo(BeNil())
	}, timeout, poll).Should(Succeed())
}

func TestRepositoryOverSSHRefusesUnknownHostKey(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{SSH: true})
	srv.Commit(t, "main", map[string]string{"README": "over ssh"})
	// A well-formed known_hosts line for the right address with another key: what a
	// man in the middle, or a rebuilt server, looks like.
	repo := sshRepository(t, srv, srv.NewKnownHostsLine(t))

	g.Eventually(func(g Gomega) {
		st := repositoryStatus(g, repo)
		stalled := apimeta.FindStatusCondition(st.Conditions, landfallv1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason).To(Equal(landfallv1.ReasonAuthenticationFailed))
		g.Expect(stalled.Message).To(ContainSubstring("host key verification failed"))
		g.Expect(apimeta.IsStatusConditionFalse(st.Conditions, landfallv1.ConditionReady)).To(BeTrue())
		g.Expect(st.Revision).To(BeEmpty(), "nothing was fetched from an unverified host")
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) []string {
		return warningEvents(g, repo, landfallv1.ReasonAuthenticationFailed)
	}, timeout, poll).Should(ContainElement(ContainSubstring("host key verification failed")))
	g.Expect(warningEvents(g, repo, landfallv1.ReasonAuthenticationFailed)).
		NotTo(ContainElement(ContainSubstring("PRIVATE KEY")), "the identity never reaches an Event")
}
