package controllers_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example/web:v1"}]}
`

const serviceYAML = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`

const configMapYAML = `apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
`

// fixture is a Git server, a Repository and an Application in a fresh namespace.
type fixture struct {
	srv  *gitserver.Server
	repo *landfallv1.Repository
	app  *landfallv1.Application
	ns   string
}

func newFixture(t *testing.T, files map[string]string, mutate func(*landfallv1.Application)) *fixture {
	t.Helper()
	return newFixtureIn(t, newNamespace(t), files, mutate)
}

// newFixtureIn is newFixture in an existing namespace.
func newFixtureIn(t *testing.T, ns string, files map[string]string, mutate func(*landfallv1.Application)) *fixture {
	t.Helper()
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", files)
	f := &fixture{srv: srv, ns: ns, repo: newRepository(t, ns, srv, time.Hour)}
	f.app = &landfallv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: landfallv1.ApplicationSpec{
			RepositoryRef: landfallv1.LocalObjectReference{Name: f.repo.Name},
			Path:          "apps/web",
			Environments:  []landfallv1.Environment{{Name: "staging", Namespace: ns + "-staging"}},
			Prune:         true, SelfHeal: true,
		},
	}
	if mutate != nil {
		mutate(f.app)
	}
	if err := k8s.Create(context.Background(), f.app); err != nil {
		t.Fatal(err)
	}
	return f
}

// push commits a change and sends the webhook, as a Git host would.
func (f *fixture) push(t *testing.T, change func(dir string)) string {
	t.Helper()
	commit := f.srv.CommitChange(t, "main", change)
	if code := sendHook(t, f.repo, hookToken, []byte(pushBody)); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	return commit
}

func (f *fixture) get(g Gomega) *landfallv1.Application {
	app := &landfallv1.Application{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(f.app), app)).To(Succeed())
	return app
}

// update changes the Application's spec, retrying on conflicts with status writes.
func (f *fixture) update(g Gomega, mutate func(*landfallv1.Application)) *landfallv1.Application {
	var app *landfallv1.Application
	g.Eventually(func(g Gomega) {
		app = f.get(g)
		mutate(app)
		g.Expect(k8s.Update(context.Background(), app)).To(Succeed())
	}, timeout, poll).Should(Succeed())
	return app
}

func envStatus(g Gomega, app *landfallv1.Application, name string) landfallv1.EnvironmentStatus {
	for _, e := range app.Status.Environments {
		if e.Name == name {
			return e
		}
	}
	g.Expect(name).To(BeEmpty(), "no status for environment")
	return landfallv1.EnvironmentStatus{}
}

func exists(ns, name string, obj client.Object) func() error {
	return func() error { return k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj) }
}

func appFiles() map[string]string {
	return map[string]string{"apps/web/deployment.yaml": deploymentYAML, "apps/web/service.yaml": serviceYAML,
		"apps/web/configmap.yaml": configMapYAML}
}

func TestApplicationAppliesPrunesAndSurvivesBadRenders(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, appFiles(), nil)
	target := f.ns + "-staging"

	cm := &corev1.ConfigMap{}
	g.Eventually(exists(target, "web-config", cm), timeout, poll).Should(Succeed())
	g.Expect(cm.Annotations[landfallv1.AnnotationOwner]).To(Equal(f.ns + "/web/staging"))
	g.Eventually(func(g Gomega) {
		// Without a controller-manager the Deployment never turns healthy, so the rollout
		// stays Progressing here; applying and pruning are what this test is about.
		st := envStatus(g, f.get(g), "staging")
		g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced))
		g.Expect(st.Health).To(Equal(landfallv1.HealthProgressing))
		g.Expect(st.Inventory.Entries).To(HaveLen(3))
	}, timeout, poll).Should(Succeed())

	// An object someone else made, with a copied Landfall label but no owner annotation.
	intruder := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "intruder", Namespace: target,
		Labels: map[string]string{landfallv1.LabelManaged: "true", landfallv1.LabelApplication: f.ns + ".web"}}}
	g.Expect(k8s.Create(ctx, intruder)).To(Succeed())

	// A file removed from Git: its object is pruned, nothing else is.
	f.push(t, func(dir string) { g.Expect(os.Remove(filepath.Join(dir, "apps/web/configmap.yaml"))).To(Succeed()) })
	g.Eventually(func() bool { return apierrors.IsNotFound(exists(target, "web-config", &corev1.ConfigMap{})()) }, timeout, poll).Should(BeTrue())
	g.Expect(exists(target, "intruder", &corev1.ConfigMap{})()).To(Succeed())
	g.Expect(exists(target, "web", &corev1.Service{})()).To(Succeed())

	// A broken manifest: a clear condition and an Event; nothing is pruned.
	f.push(t, func(dir string) {
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/service.yaml"), []byte("kind: [broken"), 0o644)).To(Succeed())
	})
	g.Eventually(func(g Gomega) {
		ready := apimeta.FindStatusCondition(f.get(g).Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonRenderFailed))
		g.Expect(ready.Message).To(ContainSubstring("service.yaml"))
	}, timeout, poll).Should(Succeed())
	g.Consistently(exists(target, "web", &corev1.Service{}), 2*time.Second, poll).Should(Succeed())

	// Fixed: synced again.
	fixed := f.push(t, func(dir string) {
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/service.yaml"), []byte(serviceYAML), 0o644)).To(Succeed())
	})
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonProgressing))
		st := envStatus(g, app, "staging")
		g.Expect(st.Revision).To(Equal("main@sha1:" + fixed))
		g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced))
	}, timeout, poll).Should(Succeed())
}

