package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// twoEnvironments is an Application "web" with staging and production in their own
// namespaces; the config starts as a ConfigMap and a Service, healthy at once.
func twoEnvironments(t *testing.T, mutate func(*landfallv1.Application)) *fixture {
	t.Helper()
	files := map[string]string{"apps/web/service.yaml": serviceYAML, "apps/web/configmap.yaml": configMapYAML}
	return newFixture(t, files, func(a *landfallv1.Application) {
		a.Spec.Environments = append(a.Spec.Environments, landfallv1.Environment{Name: "production", Namespace: a.Namespace + "-prod"})
		if mutate != nil {
			mutate(a)
		}
	})
}

// TestLaterEnvironmentKeptWhileEarlierWaitsOrRolledBack: production was applied; staging
// then waits for health (a Deployment that cannot turn healthy without a controller-manager)
// and later is rolled back. Both times production is still maintained: a hand edit is
// healed and production keeps its last promoted revision. kstatus reads every stage.
func TestLaterEnvironmentKeptWhileEarlierWaitsOrRolledBack(t *testing.T) {
	g := NewWithT(t)
	f := twoEnvironments(t, func(a *landfallv1.Application) {
		a.Spec.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutRolling, HealthTimeout: &metav1.Duration{Duration: time.Hour}}
	})
	staging, production := f.ns+"-staging", f.ns+"-prod"
	var first string
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		first = app.Status.Revision
		for _, env := range []string{"staging", "production"} {
			st := envStatus(g, app, env)
			g.Expect(st.Rollout).NotTo(BeNil())
			g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutCompleted), "%s: %s", env, st.Message)
		}
		g.Expect(kstatusOf(g, app)).To(Equal(kstatus.CurrentStatus))
	}, timeout, poll).Should(Succeed())

	// A Deployment that never turns healthy here: staging waits for it.
	second := "main@sha1:" + f.push(t, func(dir string) {
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/deployment.yaml"), []byte(deploymentYAML), 0o644)).To(Succeed())
	})
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		st := envStatus(g, app, "staging")
		g.Expect(st.Rollout.Revision).To(Equal(second))
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutProgressing))
		g.Expect(kstatusOf(g, app)).To(Equal(kstatus.InProgressStatus))
	}, timeout, poll).Should(Succeed())
	editAndExpectHealed(t, production)
	expectKeptAt(g, f, "production", first)

	// A health timeout the Deployment cannot meet: staging rolls back and waits for a new
	// commit, which needs a person (Stalled, kstatus Failed).
	f.update(g, func(a *landfallv1.Application) {
		a.Spec.Rollout.HealthTimeout = &metav1.Duration{Duration: time.Second}
	})
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		st := envStatus(g, app, "staging")
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutRolledBack), st.Message)
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonRolledBack))
		g.Expect(kstatusOf(g, app)).To(Equal(kstatus.FailedStatus))
		g.Expect(conditionSeries(g, app, landfallv1.ConditionStalled, "True")).To(Equal(1.0))
	}, timeout, poll).Should(Succeed())
	editAndExpectHealed(t, production)
	editAndExpectHealed(t, staging) // staging keeps its last healthy revision, not the failed one
	expectKeptAt(g, f, "production", first)

	// A good commit: both environments move on, and the Stalled series is gone.
	f.push(t, func(dir string) { g.Expect(os.Remove(filepath.Join(dir, "apps/web/deployment.yaml"))).To(Succeed()) })
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonSucceeded))
		g.Expect(kstatusOf(g, app)).To(Equal(kstatus.CurrentStatus))
		g.Expect(conditionSeries(g, app, landfallv1.ConditionStalled, "True")).To(Equal(-1.0), "no Stalled series")
	}, timeout, poll).Should(Succeed())
}

// editAndExpectHealed edits the ConfigMap web-config by hand and waits for self-heal.
func editAndExpectHealed(t *testing.T, ns string) {
	t.Helper()
	g := NewWithT(t)
	cm := &corev1.ConfigMap{}
	g.Eventually(func() error {
		if err := exists(ns, "web-config", cm)(); err != nil {
			return err
		}
		cm.Data["greeting"] = "edited by hand"
		return k8s.Update(context.Background(), cm)
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) string {
		g.Expect(exists(ns, "web-config", cm)()).To(Succeed())
		return cm.Data["greeting"]
	}, timeout, poll).Should(Equal("hello"), "the hand edit in %s is healed", ns)
}

