package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestStoresOfCollidingNames: Applications "a-b" (environment "c") and "a" (environment
// "b-c") once shared one stored revision Secret. Each now has its own, owned by it; once
// "a" is deleted, "a-b" still rolls back from its own store with Git down.
func TestStoresOfCollidingNames(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, func(a *landfallv1.Application) {
		a.Name = "a-b"
		a.Spec.Environments = []landfallv1.Environment{{Name: "c", Namespace: a.Namespace + "-ab"}}
		a.Spec.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: 3 * time.Second}}
	})
	other := &landfallv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: f.ns}, Spec: *f.app.Spec.DeepCopy()}
	other.Spec.Environments = []landfallv1.Environment{{Name: "b-c", Namespace: f.ns + "-a"}}
	g.Expect(k8s.Create(ctx, other)).To(Succeed())
	good := "main@sha1:" + f.srv.Head(t, "refs/heads/main")
	g.Eventually(func(g Gomega) {
		completed(g, f.get(g), "c", good)
		got := &landfallv1.Application{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(other), got)).To(Succeed())
		completed(g, got, "b-c", good)
	}, timeout, poll).Should(Succeed())

	owners := map[types.UID]string{}
	for _, s := range storedRevisions(g, f.ns) {
		g.Expect(s.OwnerReferences).To(HaveLen(1))
		owners[s.OwnerReferences[0].UID] = s.Labels[landfallv1.LabelEnvironment]
		g.Expect(len(s.Name)).To(BeNumerically("<=", 63))
	}
	g.Expect(owners).To(Equal(map[types.UID]string{f.get(g).UID: "c", other.UID: "b-c"}), "one store each")

	g.Expect(k8s.Delete(ctx, other)).To(Succeed())
	bad := "main@sha1:" + f.push(t, func(dir string) {
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/deployment.yaml"), []byte(deploymentYAML), 0o644)).To(Succeed())
	})
	g.Eventually(func(g Gomega) string { return envStatus(g, f.get(g), "c").Revision }, timeout, poll).Should(Equal(bad))
	f.srv.SetDown(true)
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g), "c")
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutRolledBack))
		g.Expect(st.Revision).To(Equal(good), "back on its own stored revision")
	}, 30*time.Second, poll).Should(Succeed())
}

// TestForeignStoreIsNotUsed: a stored revision Secret whose recorded owner is not the
// Application (tampered with, or left by another) is neither read nor overwritten; the
// Application says so in its RevisionStored condition.
func TestForeignStoreIsNotUsed(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, map[string]string{"apps/web/configmap.yaml": configMapYAML}, nil)
	first := "main@sha1:" + f.srv.Head(t, "refs/heads/main")
	g.Eventually(func(g Gomega) { completed(g, f.get(g), "staging", first) }, timeout, poll).Should(Succeed())
	stores := storedRevisions(g, f.ns)
	g.Expect(stores).To(HaveLen(1))
	sec := stores[0]
	sec.Data["owner"] = []byte("someone-else/staging")
	g.Expect(k8s.Update(ctx, &sec)).To(Succeed())

	second := "main@sha1:" + f.push(t, writeFile(g, "apps/web/configmap.yaml", configMapGreeting("bonjour")))
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		completed(g, app, "staging", second)
		c := findCondition(app, landfallv1.ConditionRevisionStored)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonStoreFailed))
		g.Expect(c.Message).To(And(ContainSubstring("staging"), ContainSubstring("another Application")))
	}, timeout, poll).Should(Succeed())
	after := &corev1.Secret{}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(&sec), after)).To(Succeed())
	g.Expect(string(after.Data["revision"])).To(Equal(first), "the foreign Secret is not overwritten")
}

func storedRevisions(g Gomega, ns string) []corev1.Secret {
	list := &corev1.SecretList{}
	g.Expect(k8s.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var out []corev1.Secret
	for _, s := range list.Items {
		if s.Type == "landfall.dev/rendered-revision" {
			out = append(out, s)
		}
	}
	return out
}

func findCondition(app *landfallv1.Application, typ string) *metav1.Condition {
	for i := range app.Status.Conditions {
		if app.Status.Conditions[i].Type == typ {
			return &app.Status.Conditions[i]
		}
	}
	return nil
}
