package e2e

import (
	"testing"

	. "github.com/onsi/gomega"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestApprovalGate: production requires approval. A revision that completed in staging
// waits there until `landfall promote`, which records who approved it.
func TestApprovalGate(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, webApp("apps/web", image("v1"), 1))
	production := f.ns + "-prod"
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{
		{Name: "staging", Namespace: f.ns + "-staging"},
		{Name: "production", Namespace: production, RequireApproval: true},
	}, nil)
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		expectCompleted(g, got, "staging", first)
		g.Expect(envStatus(g, got, "production").AwaitingApproval).To(Equal(first))
		reason, msg := readyReason(got)
		g.Expect(reason).To(Equal(landfallv1.ReasonAwaitingApproval), msg)
	}, rolloutTimeout, poll).Should(Succeed())
	g.Expect(envStatus(g, f.get(g, app), "production").Revision).To(BeEmpty(), "production holds until approved")

	out, err := f.cli(t, "promote", "web", "--env", "staging")
	g.Expect(err).To(HaveOccurred(), "staging needs no approval: %s", out)
	out, err = f.cli(t, "promote", "web", "--env", "production")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		expectCompleted(g, got, "production", first)
		st := envStatus(g, got, "production")
		g.Expect(st.Approval).NotTo(BeNil())
		g.Expect(st.Approval.Revision).To(Equal(first))
		g.Expect(st.Approval.ApprovedBy).NotTo(BeEmpty(), "who approved")
		g.Expect(st.Approval.ApprovedAt).NotTo(BeNil(), "when")
	}, rolloutTimeout, poll).Should(Succeed())
	g.Expect(imageOf(waitRolledOut(g, e.k8s, production, "web", 1))).To(Equal(image("v1")))
}
