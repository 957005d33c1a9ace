package controllers_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestPinActsAtOnce: a pin annotation alone (no sync request, no spec change) moves the
// environment to the pinned revision, a hand edit of the pinned environment is healed,
// and lifting the pin returns it to Git's head.
func TestPinActsAtOnce(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, func(a *landfallv1.Application) {
		a.Spec.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: 10 * time.Second}}
	})
	target := f.ns + "-staging"
	first := "main@sha1:" + f.srv.Head(t, "refs/heads/main")
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "staging", first) }, timeout, poll).Should(Succeed())
	second := "main@sha1:" + f.push(t, writeFile(g, "apps/web/configmap.yaml", configMapGreeting("bonjour")))
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "staging", second) }, timeout, poll).Should(Succeed())

	setPin(g, f, "staging", first)
	g.Eventually(greeting(target), timeout, poll).Should(Equal("hello"), "the pin alone rolls staging back")
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		completed(g, app, "staging", first)
		g.Expect(envStatus(g, app, "staging").PinnedRevision).To(Equal(first))
		ready := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonPinned), ready.Message)
		g.Expect(ready.Message).To(ContainSubstring(second), "it says what waits")
	}, timeout, poll).Should(Succeed())

	cm := &corev1.ConfigMap{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: target, Name: "web-config"}, cm)).To(Succeed())
	cm.Data["greeting"] = "by hand"
	g.Expect(k8s.Update(context.Background(), cm)).To(Succeed())
	g.Eventually(greeting(target), timeout, poll).Should(Equal("hello"), "the pinned environment is healed")

	setPin(g, f, "staging", "")
	g.Eventually(greeting(target), timeout, poll).Should(Equal("bonjour"), "lifting the pin returns to Git's head")
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "staging", second) }, timeout, poll).Should(Succeed())
}

// TestPinOnUnknownEnvironment: a pin naming an environment the spec lacks is refused with
// a condition naming it; nothing is applied.
func TestPinOnUnknownEnvironment(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, nil)
	first := "main@sha1:" + f.srv.Head(t, "refs/heads/main")
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "staging", first) }, timeout, poll).Should(Succeed())
	setPin(g, f, "prod", first)
	g.Eventually(func(g Gomega) {
		ready := apimeta.FindStatusCondition(f.get(g).Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonInvalidSpec))
		g.Expect(ready.Message).To(ContainSubstring(`"prod"`))
	}, timeout, poll).Should(Succeed())
	g.Expect(greeting(f.ns+"-staging")()).To(Equal("hello"), "what runs keeps running")
}

// setPin sets (or, with "", removes) the pin of env with a merge patch of the annotation
// alone, as `kubectl annotate` does.
func setPin(g Gomega, f *fixture, env, revision string) {
	var value any = revision
	if revision == "" {
		value = nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		landfallv1.AnnotationPinPrefix + env: value}}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(k8s.Patch(context.Background(), f.get(g), client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

func greeting(ns string) func() (string, error) {
	return func() (string, error) {
		cm := &corev1.ConfigMap{}
		err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web-config"}, cm)
		return cm.Data["greeting"], err
	}
}

func configMapGreeting(greeting string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {greeting: " + greeting + "}\n"
}

// writeFile returns a change that writes content to name in the work tree.
func writeFile(g Gomega, name, content string) func(dir string) {
	return func(dir string) {
		g.Expect(os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)).To(Succeed())
	}
}
