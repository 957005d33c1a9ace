package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// Without a controller-manager in envtest a Deployment never turns healthy, which is what
// these tests use as a bad revision; ConfigMaps and Services are healthy at once.

func completed(g Gomega, app *landfallv1.Application, env, revision string) {
	st := envStatus(g, app, env)
	g.Expect(st.Rollout).NotTo(BeNil())
	g.Expect(st.Rollout.Revision).To(Equal(revision))
	g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutCompleted))
	g.Expect(st.Revision).To(Equal(revision))
	g.Expect(st.LastHealthyRevision).To(Equal(revision))
}

func TestRollbackToLastHealthyRevisionWithGitDown(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, func(a *landfallv1.Application) {
		a.Spec.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutRolling,
			HealthTimeout: &metav1.Duration{Duration: 3 * time.Second}}
	})
	target := f.ns + "-staging"
	good := "main@sha1:" + f.srv.Head(t, "refs/heads/main")
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "staging", good) }, timeout, poll).Should(Succeed())

	// A bad revision: a Deployment that never becomes available. Once it is applied, Git
	// goes down; the rollback must not need it.
	bad := "main@sha1:" + f.push(t, func(dir string) {
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/deployment.yaml"), []byte(deploymentYAML), 0o644)).To(Succeed())
	})
	g.Eventually(exists(target, "web", &appsv1.Deployment{}), timeout, poll).Should(Succeed())
	f.srv.SetDown(true)

	g.Eventually(func(g Gomega) {
		app := f.get(g)
		st := envStatus(g, app, "staging")
		g.Expect(st.Revision).To(Equal(good), "back on the last healthy revision")
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutRolledBack))
		g.Expect(st.FailedRevisions).To(ContainElement(bad))
		ready := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonRolledBack))
		g.Expect(ready.Message).To(ContainSubstring("HealthTimeout"))
		g.Expect(app.Status.History).To(ContainElement(And(
			HaveField("Revision", bad), HaveField("Result", landfallv1.ResultRolledBack))))
	}, 30*time.Second, poll).Should(Succeed())
	g.Eventually(func() bool { return apierrors.IsNotFound(exists(target, "web", &appsv1.Deployment{})()) }, timeout, poll).
		Should(BeTrue(), "the bad revision's Deployment is gone")
	g.Expect(exists(target, "web-config", &corev1.ConfigMap{})()).To(Succeed())
	g.Expect(rollbackCount(g, f.ns, "HealthTimeout")).To(BeNumerically(">=", 1))
	g.Expect(hasEvent(g, f.ns, landfallv1.ReasonRolledBack)).To(BeTrue())

	// The failed revision is not retried; the next good commit deploys normally.
	f.srv.SetDown(false)
	next := "main@sha1:" + f.push(t, func(dir string) {
		g.Expect(os.Remove(filepath.Join(dir, "apps/web/deployment.yaml"))).To(Succeed())
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/service.yaml"), []byte(serviceYAML), 0o644)).To(Succeed())
	})
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "staging", next) }, timeout, poll).Should(Succeed())
	g.Expect(exists(target, "web", &corev1.Service{})()).To(Succeed())
}

func TestPromotionWaitsForHealthyBakedEnvironment(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, func(a *landfallv1.Application) {
		a.Spec.Environments[0].BakeTime = &metav1.Duration{Duration: 2 * time.Second}
		a.Spec.Environments = append(a.Spec.Environments, landfallv1.Environment{Name: "production", Namespace: a.Namespace + "-prod"})
		a.Spec.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: 3 * time.Second}}
	})
	first := "main@sha1:" + f.srv.Head(t, "refs/heads/main")
	var app *landfallv1.Application
	g.Eventually(func(g Gomega) {
		app = f.get(g)
		completed(g, app, "staging", first)
		completed(g, app, "production", first)
	}, timeout, poll).Should(Succeed())
	staging, production := historyOf(app, "staging", first), historyOf(app, "production", first)
	g.Expect(staging.FinishedAt).NotTo(BeNil())
	g.Expect(production.StartedAt.Time).To(BeTemporally(">=", staging.FinishedAt.Add(2*time.Second-100*time.Millisecond)),
		"production starts after staging baked")

	// A bad revision stops in staging; production keeps the good one and is never touched.
	bad := "main@sha1:" + f.push(t, func(dir string) {
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/deployment.yaml"), []byte(deploymentYAML), 0o644)).To(Succeed())
	})
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(envStatus(g, app, "staging").FailedRevisions).To(ContainElement(bad))
		prod := envStatus(g, app, "production")
		g.Expect(prod.Revision).To(Equal(first))
		g.Expect(prod.DesiredRevision).To(Equal(first))
	}, 30*time.Second, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(exists(f.ns+"-prod", "web", &appsv1.Deployment{})())).To(BeTrue())
}

func historyOf(app *landfallv1.Application, env, revision string) landfallv1.HistoryEntry {
	for _, h := range app.Status.History {
		if h.Environment == env && h.Revision == revision {
			return h
		}
	}
	return landfallv1.HistoryEntry{}
}

func rollbackCount(g Gomega, ns, reason string) float64 {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, mf := range families {
		if mf.GetName() != "landfall_rollbacks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labels := labelsOf(m.GetLabel()); labels["namespace"] == ns && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func hasEvent(g Gomega, ns, reason string) bool {
	events := &corev1.EventList{}
	g.Expect(k8s.List(context.Background(), events, client.InNamespace(ns))).To(Succeed())
	for _, e := range events.Items {
		if e.Reason == reason && strings.Contains(e.Message, "rolled back") {
			return true
		}
	}
	return false
}