func TestApplicationSelfHealAndDriftReport(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, appFiles(), nil)
	target := f.ns + "-staging"
	cm := &corev1.ConfigMap{}
	g.Eventually(exists(target, "web-config", cm), timeout, poll).Should(Succeed())

	// With self-heal, a hand edit is reverted.
	cm.Data["greeting"] = "edited by hand"
	g.Expect(k8s.Update(ctx, cm)).To(Succeed())
	g.Eventually(func(g Gomega) string {
		g.Expect(exists(target, "web-config", cm)()).To(Succeed())
		return cm.Data["greeting"]
	}, timeout, poll).Should(Equal("hello"))

	// Without it, the drift is reported and left alone.
	app := f.update(g, func(a *landfallv1.Application) { a.Spec.SelfHeal = false })
	g.Eventually(func(g Gomega) int64 { return f.get(g).Status.ObservedGeneration }, timeout, poll).Should(Equal(app.Generation))
	g.Consistently(exists(target, "web-config", cm), time.Second, poll).Should(Succeed())
	g.Expect(exists(target, "web-config", cm)()).To(Succeed())
	cm.Data["greeting"] = "edited again"
	g.Expect(k8s.Update(ctx, cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g), "staging")
		g.Expect(st.Sync).To(Equal(landfallv1.SyncOutOfSync))
		g.Expect(st.OutOfSync).To(ContainElement(ContainSubstring("web-config")))
	}, timeout, poll).Should(Succeed())
	g.Expect(exists(target, "web-config", cm)()).To(Succeed())
	g.Expect(cm.Data["greeting"]).To(Equal("edited again"))

	// Self-heal turned on again heals the drift already reported: the edit was seen (and
	// compared) before, and nothing changes in the cluster after it.
	f.update(g, func(a *landfallv1.Application) { a.Spec.SelfHeal = true })
	g.Eventually(func(g Gomega) string {
		g.Expect(exists(target, "web-config", cm)()).To(Succeed())
		return cm.Data["greeting"]
	}, timeout, poll).Should(Equal("hello"))
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g), "staging")
		g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced))
		g.Expect(st.OutOfSync).To(BeEmpty())
	}, timeout, poll).Should(Succeed())
}

func TestApplicationSyncWindowAndEnvironments(t *testing.T) {
	g := NewWithT(t)
	// No Deployment: without a controller-manager it would never turn healthy, and
	// production waits for a healthy staging. The full-cluster tests cover that.
	files := map[string]string{"apps/web/service.yaml": serviceYAML, "apps/web/configmap.yaml": configMapYAML}
	f := newFixture(t, files, func(a *landfallv1.Application) {
		a.Spec.Environments = append(a.Spec.Environments, landfallv1.Environment{Name: "production", Namespace: a.Namespace + "-prod"})
		a.Spec.SyncWindows = []landfallv1.SyncWindow{{Kind: landfallv1.SyncWindowDeny, Schedule: "* * * * *",
			Duration: metav1.Duration{Duration: time.Hour}}}
	})
	g.Eventually(func(g Gomega) {
		ready := apimeta.FindStatusCondition(f.get(g).Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonOutsideSyncWindow))
		g.Expect(ready.Message).To(ContainSubstring("deny window"))
	}, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(exists(f.ns+"-staging", "web", &corev1.Service{})())).To(BeTrue(), "nothing applied in a deny window")

	f.update(g, func(a *landfallv1.Application) { a.Spec.SyncWindows = nil })
	for _, ns := range []string{f.ns + "-staging", f.ns + "-prod"} {
		g.Eventually(exists(ns, "web", &corev1.Service{}), timeout, poll).Should(Succeed())
	}
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		for _, env := range []string{"staging", "production"} {
			st := envStatus(g, app, env)
			g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced))
			g.Expect(st.Revision).To(Equal(app.Status.Revision))
		}
	}, timeout, poll).Should(Succeed())
}

func conditionReason(app *landfallv1.Application) string {
	if c := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}

const hpaYAML = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
`

// TestApplicationLeavesReplicasToTheHPA: with self-heal on, a scale by the autoscaler is not
// undone, while other hand edits of the same Deployment are.
func TestApplicationLeavesReplicasToTheHPA(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	files := appFiles()
	files["apps/web/hpa.yaml"] = hpaYAML
	f := newFixture(t, files, nil)
	target := f.ns + "-staging"
	d := &appsv1.Deployment{}
	g.Eventually(exists(target, "web", d), timeout, poll).Should(Succeed())

	// Scale as the HPA does, through the scale subresource.
	scale := &autoscalingv1.Scale{}
	g.Expect(k8s.SubResource("scale").Get(ctx, d, scale)).To(Succeed())
	scale.Spec.Replicas = 5
	g.Expect(k8s.SubResource("scale").Update(ctx, d, client.WithSubResourceBody(scale))).To(Succeed())
	// And edit the image by hand, which self-heal must undo.
	g.Eventually(func() error {
		g.Expect(exists(target, "web", d)()).To(Succeed())
		d.Spec.Template.Spec.Containers[0].Image = "registry.example/web:hand-edited"
		return k8s.Update(ctx, d)
	}, timeout, poll).Should(Succeed())

	g.Eventually(func(g Gomega) string {
		g.Expect(exists(target, "web", d)()).To(Succeed())
		return d.Spec.Template.Spec.Containers[0].Image
	}, timeout, poll).Should(Equal("registry.example/web:v1"))
	g.Consistently(func(g Gomega) int32 {
		g.Expect(exists(target, "web", d)()).To(Succeed())
		return *d.Spec.Replicas
	}, 2*time.Second, poll).Should(Equal(int32(5)), "the autoscaler's replicas stay")
}