// expectKeptAt checks that env still runs revision, synced.
func expectKeptAt(g *WithT, f *fixture, env, revision string) {
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g), env)
		g.Expect(st.Revision).To(Equal(revision))
		g.Expect(st.DesiredRevision).To(Equal(revision))
		g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced))
		g.Expect(st.Health).To(Equal(landfallv1.HealthHealthy))
	}, timeout, poll).Should(Succeed())
}

// kstatusOf reads the Application as kstatus (kubectl wait, Flux, cli-utils appliers) does.
func kstatusOf(g Gomega, app *landfallv1.Application) kstatus.Status {
	return kstatusOfKind(g, app, "Application")
}

func kstatusOfKind(g Gomega, o any, kind string) kstatus.Status {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	g.Expect(err).NotTo(HaveOccurred())
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(landfallv1.GroupVersion.WithKind(kind))
	res, err := kstatus.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	return res.Status
}

// conditionSeries is the value of landfall_condition for one condition of app; -1 when
// there is no such series.
func conditionSeries(g Gomega, app *landfallv1.Application, typ, status string) float64 {
	for _, s := range series(g, "landfall_condition") {
		l := s.labels
		if l["kind"] == "Application" && l["namespace"] == app.Namespace && l["name"] == app.Name && l["type"] == typ && l["status"] == status {
			return s.value
		}
	}
	return -1
}

// TestKstatusOfOutcomes: an invalid spec reads Failed at the current generation; suspend
// leaves Ready as it was.
func TestKstatusOfOutcomes(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, nil)
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonSucceeded))
		g.Expect(kstatusOf(g, app)).To(Equal(kstatus.CurrentStatus))
	}, timeout, poll).Should(Succeed())

	suspended := f.update(g, func(a *landfallv1.Application) { a.Spec.Suspend = true })
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(app.Status.ObservedGeneration).To(Equal(suspended.Generation))
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonSucceeded), "suspend leaves Ready alone")
		g.Expect(kstatusOf(g, app)).To(Equal(kstatus.CurrentStatus))
	}, timeout, poll).Should(Succeed())

	invalid := f.update(g, func(a *landfallv1.Application) {
		a.Spec.Suspend = false
		a.Spec.SyncWindows = []landfallv1.SyncWindow{{Kind: landfallv1.SyncWindowDeny, Schedule: "61 * * * *",
			Duration: metav1.Duration{Duration: time.Hour}}}
	})
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(app.Status.ObservedGeneration).To(Equal(invalid.Generation))
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonInvalidSpec))
		g.Expect(kstatusOf(g, app)).To(Equal(kstatus.FailedStatus))
	}, timeout, poll).Should(Succeed())
}

