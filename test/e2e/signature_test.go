package e2e

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// TestSignedCommitsOnly: a Repository that requires signatures deploys a commit signed
// with an SSH key and one signed with an OpenPGP key; an unsigned commit pushed on top is
// refused naming the commit, and the last verified revision keeps running; after the SSH
// key is rotated in the Secret, a commit signed with the new key deploys and one signed
// with the old key is refused.
func TestSignedCommitsOnly(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	sshKey, sshPub := gitserver.NewSSHSigningKey(t)
	newSSHKey, newSSHPub := gitserver.NewSSHSigningKey(t)
	pgpKey, pgpPub := gitserver.NewPGPSigningKey(t)

	f := &fixture{e: e, srv: gitserver.New(t, gitserver.Options{})}
	first := f.srv.CommitSSHSigned(t, "main", settings("ssh"), sshKey)
	f.ns = createNamespace(t, e)
	must(t, e.k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "signers", Namespace: f.ns},
		Data: map[string][]byte{"ssh": sshPub, "release.asc": pgpPub}}))
	f.createRepository(t, func(s *landfallv1.RepositorySpec) {
		s.Verify = &landfallv1.CommitVerification{SecretRef: landfallv1.LocalObjectReference{Name: "signers"}}
	})
	f.waitRevision(t, first)
	ns := f.ns + "-one"
	app := f.application(t, "settings", "apps/settings", []landfallv1.Environment{{Name: "one", Namespace: ns}}, nil)
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), first) }, timeout, poll).Should(Succeed())

	pgp := f.srv.CommitPGPSigned(t, "main", settings("pgp"), pgpKey)
	f.webhook(t)
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), pgp) }, timeout, poll).Should(Succeed())
	expectSource(g, e, ns, "pgp")

	unsigned := f.push(t, write(t, settings("unsigned")))
	expectRefusedCommit(g, f, unsigned, "not signed", pgp)
	expectSynced(g, f.get(g, app), pgp)
	expectSource(g, e, ns, "pgp")

	// Rotation: the new SSH key replaces the old one.
	sec := &corev1.Secret{}
	must(t, e.k8s.Get(ctx, key(f.ns, "signers"), sec))
	sec.Data["ssh"] = newSSHPub
	must(t, e.k8s.Update(ctx, sec))
	rotated := f.srv.CommitSSHSigned(t, "main", settings("rotated"), newSSHKey)
	f.webhook(t)
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), rotated) }, timeout, poll).Should(Succeed())
	expectSource(g, e, ns, "rotated")
	retired := f.srv.CommitSSHSigned(t, "main", settings("retired"), sshKey)
	f.webhook(t)
	expectRefusedCommit(g, f, retired, "not trusted", rotated)
	expectSource(g, e, ns, "rotated")
}

// expectRefusedCommit waits until the Repository refuses commit for reason and keeps kept.
func expectRefusedCommit(g *WithT, f *fixture, commit, reason, kept string) {
	g.Eventually(func(g Gomega) {
		repo := &landfallv1.Repository{}
		g.Expect(f.e.k8s.Get(context.Background(), client.ObjectKeyFromObject(f.repo), repo)).To(Succeed())
		c := apimeta.FindStatusCondition(repo.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonSignatureVerificationFailed))
		g.Expect(c.Message).To(And(ContainSubstring(commit), ContainSubstring(reason)))
		g.Expect(repo.Status.Revision).To(HaveSuffix(kept))
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) []string {
		return repositoryWarnings(g, f, landfallv1.ReasonSignatureVerificationFailed)
	}, timeout, poll).Should(ContainElement(ContainSubstring(commit)))
}

func expectSource(g *WithT, e *env, ns, want string) {
	cm := &corev1.ConfigMap{}
	g.Expect(e.k8s.Get(context.Background(), key(ns, "settings"), cm)).To(Succeed())
	g.Expect(cm.Data["source"]).To(Equal(want))
}
