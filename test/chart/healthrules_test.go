package chart_test

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/health"
)

// TestRenderHealthRules: controller.healthRules becomes a ConfigMap the controller reads with
// --health-rules at start, holding rules that compile as the controller compiles them, and
// a checksum of them on the pod, so a change rolls it. Without rules there is neither.
func TestRenderHealthRules(t *testing.T) {
	g := NewWithT(t)
	rule := map[string]any{"group": "example.com", "kind": "Database",
		"failed": "has(status.phase) && status.phase == 'Failed'", "current": "status.phase == 'Ready'"}
	r, err := renderChart(t, "landfall-system", map[string]any{"controller": map[string]any{"healthRules": []any{rule}}})
	g.Expect(err).NotTo(HaveOccurred())
	cm := as[corev1.ConfigMap](t, r.find("ConfigMap", "landfall-system", "landfall-health-rules"))
	var exprs []landfallv1.HealthCheckExpr
	g.Expect(yaml.UnmarshalStrict([]byte(cm.Data["rules.yaml"]), &exprs)).To(Succeed())
	g.Expect(exprs).To(ConsistOf(landfallv1.HealthCheckExpr{Group: "example.com", Kind: "Database",
		Failed: rule["failed"].(string), Current: rule["current"].(string)}))
	_, err = health.CompileRules(controllers.HealthRulesOf(exprs))
	g.Expect(err).NotTo(HaveOccurred())

	d := as[appsv1.Deployment](t, r.find("Deployment", "landfall-system", "landfall"))
	pod := d.Spec.Template
	g.Expect(pod.Spec.Containers[0].Args).To(ContainElement("--health-rules=/etc/landfall/health-rules/rules.yaml"))
	g.Expect(pod.Spec.Containers[0].VolumeMounts).To(ContainElement(corev1.VolumeMount{
		Name: "health-rules", MountPath: "/etc/landfall/health-rules", ReadOnly: true}))
	g.Expect(pod.Spec.Volumes).To(ContainElement(HaveField("VolumeSource.ConfigMap.Name", "landfall-health-rules")))
	g.Expect(pod.Annotations).To(HaveKey("checksum/health-rules"))

	r, err = renderChart(t, "landfall-system", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.all("ConfigMap")).NotTo(ContainElement("landfall-system/landfall-health-rules"))
	d = as[appsv1.Deployment](t, r.find("Deployment", "landfall-system", "landfall"))
	g.Expect(d.Spec.Template.Spec.Containers[0].Args).NotTo(ContainElement(ContainSubstring("--health-rules")))

	_, err = renderChart(t, "landfall-system", map[string]any{"controller": map[string]any{"healthRules": []any{map[string]any{"kind": "Database"}}}})
	g.Expect(err).To(MatchError(ContainSubstring("current")), "the schema refuses a rule without current")
}
