package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestMassPruneHeldUntilAllowed: a commit that would prune two of three objects is held
// (PruneHeld, Stalled, an Event, the metric), nothing is deleted; allowMassPrune lets it.
func TestMassPruneHeldUntilAllowed(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/service.yaml": serviceYAML, "apps/web/configmap.yaml": configMapYAML,
		"apps/web/other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {a: b}\n"}, nil)
	target := f.ns + "-staging"
	g.Eventually(func(g Gomega) { g.Expect(conditionReason(f.get(g))).To(Equal(landfallv1.ReasonSucceeded)) }, timeout, poll).Should(Succeed())

	f.push(t, func(dir string) {
		for _, name := range []string{"configmap.yaml", "other.yaml"} {
			g.Expect(os.Remove(filepath.Join(dir, "apps/web", name))).To(Succeed())
		}
	})
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonPruneHeld))
		g.Expect(apimeta.IsStatusConditionTrue(app.Status.Conditions, landfallv1.ConditionStalled)).To(BeTrue())
		g.Expect(envStatus(g, app, "staging").Sync).To(Equal(landfallv1.SyncOutOfSync))
		g.Expect(eventReasons(g, f.ns)).To(ContainElement(landfallv1.ReasonPruneHeld))
		g.Expect(counter(g, "landfall_prune_holds_total", f.ns)).To(BeNumerically(">=", 1))
	}, timeout, poll).Should(Succeed())
	for _, name := range []string{"web-config", "other"} {
		g.Expect(exists(target, name, &corev1.ConfigMap{})()).To(Succeed(), "held: %s is not pruned", name)
	}

	f.update(g, func(a *landfallv1.Application) { a.Spec.AllowMassPrune = true })
	g.Eventually(func(g Gomega) {
		for _, name := range []string{"web-config", "other"} {
			g.Expect(apierrors.IsNotFound(exists(target, name, &corev1.ConfigMap{})())).To(BeTrue(), name)
		}
		g.Expect(conditionReason(f.get(g))).To(Equal(landfallv1.ReasonSucceeded))
	}, timeout, poll).Should(Succeed())
	g.Expect(exists(target, "web", &corev1.Service{})()).To(Succeed())
}

// TestSuspendedApplicationLeftAlone: while suspended, a new commit is fetched but nothing
// is applied; resumed, it is.
func TestSuspendedApplicationLeftAlone(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, nil)
	target := f.ns + "-staging"
	g.Eventually(func(g Gomega) { g.Expect(conditionReason(f.get(g))).To(Equal(landfallv1.ReasonSucceeded)) }, timeout, poll).Should(Succeed())
	applied := envStatus(g, f.get(g), "staging").Revision

	f.update(g, func(a *landfallv1.Application) { a.Spec.Suspend = true })
	commit := f.push(t, func(dir string) {
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/configmap.yaml"),
			[]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {greeting: changed}\n"), 0o644)).To(Succeed())
	})
	g.Eventually(func(g Gomega) string {
		repo := &landfallv1.Repository{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(f.repo), repo)).To(Succeed())
		return repo.Status.Revision
	}, timeout, poll).Should(Equal("main@sha1:" + commit))
	cm := &corev1.ConfigMap{}
	g.Consistently(func(g Gomega) {
		g.Expect(exists(target, "web-config", cm)()).To(Succeed())
		g.Expect(cm.Data["greeting"]).To(Equal("hello"))
		g.Expect(envStatus(g, f.get(g), "staging").Revision).To(Equal(applied))
	}, 2*time.Second, poll).Should(Succeed())

	f.update(g, func(a *landfallv1.Application) { a.Spec.Suspend = false })
	g.Eventually(func(g Gomega) string {
		g.Expect(exists(target, "web-config", cm)()).To(Succeed())
		return cm.Data["greeting"]
	}, timeout, poll).Should(Equal("changed"))
}