// TestRemovedAndRenamedEnvironments: a renamed environment carries its objects over; a
// removed one is held by the mass-prune guard, then pruned once allowed; deleting the
// Application deletes the objects of an environment removed but not pruned yet.
func TestRemovedAndRenamedEnvironments(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := twoEnvironments(t, nil)
	staging, production := f.ns+"-staging", f.ns+"-prod"
	before := &corev1.ConfigMap{}
	g.Eventually(exists(production, "web-config", before), timeout, poll).Should(Succeed())

	// Renamed: the same objects, now owned by the new name; no refusal.
	f.update(g, func(a *landfallv1.Application) { a.Spec.Environments[1].Name = "prod" })
	g.Eventually(func(g Gomega) {
		cm := &corev1.ConfigMap{}
		g.Expect(exists(production, "web-config", cm)()).To(Succeed())
		g.Expect(cm.Annotations[landfallv1.AnnotationOwner]).To(Equal(f.ns + "/web/prod"))
		g.Expect(cm.UID).To(Equal(before.UID), "carried over, not made again")
		app := f.get(g)
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonSucceeded), "%v", app.Status.Conditions)
		g.Expect(envStatus(g, app, "prod").Sync).To(Equal(landfallv1.SyncSynced))
		g.Expect(app.Status.RemovedEnvironments).To(BeEmpty())
	}, timeout, poll).Should(Succeed())

	// Removed: every object of it would go, so the guard holds until allowed.
	f.update(g, func(a *landfallv1.Application) { a.Spec.Environments = a.Spec.Environments[:1] })
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonPruneHeld))
		g.Expect(app.Status.RemovedEnvironments).To(ConsistOf(HaveField("Name", "prod")))
		g.Expect(kstatusOf(g, app)).To(Equal(kstatus.FailedStatus))
	}, timeout, poll).Should(Succeed())
	g.Expect(exists(production, "web-config", &corev1.ConfigMap{})()).To(Succeed(), "held: nothing pruned")
	f.update(g, func(a *landfallv1.Application) { a.Spec.AllowMassPrune = true })
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(exists(production, "web-config", &corev1.ConfigMap{})())).To(BeTrue())
		g.Expect(apierrors.IsNotFound(exists(production, "web", &corev1.Service{})())).To(BeTrue())
		app := f.get(g)
		g.Expect(app.Status.RemovedEnvironments).To(BeEmpty())
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonSucceeded))
	}, timeout, poll).Should(Succeed())
	for _, s := range series(g, "landfall_objects_total") {
		g.Expect(s.labels).NotTo(And(HaveKeyWithValue("namespace", f.ns), HaveKeyWithValue("environment", "prod")),
			"the removed environment's series are deleted")
	}

	// Added again, removed again and held: deleting the Application still cleans it.
	f.update(g, func(a *landfallv1.Application) {
		a.Spec.AllowMassPrune = false
		a.Spec.Environments = append(a.Spec.Environments, landfallv1.Environment{Name: "production", Namespace: production})
	})
	g.Eventually(exists(production, "web-config", &corev1.ConfigMap{}), timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(envStatus(g, f.get(g), "production").LastSyncTime).NotTo(BeNil()) }, timeout, poll).Should(Succeed())
	f.update(g, func(a *landfallv1.Application) { a.Spec.Environments = a.Spec.Environments[:1] })
	g.Eventually(func(g Gomega) { g.Expect(conditionReason(f.get(g))).To(Equal(landfallv1.ReasonPruneHeld)) }, timeout, poll).Should(Succeed())
	g.Expect(k8s.Delete(ctx, f.app)).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, ns := range []string{staging, production} {
			g.Expect(apierrors.IsNotFound(exists(ns, "web-config", &corev1.ConfigMap{})())).To(BeTrue(), ns)
			g.Expect(apierrors.IsNotFound(exists(ns, "web", &corev1.Service{})())).To(BeTrue(), ns)
		}
		g.Expect(apierrors.IsNotFound(exists(f.ns, "web", &landfallv1.Application{})())).To(BeTrue())
	}, timeout, poll).Should(Succeed())
}

// TestRepositoryKstatus: a Repository whose new spec cannot be fetched (plain http://
// without insecure) is Stalled at its current generation, which kstatus reads as Failed.
func TestRepositoryKstatus(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"README": "one"})
	repo := newRepository(t, newNamespace(t), srv, time.Hour)
	get := func(g Gomega) *landfallv1.Repository {
		got := &landfallv1.Repository{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(repo), got)).To(Succeed())
		return got
	}
	g.Eventually(func(g Gomega) kstatus.Status { return kstatusOfKind(g, get(g), "Repository") }, timeout, poll).
		Should(Equal(kstatus.CurrentStatus))
	var generation int64
	g.Eventually(func() error {
		got := get(g)
		got.Spec.URL, got.Spec.Insecure = "http://git.example.invalid/shop.git", false
		generation = got.Generation + 1
		return k8s.Update(ctx, got)
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		got := get(g)
		g.Expect(got.Generation).To(Equal(generation))
		g.Expect(got.Status.ObservedGeneration).To(Equal(generation))
		g.Expect(kstatusOfKind(g, got, "Repository")).To(Equal(kstatus.FailedStatus))
	}, timeout, poll).Should(Succeed())
}
