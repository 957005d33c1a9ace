package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// gadgetGroup is the group of the custom resource the health rule tests define.
const gadgetGroup = "health.e2e.landfall.dev"

// globalHealthRules is the shared controller's --health-rules: a Gadget is Healthy once
// its phase is Ready, and Progressing before (kstatus would call it Current at once).
const globalHealthRules = `- group: ` + gadgetGroup + `
  kind: Gadget
  current: "has(status.phase) && status.phase == 'Ready'"
`

// gadgetRule is an Application's own rule for a Gadget: it must also have observed the
// version of its spec, and a Failed phase is Degraded.
var gadgetRule = landfallv1.HealthCheckExpr{Group: gadgetGroup, Kind: "Gadget",
	InProgress: "!has(status.observedVersion) || status.observedVersion != spec.version",
	Failed:     "has(status.phase) && status.phase == 'Failed'",
	Current:    "status.phase == 'Ready'",
}

func gadgetFiles(dir, version string) map[string]string {
	return map[string]string{dir + "/gadget.yaml": fmt.Sprintf(`apiVersion: %s/v1
kind: Gadget
metadata: {name: gadget}
spec: {version: %s}
`, gadgetGroup, version)}
}

// createGadgetCRD defines the Gadget kind, with a status subresource the test writes as
// its operator would, and waits until it is served.
func createGadgetCRD(t *testing.T, e *env) {
	t.Helper()
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gadgets." + gadgetGroup},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: gadgetGroup, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Singular: "gadget", Kind: "Gadget", ListKind: "GadgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &preserve,
				}},
			}},
		},
	}
	if err := e.k8s.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func(g Gomega) {
		got := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(e.k8s.Get(context.Background(), client.ObjectKey{Name: crd.Name}, got)).To(Succeed())
		established := false
		for _, c := range got.Status.Conditions {
			established = established || (c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue)
		}
		g.Expect(established).To(BeTrue())
	}, timeout, poll).Should(Succeed())
}

// gadget reads the Gadget in ns.
func gadget(g Gomega, e *env, ns string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: gadgetGroup, Version: "v1", Kind: "Gadget"})
	g.Expect(e.k8s.Get(context.Background(), key(ns, "gadget"), u)).To(Succeed())
	return u
}

// setGadgetStatus writes the Gadget's status as its operator would.
func setGadgetStatus(t *testing.T, e *env, ns string, status map[string]any) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		u := gadget(g, e, ns)
		u.Object["status"] = status
		g.Expect(e.k8s.Status().Update(context.Background(), u)).To(Succeed())
	}, timeout, poll).Should(Succeed())
}

func expectHealth(t *testing.T, f *fixture, app *landfallv1.Application, revision string, want landfallv1.Health) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g, app), "staging")
		g.Expect(st.Revision).To(Equal(revision))
		g.Expect(st.Health).To(Equal(want), "%s", st.Message)
		g.Expect(st.Rollout).NotTo(BeNil())
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutProgressing), "not promoted: %s", st.Rollout.Message)
	}, rolloutTimeout, poll).Should(Succeed())
}

// TestHealthRules, on the full cluster, with a custom resource the test defines (Gadget)
// whose health only CEL rules give: the Application's own rule wins over the controller's
// global one (--health-rules). Its Gadget is Progressing until the test, as its operator,
// reports the spec's version observed and Ready, then Healthy and promoted; a new version
// is Progressing while the status still names the old one (the global rule would call it
// Healthy), and Degraded once the operator reports Failed, so the environment rolls back
// by itself. An Application without rules of its own gets the global rule; one whose
// rule does not compile is Stalled (InvalidSpec, naming the expression) with nothing
// applied.
func TestHealthRules(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	createGadgetCRD(t, e)
	files := gadgetFiles("apps/gadget", "v1")
	for k, v := range gadgetFiles("apps/plain", "v1") {
		files[k] = v
	}
	f := newFixture(t, e, files)
	ns, plainNS, brokenNS := f.ns+"-gadget", f.ns+"-plain", f.ns+"-broken"
	staging := func(ns string) []landfallv1.Environment {
		return []landfallv1.Environment{{Name: "staging", Namespace: ns}}
	}
	app := f.application(t, "gadget", "apps/gadget", staging(ns), func(s *landfallv1.ApplicationSpec) {
		s.HealthCheckExprs = []landfallv1.HealthCheckExpr{gadgetRule}
		s.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: 10 * time.Minute}}
	})
	plain := f.application(t, "plain", "apps/plain", staging(plainNS), nil)
	broken := f.application(t, "broken", "apps/plain", staging(brokenNS), func(s *landfallv1.ApplicationSpec) {
		s.HealthCheckExprs = []landfallv1.HealthCheckExpr{{Group: gadgetGroup, Kind: "Gadget", Current: "status.phase =="}}
	})
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))

	expectHealth(t, f, app, first, landfallv1.HealthProgressing)
	expectHealth(t, f, plain, first, landfallv1.HealthProgressing)
	setGadgetStatus(t, e, plainNS, map[string]any{"phase": "Ready"})
	waitCompleted(t, f, plain, first, rolloutTimeout, "staging")
	setGadgetStatus(t, e, ns, map[string]any{"phase": "Ready", "observedVersion": "v1"})
	waitCompleted(t, f, app, first, rolloutTimeout, "staging")

	second := revisionOf(f.push(t, write(t, gadgetFiles("apps/gadget", "v2"))))
	expectHealth(t, f, app, second, landfallv1.HealthProgressing)
	g.Expect(gadget(g, e, ns).Object["spec"]).To(HaveKeyWithValue("version", "v2"))
	setGadgetStatus(t, e, ns, map[string]any{"phase": "Failed", "observedVersion": "v2"})
	expectRolledBack(t, f, app, "staging", second, first, "Degraded", "health rule: failed is true")
	g.Eventually(func(g Gomega) any { return gadget(g, e, ns).Object["spec"] }, timeout, poll).
		Should(HaveKeyWithValue("version", "v1"), "the Gadget is back at the last healthy version")

	g.Eventually(func(g Gomega) {
		got := f.get(g, broken)
		stalled := apimeta.FindStatusCondition(got.Status.Conditions, landfallv1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason).To(Equal(landfallv1.ReasonInvalidSpec))
		g.Expect(stalled.Message).To(ContainSubstring("spec.healthCheckExprs: health rule 0 (Gadget." + gadgetGroup + "): current: ERROR"))
		g.Expect(eventMessages(g, e.k8s, got, landfallv1.ReasonInvalidSpec)).To(ContainElement(ContainSubstring("spec.healthCheckExprs")))
		g.Expect(got.Status.Environments).To(BeEmpty(), "nothing applied")
	}, timeout, poll).Should(Succeed())
}