// TestManualSyncOverridesDenyWindow: a deny window with manualSync holds the sync until
// the sync-requested-at annotation asks for it.
func TestManualSyncOverridesDenyWindow(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, func(a *landfallv1.Application) {
		a.Spec.SyncWindows = []landfallv1.SyncWindow{{Kind: landfallv1.SyncWindowDeny, Schedule: "* * * * *",
			Duration: metav1.Duration{Duration: time.Hour}, ManualSync: true}}
	})
	target := f.ns + "-staging"
	g.Eventually(func(g Gomega) { g.Expect(conditionReason(f.get(g))).To(Equal(landfallv1.ReasonOutsideSyncWindow)) }, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(exists(target, "web-config", &corev1.ConfigMap{})())).To(BeTrue())

	requested := time.Now().UTC().Format(time.RFC3339Nano)
	f.update(g, func(a *landfallv1.Application) {
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		a.Annotations[landfallv1.AnnotationSyncRequestedAt] = requested
	})
	g.Eventually(exists(target, "web-config", &corev1.ConfigMap{}), timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(f.get(g).Status.LastHandledSyncAt).To(Equal(requested)) }, timeout, poll).Should(Succeed())
}

// TestUnreachableClusterSaysSo: a destination whose kubeconfig points at nothing reads
// ClusterUnreachable, naming the Secret.
func TestUnreachableClusterSaysSo(t *testing.T) {
	g := NewWithT(t)
	addr, err := freeAddr()
	g.Expect(err).NotTo(HaveOccurred())
	ns := newNamespace(t)
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters: [{name: far, cluster: {server: \"https://" + addr + "\"}}]\n" +
		"users: [{name: u, user: {token: not-a-secret}}]\ncontexts: [{name: far, context: {cluster: far, user: u}}]\ncurrent-context: far\n"
	g.Expect(k8s.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "far-cluster", Namespace: ns},
		StringData: map[string]string{"kubeconfig": kubeconfig}})).To(Succeed())
	srv := newFixtureIn(t, ns, map[string]string{"apps/web/configmap.yaml": configMapYAML}, func(a *landfallv1.Application) {
		a.Spec.Environments[0].Cluster = &landfallv1.ClusterRef{SecretRef: landfallv1.LocalObjectReference{Name: "far-cluster"}}
	})
	g.Eventually(func(g Gomega) {
		ready := apimeta.FindStatusCondition(srv.get(g).Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonClusterUnreachable))
		g.Expect(ready.Message).To(ContainSubstring("far-cluster"))
		g.Expect(ready.Message).NotTo(ContainSubstring("not-a-secret"))
	}, timeout, poll).Should(Succeed())
}

const hookChart = `apiVersion: v2
name: web
version: 0.1.0
`

const hookJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {"helm.sh/hook": pre-install}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "registry.example/migrate:v1"}]
`

// TestChartHookReportedAsSkipped: a Helm hook is not applied, and an Event says so.
func TestChartHookReportedAsSkipped(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/Chart.yaml": hookChart, "apps/web/templates/configmap.yaml": configMapYAML,
		"apps/web/templates/hook.yaml": hookJob}, nil)
	target := f.ns + "-staging"
	g.Eventually(exists(target, "web-config", &corev1.ConfigMap{}), timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return eventReasons(g, f.ns) }, timeout, poll).Should(ContainElement("HooksSkipped"))
	g.Expect(apierrors.IsNotFound(exists(target, "migrate", &batchv1.Job{})())).To(BeTrue(), "the hook is not applied")
}

// eventReasons lists the reasons of the Events in ns.
func eventReasons(g Gomega, ns string) []string {
	events := &corev1.EventList{}
	g.Expect(k8s.List(context.Background(), events, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range events.Items {
		out = append(out, e.Reason)
	}
	return out
}

// counter sums a counter's series of one namespace.
func counter(g Gomega, name, ns string) float64 {
	total := 0.0
	for _, s := range series(g, name) {
		if s.labels["namespace"] == ns {
			total += s.value
		}
	}
	return total
}
