package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// dependencyApps is a config repository of two apps: database, whose Deployment's pod runs
// only on a node labelled nodeLabel (so the test decides when it becomes Healthy), and
// orders, a plain Deployment.
func dependencyApps(nodeLabel string) map[string]string {
	deployment := func(name, extra string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
%[2]s      containers:
      - {name: %[1]s, image: registry.example/%[1]s:v1}
`, name, extra)
	}
	return map[string]string{
		"apps/database/deployment.yaml": deployment("database", "      nodeSelector: {"+nodeLabel+": \"yes\"}\n"),
		"apps/orders/deployment.yaml":   deployment("orders", ""),
	}
}

// TestDependsOn, on the full cluster: orders dependsOn database. Orders' staging is not
// applied while database's staging is Progressing (its pod cannot be scheduled), and says
// so (DependencyNotReady, naming database and its state); once the pod runs and database's
// staging is Healthy, orders' staging starts — woken by the watch, since the controller
// resyncs only every ten minutes — and its rollout starts no sooner than database's
// finished.
func TestDependsOn(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	nodeLabel := fmt.Sprintf("e2e.landfall.dev/deps-%d", time.Now().UnixNano())
	f := newFixture(t, e, dependencyApps(nodeLabel))
	dbNS, ordersNS := f.ns+"-db", f.ns+"-orders"
	db := f.application(t, "database", "apps/database", []landfallv1.Environment{{Name: "staging", Namespace: dbNS}},
		func(s *landfallv1.ApplicationSpec) {
			s.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: 10 * time.Minute}}
		})
	orders := f.application(t, "orders", "apps/orders", []landfallv1.Environment{{Name: "staging", Namespace: ordersNS}},
		func(s *landfallv1.ApplicationSpec) { s.DependsOn = []landfallv1.Dependency{{Name: "database"}} })
	revision := revisionOf(f.srv.Head(t, "refs/heads/main"))

	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g, db), "staging")
		g.Expect(st.Revision).To(Equal(revision), "database's staging is applied")
		g.Expect(st.Health).To(Equal(landfallv1.HealthProgressing), "%s", st.Message)
		got := f.get(g, orders)
		reason, msg := readyReason(got)
		g.Expect(reason).To(Equal(landfallv1.ReasonDependencyNotReady), "%s", msg)
		g.Expect(msg).To(And(ContainSubstring("Application database environment staging"), ContainSubstring(revision)))
		g.Expect(apimeta.IsStatusConditionTrue(got.Status.Conditions, landfallv1.ConditionStalled)).To(BeFalse(), "waiting is not stalled")
	}, rolloutTimeout, poll).Should(Succeed())
	got := f.get(g, orders)
	g.Expect(envStatus(g, got, "staging").Revision).To(BeEmpty(), "orders' staging is not applied")
	err := e.k8s.Get(context.Background(), key(ordersNS, "orders"), &appsv1.Deployment{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no orders Deployment while database is Progressing: %v", err)

	labelNode(t, e, "kwok-node-0", nodeLabel)
	waitCompleted(t, f, db, revision, rolloutTimeout, "staging")
	waitCompleted(t, f, orders, revision, rolloutTimeout, "staging")
	_, dbDone := historyIndex(f.get(g, db), "staging", revision)
	_, ordersStart := historyIndex(f.get(g, orders), "staging", revision)
	g.Expect(dbDone.FinishedAt).NotTo(BeNil())
	g.Expect(ordersStart.StartedAt.Time).NotTo(BeTemporally("<", dbDone.FinishedAt.Time),
		"orders' staging started at %s, database's staging became healthy at %s", ordersStart.StartedAt, dbDone.FinishedAt)
	waitRolledOut(g, e.k8s, ordersNS, "orders", 1)
}

// labelNode sets label on node, and removes it when the test ends.
func labelNode(t *testing.T, e *env, name, label string) {
	t.Helper()
	ctx := context.Background()
	patch := func(value any) {
		body := fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, label, value)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
		must(t, e.k8s.Patch(ctx, node, client.RawPatch("application/merge-patch+json", []byte(body))))
	}
	patch(`"yes"`)
	t.Cleanup(func() { patch("null") })
}

// TestDependencyCycle, on the full cluster: cycle-a dependsOn cycle-b, which does not
// exist yet (DependencyNotReady: not found); then cycle-b is created depending on cycle-a.
// Both are refused, Stalled with DependencyCycle naming the cycle from each side, an Event
// says so, and nothing of either is applied. Removing one dependsOn breaks the cycle: both
// deploy, cycle-a once cycle-b is Healthy.
func TestDependencyCycle(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, dependencyApps("unused"))
	envOf := func(name string) []landfallv1.Environment {
		return []landfallv1.Environment{{Name: "staging", Namespace: f.ns + "-" + name}}
	}
	dependsOn := func(name string) func(*landfallv1.ApplicationSpec) {
		return func(s *landfallv1.ApplicationSpec) { s.DependsOn = []landfallv1.Dependency{{Name: name}} }
	}
	a := f.application(t, "cycle-a", "apps/orders", envOf("a"), dependsOn("cycle-b"))
	g.Eventually(func(g Gomega) {
		reason, msg := readyReason(f.get(g, a))
		g.Expect(reason).To(Equal(landfallv1.ReasonDependencyNotReady))
		g.Expect(msg).To(ContainSubstring("Application cycle-b not found"))
	}, timeout, poll).Should(Succeed())

	b := f.application(t, "cycle-b", "apps/orders", envOf("b"), dependsOn("cycle-a"))
	for app, cycle := range map[*landfallv1.Application]string{
		a: "cycle-a:staging → cycle-b:staging → cycle-a:staging",
		b: "cycle-b:staging → cycle-a:staging → cycle-b:staging",
	} {
		g.Eventually(func(g Gomega) {
			got := f.get(g, app)
			stalled := apimeta.FindStatusCondition(got.Status.Conditions, landfallv1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil(), "%s is not Stalled", app.Name)
			g.Expect(stalled.Reason).To(Equal(landfallv1.ReasonDependencyCycle), "%s", stalled.Message)
			g.Expect(stalled.Message).To(ContainSubstring(cycle))
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(eventMessages(g, e.k8s, got, landfallv1.ReasonDependencyCycle)).To(ContainElement(ContainSubstring(cycle)))
		}, timeout, poll).Should(Succeed())
	}
	for _, name := range []string{"a", "b"} {
		err := e.k8s.Get(context.Background(), key(f.ns+"-"+name, "orders"), &appsv1.Deployment{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "nothing of cycle-%s is applied: %v", name, err)
	}

	f.updateSpec(g, b, func(s *landfallv1.ApplicationSpec) { s.DependsOn = nil })
	revision := revisionOf(f.srv.Head(t, "refs/heads/main"))
	waitCompleted(t, f, b, revision, rolloutTimeout, "staging")
	waitCompleted(t, f, a, revision, rolloutTimeout, "staging")
}
