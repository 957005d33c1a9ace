package controllers_test

import (
	"context"
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestApprovalGateHoldsProduction: production requires approval. Each revision waits there
// (staging goes on) until the approval annotation names it; status says who approved and
// when.
func TestApprovalGateHoldsProduction(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, func(a *landfallv1.Application) {
		a.Spec.Environments = append(a.Spec.Environments,
			landfallv1.Environment{Name: "production", Namespace: a.Namespace + "-prod", RequireApproval: true})
	})
	first := "main@sha1:" + f.srv.Head(t, "refs/heads/main")
	expectAwaiting(g, f, first)
	g.Expect(greeting(f.ns+"-prod")()).Error().To(HaveOccurred(), "nothing deployed before the approval")

	approve(g, f, `{"revision":"`+first+`","by":"alice","at":"2026-12-01T10:00:00Z"}`)
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		completed(g, app, "production", first)
		st := envStatus(g, app, "production")
		g.Expect(st.AwaitingApproval).To(BeEmpty())
		g.Expect(st.Approval).NotTo(BeNil())
		g.Expect(st.Approval.Revision).To(Equal(first))
		g.Expect(st.Approval.ApprovedBy).To(Equal("alice"))
		g.Expect(st.Approval.ApprovedAt.UTC().Format("15:04")).To(Equal("10:00"))
	}, timeout, poll).Should(Succeed())

	second := "main@sha1:" + f.push(t, writeFile(g, "apps/web/configmap.yaml", configMapGreeting("bonjour")))
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "staging", second) }, timeout, poll).Should(Succeed())
	expectAwaiting(g, f, second)
	g.Expect(greeting(f.ns+"-prod")()).To(Equal("hello"), "production keeps the approved revision")

	approve(g, f, second) // a plain revision, as kubectl annotate would set it
	g.Eventually(greeting(f.ns+"-prod"), timeout, poll).Should(Equal("bonjour"))
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "production", second) }, timeout, poll).Should(Succeed())
}

func expectAwaiting(g Gomega, f *fixture, revision string) {
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(envStatus(g, app, "production").AwaitingApproval).To(Equal(revision))
		ready := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonAwaitingApproval), ready.Message)
		g.Expect(ready.Message).To(And(ContainSubstring(revision), ContainSubstring("landfall promote")))
	}, timeout, poll).Should(Succeed())
}

func approve(g Gomega, f *fixture, value string) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		landfallv1.AnnotationApprovePrefix + "production": value}}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(k8s.Patch(context.Background(), f.get(g), client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}
