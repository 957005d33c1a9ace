package controllers_test

import (
	"testing"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// TestRepositoryVerifiesTagSignatures: a Repository that follows tags (semver) and requires
// signatures takes a signed tag on a signed commit; a newer tag that is not signed itself,
// although its commit is, is refused naming the tag and why (SignatureVerificationFailed,
// a Warning Event), the verified revision stays; once the tag is signed it is taken.
func TestRepositoryVerifiesTagSignatures(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{Anonymous: true})
	sshKey, sshPub := gitserver.NewSSHSigningKey(t)
	one := srv.CommitSSHSigned(t, "main", map[string]string{"app.yaml": "one"}, sshKey)
	srv.TagSSHSigned(t, "v1.0.0", one, sshKey)
	ns := newNamespace(t)
	createSecret(t, ns, "hook", map[string]string{"token": hookToken})
	createSecret(t, ns, "signers", map[string]string{"ssh": string(sshPub)})
	repo := createRepository(t, ns, "tags", landfallv1.RepositorySpec{
		URL: srv.URL, Ref: landfallv1.GitRef{SemVer: ">=1.0.0"}, Insecure: true, Interval: hourly,
		WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"},
		Verify:           &landfallv1.CommitVerification{SecretRef: landfallv1.LocalObjectReference{Name: "signers"}},
	})
	g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).Should(Equal("v1.0.0@sha1:" + one))

	two := srv.CommitSSHSigned(t, "main", map[string]string{"app.yaml": "two"}, sshKey)
	srv.Tag(t, "v1.1.0", two, true) // annotated, unsigned
	pokeRepository(g, repo)
	expectRefused(g, repo, landfallv1.ReasonSignatureVerificationFailed, "v1.0.0@sha1:"+one, `tag "v1.1.0"`, "not signed")

	srv.TagSSHSigned(t, "v1.1.0", two, sshKey)
	pokeRepository(g, repo)
	g.Eventually(func(g Gomega) {
		st := repositoryStatus(g, repo)
		g.Expect(st.Revision).To(Equal("v1.1.0@sha1:" + two))
		g.Expect(apimeta.IsStatusConditionTrue(st.Conditions, landfallv1.ConditionReady)).To(BeTrue())
	}, timeout, poll).Should(Succeed())
}
