package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestRollbackPinsAndResume drives `landfall rollback` and `landfall resume` on the full
// cluster, with no `landfall sync`: the rollback puts production back on the previous
// revision by itself; a hand edit of the pinned production is healed; a new commit goes
// through staging but not production while the pin holds; resume brings production to
// Git's head. Bad input (an unknown environment, a revision not in the history) is refused
// with a message and changes nothing.
func TestRollbackPinsAndResume(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, webApp("apps/web", image("v1"), 1))
	app, _, production := healthGatedApp(t, f)
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))
	second := f.pushImage(t, "apps/web", "v2", 1)
	expectPromotedAfterBake(t, f, app, second)

	before := f.get(g, app)
	for _, bad := range [][]string{
		{"rollback", "web", "--env", "nope"},
		{"rollback", "web", "--env", "production", "--to", revisionOf("0123456789abcdef0123456789abcdef01234567")},
	} {
		out, err := f.cli(t, bad...)
		g.Expect(err).To(HaveOccurred(), "landfall %v must be refused; it said: %s", bad, out)
		g.Expect(out).To(Or(ContainSubstring("nope"), ContainSubstring("not in the history")), "landfall %v", bad)
	}
	g.Expect(f.get(g, app).Annotations).To(Equal(before.Annotations), "a refused rollback changes nothing")

	out, err := f.cli(t, "rollback", "web", "--env", "production")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("pinned to " + first))
	g.Eventually(func(g Gomega) string { return imageOf(deployment(g, e.k8s, production, "web")) }, timeout, poll).
		Should(Equal(image("v1")), "the rollback takes effect without a sync request")
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		expectCompleted(g, got, "production", first)
		g.Expect(envStatus(g, got, "production").PinnedRevision).To(Equal(first))
		g.Expect(got.Annotations).NotTo(HaveKey(landfallv1.AnnotationSyncRequestedAt), "no sync was asked for")
	}, timeout, poll).Should(Succeed())

	// A hand edit of the pinned environment is healed like any other.
	d := deployment(g, e.k8s, production, "web")
	d.Spec.Template.Spec.Containers[0].Image = image("by-hand")
	g.Expect(e.k8s.Update(context.Background(), d)).To(Succeed())
	g.Eventually(func(g Gomega) string { return imageOf(deployment(g, e.k8s, production, "web")) }, timeout, poll).
		Should(Equal(image("v1")), "the pinned production is healed")

	// A new commit completes in staging; production stays pinned and says why.
	third := f.pushImage(t, "apps/web", "v3", 1)
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		expectCompleted(g, got, "staging", third)
		reason, msg := readyReason(got)
		g.Expect(reason).To(Equal(landfallv1.ReasonPinned))
		g.Expect(msg).To(And(ContainSubstring("production"), ContainSubstring(third)))
	}, rolloutTimeout, poll).Should(Succeed())
	got := f.get(g, app)
	expectCompleted(g, got, "production", first)
	i, _ := historyIndex(got, "production", third)
	g.Expect(i).To(Equal(-1), "production never started the new revision while pinned")
	g.Expect(imageOf(deployment(g, e.k8s, production, "web"))).To(Equal(image("v1")))

	out, err = f.cli(t, "resume", "web")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		expectCompleted(g, got, "production", third)
		g.Expect(envStatus(g, got, "production").PinnedRevision).To(BeEmpty())
	}, rolloutTimeout, poll).Should(Succeed())
	g.Expect(imageOf(deployment(g, e.k8s, production, "web"))).To(Equal(image("v3")))
}

// cli runs the landfall binary as the cluster admin against the fixture's namespace and
// returns what it printed.
func (f *fixture) cli(tb testing.TB, args ...string) (string, error) {
	tb.Helper()
	bin, err := landfallBinary()
	must(tb, err)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(args, "--kubeconfig", f.e.cluster.Kubeconfig, "-n", f.ns)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// TestRollbackToPastRevisionAfterRestart: `landfall rollback --to` a revision three
// commits back works after the controller restarted with an empty checkout cache: the
// commit is fetched from Git by itself. With Git down, a revision that is neither stored
// nor cached is refused with a condition saying it is not available offline, and what
// runs keeps running. It has a cluster of its own: it kills the controller.
func TestRollbackToPastRevisionAfterRestart(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := newEnv(t, "rollback-past")
	f := newFixture(t, e, webApp("apps/web", image("v1"), 1))
	ns := f.ns + "-prod"
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "production", Namespace: ns}},
		func(s *landfallv1.ApplicationSpec) {
			s.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
		})
	revs := []string{revisionOf(f.srv.Head(t, "refs/heads/main"))}
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", revs[0]) }, rolloutTimeout, poll).Should(Succeed())
	for _, tag := range []string{"v2", "v3", "v4"} {
		revs = append(revs, f.pushImage(t, "apps/web", tag, 1))
		g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", revs[len(revs)-1]) },
			rolloutTimeout, poll).Should(Succeed())
	}

	e.killController(t)
	e.restartController(t, "controller-restarted")
	out, err := f.cli(t, "rollback", "web", "--env", "production", "--to", revs[0])
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", revs[0]) }, rolloutTimeout, poll).Should(Succeed())
	g.Expect(imageOf(waitRolledOut(g, e.k8s, ns, "web", 1))).To(Equal(image("v1")))

	out, err = f.cli(t, "resume", "web")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", revs[3]) }, rolloutTimeout, poll).Should(Succeed())

	// The restarted controller fetched only the head and the first commit: the second is
	// neither stored nor cached, and Git is down.
	f.srv.SetDown(true)
	out, err = f.cli(t, "rollback", "web", "--env", "production", "--to", revs[1])
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(func(g Gomega) string {
		_, msg := readyReason(f.get(g, app))
		return msg
	}, timeout, poll).Should(And(ContainSubstring(revs[1]), ContainSubstring("not available offline")))
	g.Expect(imageOf(deployment(g, e.k8s, ns, "web"))).To(Equal(image("v4")), "what runs keeps running")
	g.Expect(envStatus(g, f.get(g, app), "production").Revision).To(Equal(revs[3]))
}
