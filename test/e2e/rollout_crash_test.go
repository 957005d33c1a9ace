package e2e

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestCrashLoopRollsBackFast: pods of the new ReplicaSet in CrashLoopBackOff make the
// Deployment Degraded at once, so the revision is rolled back long before the Deployment's
// progress deadline (ten minutes here) or the health timeout.
func TestCrashLoopRollsBackFast(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	// A progress deadline of ten minutes: only the pods can tell the revision failed.
	slow := func(tag string) map[string]string {
		files := webApp("apps/web", image(tag), 2)
		d := "apps/web/deployment.yaml"
		files[d] = strings.Replace(files[d], "progressDeadlineSeconds: 10", "progressDeadlineSeconds: 600", 1)
		return files
	}
	f := newFixture(t, e, slow("v1"))
	ns := f.ns + "-prod"
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "production", Namespace: ns}},
		func(s *landfallv1.ApplicationSpec) {
			s.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
		})
	good := revisionOf(f.srv.Head(t, "refs/heads/main"))
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", good) }, rolloutTimeout, poll).Should(Succeed())

	bad := revisionOf(f.push(t, write(t, slow("crash"))))
	got := expectRolledBack(t, f, app, "production", bad, good, "Degraded", "CrashLoopBackOff")
	_, h := historyIndex(got, "production", bad)
	g.Expect(h.Message).To(ContainSubstring("CrashLoopBackOff"), "the pods' reason is named")
	g.Expect(imageOf(waitRolledOut(g, e.k8s, ns, "web", 2))).To(Equal(image("v1")))
}
