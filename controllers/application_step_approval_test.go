package controllers_test

import (
	"testing"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestCanaryStepWaitsForApproval: a canary step that requires approval holds the rollout
// once it is healthy (status names the revision and the step, Ready says how to approve)
// until the annotation approves that step; an approval of another step moves nothing;
// status records who approved which step, and when. The Application's Rolling rollout is
// overridden by the environment's own Canary.
func TestCanaryStepWaitsForApproval(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, func(a *landfallv1.Application) {
		a.Spec.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutRolling}
		a.Spec.Environments = append(a.Spec.Environments, landfallv1.Environment{Name: "production", Namespace: a.Namespace + "-prod",
			Rollout: &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutCanary,
				Steps: []landfallv1.CanaryStep{{Weight: 25, RequireApproval: true}}}})
	})
	first := "main@sha1:" + f.srv.Head(t, "refs/heads/main")
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "production", first) }, timeout, poll).Should(Succeed())

	second := "main@sha1:" + f.push(t, writeFile(g, "apps/web/configmap.yaml", configMapGreeting("bonjour")))
	expectStepAwaiting(g, f, second)
	approve(g, f, `{"revision":"`+second+`","step":1,"by":"mallory"}`)
	g.Consistently(func(g Gomega) { expectStepAwaiting(g, f, second) }, "2s", poll).Should(Succeed(), "step 1 is not the one waiting")

	approve(g, f, `{"revision":"`+second+`","step":0,"by":"bob","at":"2026-12-01T10:00:00Z"}`)
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		completed(g, app, "production", second)
		st := envStatus(g, app, "production")
		g.Expect(st.AwaitingApproval).To(BeEmpty())
		g.Expect(st.AwaitingApprovalStep).To(BeNil())
		g.Expect(st.Approval).NotTo(BeNil())
		g.Expect([]any{st.Approval.Revision, *st.Approval.Step, st.Approval.ApprovedBy}).To(Equal([]any{second, int32(0), "bob"}))
		g.Expect(st.Approval.ApprovedAt.UTC().Format("15:04")).To(Equal("10:00"))
	}, timeout, poll).Should(Succeed())
	g.Expect(greeting(f.ns + "-prod")()).To(Equal("bonjour"))
}

func expectStepAwaiting(g Gomega, f *fixture, revision string) {
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		st := envStatus(g, app, "production")
		g.Expect(st.Rollout).NotTo(BeNil())
		g.Expect([]any{st.Rollout.Revision, st.Rollout.Step, st.Rollout.Phase}).To(Equal([]any{revision, int32(0), landfallv1.RolloutPaused}), st.Message)
		g.Expect(st.AwaitingApproval).To(Equal(revision))
		g.Expect(st.AwaitingApprovalStep).To(HaveValue(Equal(int32(0))))
		ready := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonAwaitingApproval), ready.Message)
		g.Expect(ready.Message).To(And(ContainSubstring("step 0"), ContainSubstring("landfall promote web --env production")))
	}, timeout, poll).Should(Succeed())
}
