package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// hpaReplicas is the autoscaled web's size: its autoscaler's minimum, which it keeps while
// its pods use the CPU it targets (see metricsapi.Utilization).
const hpaReplicas = 4

// autoscaledWebApp is webApp with its count left to a HorizontalPodAutoscaler of 4 to 8
// replicas, as the examples' payments chart renders production: no spec.replicas.
func autoscaledWebApp(dir, image string) map[string]string {
	files := webApp(dir, image, 1)
	d := strings.Replace(files[dir+"/deployment.yaml"], "  replicas: 1\n", "", 1)
	files[dir+"/deployment.yaml"] = d + "        resources: {requests: {cpu: 100m}}\n"
	files[dir+"/hpa.yaml"] = fmt.Sprintf(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: %d
  maxReplicas: 8
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
`, hpaReplicas)
	return files
}

// TestCanaryWithAutoscaler: a canary of a Deployment whose HorizontalPodAutoscaler holds
// it at 4 replicas splits those 4, counted from the Service's EndpointSlices: 1 canary and
// 3 stable pods at 25%, 2 and 2 at 50%. The autoscaler is held at the stable's share, so
// it never scales the stable back up during a step, although it measures every pod (the
// cluster serves pod metrics); promotion leaves 4 pods of the new template and the
// autoscaler's own range. Each step requires approval, so the
// split holds still until counted; `landfall promote` approves it, and status says who
// approved which step.
func TestCanaryWithAutoscaler(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := withMetrics(t)
	f := newFixture(t, e, autoscaledWebApp("apps/web", image("v1")))
	ns := f.ns + "-prod"
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "production", Namespace: ns}},
		func(s *landfallv1.ApplicationSpec) {
			s.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutCanary,
				Steps:         []landfallv1.CanaryStep{{Weight: 25, RequireApproval: true}, {Weight: 50, RequireApproval: true}},
				HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
		})
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", first) }, rolloutTimeout, poll).Should(Succeed())
	waitRolledOut(g, e.k8s, ns, "web", hpaReplicas)

	stableLog := watchObject[*appsv1.Deployment](t, e, &appsv1.DeploymentList{}, ns, "web")
	revision := revisionOf(f.push(t, write(t, autoscaledWebApp("apps/web", image("v2")))))
	for _, step := range []struct{ step, weight, canary int32 }{{0, 25, 1}, {1, 50, 2}} {
		g.Eventually(func(g Gomega) {
			st := envStatus(g, f.get(g, app), "production")
			g.Expect([]any{st.Rollout.Revision, st.Rollout.Step, st.Rollout.Weight}).To(Equal([]any{revision, step.step, step.weight}), "%s", st.Message)
			g.Expect(st.AwaitingApproval).To(Equal(revision), "%s", st.Message)
			g.Expect(st.AwaitingApprovalStep).To(HaveValue(Equal(step.step)))
			g.Expect(servedPods(g, e.k8s, ns, "web")).To(Equal(map[bool]int{true: int(step.canary), false: hpaReplicas - int(step.canary)}),
				"ready endpoints of Service web, by canary label")
			g.Expect(replicasOf(deployment(g, e.k8s, ns, "web-canary"))).To(Equal(step.canary))
			g.Expect(replicasOf(deployment(g, e.k8s, ns, "web"))).To(Equal(hpaReplicas - step.canary))
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			g.Expect(e.k8s.Get(t.Context(), key(ns, "web"), h)).To(Succeed())
			g.Expect([]int32{*h.Spec.MinReplicas, h.Spec.MaxReplicas}).To(Equal([]int32{hpaReplicas - step.canary, hpaReplicas - step.canary}),
				"the autoscaler is held at the stable's share")
		}, rolloutTimeout, poll).Should(Succeed(), "step %d (%d%%)", step.step, step.weight)
		out, err := f.cli(t, "promote", "web", "--env", "production")
		g.Expect(err).NotTo(HaveOccurred(), out)
		g.Expect(out).To(ContainSubstring(fmt.Sprintf("step %d of %s approved", step.step, revision)))
		g.Eventually(func(g Gomega) {
			st := envStatus(g, f.get(g, app), "production")
			g.Expect(st.Approval).NotTo(BeNil())
			g.Expect([]any{st.Approval.Revision, st.Approval.Step}).To(Equal([]any{revision, &step.step}))
			g.Expect(st.Approval.ApprovedBy).NotTo(BeEmpty(), "who approved")
			g.Expect(st.Approval.ApprovedAt).NotTo(BeNil(), "when")
		}, timeout, poll).Should(Succeed())
	}
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", revision) }, rolloutTimeout, poll).Should(Succeed())
	g.Expect(imageOf(waitRolledOut(g, e.k8s, ns, "web", hpaReplicas))).To(Equal(image("v2")))
	expectDeleted(g, e.k8s, ns, "web-canary", "promotion removes the canary")
	h := &autoscalingv2.HorizontalPodAutoscaler{}
	g.Expect(e.k8s.Get(t.Context(), key(ns, "web"), h)).To(Succeed())
	g.Expect([]int32{*h.Spec.MinReplicas, h.Spec.MaxReplicas}).To(Equal([]int32{hpaReplicas, 8}), "promotion restores the range")

	// The stable went 4 → 3 → 2 → 4 and nowhere else: neither the autoscaler nor an apply
	// without the count (which would reset it to 1) moved it.
	for _, s := range stableLog.since(0) {
		if !s.deleted {
			g.Expect(replicasOf(s.obj)).To(BeElementOf(int32(4), int32(3), int32(2)), "stable at %s", s.at.Format(time.RFC3339Nano))
		}
	}
}
