package e2e

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/tenant"
)

// team is one tenant: its config repository and namespace (a fixture), the namespace it
// deploys to (made by the platform team), its ServiceAccount and its TenantPolicy.
type team struct {
	*fixture
	target string
	policy *landfallv1.TenantPolicy
}

// newTeam sets a tenant up as a platform team would: a destination namespace where its
// ServiceAccount "deployer" may write ConfigMaps, Services and Deployments, and a policy
// allowing only its own repository URL and namespaces.
func newTeam(t *testing.T, e *env) *team {
	t.Helper()
	ctx := context.Background()
	tm := &team{fixture: newFixture(t, e, testdata(t, "web", "apps/web"))}
	tm.target = tm.ns + "-staging"
	must(t, e.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tm.target}}))
	must(t, e.k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: tm.ns}}))
	must(t, tenant.Grant(ctx, e.k8s, tm.target, tm.ns, "deployer", "deployer",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps", "services"}, Verbs: tenant.AllVerbs},
		rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: tenant.AllVerbs}))
	tm.policy = &landfallv1.TenantPolicy{ObjectMeta: metav1.ObjectMeta{Name: "team-" + tm.ns},
		Spec: landfallv1.TenantPolicySpec{Namespaces: []string{tm.ns}, Repositories: []string{tm.srv.URL},
			Destinations: []string{tm.ns + "-*"}, DeniedKinds: []string{"ClusterRoleBinding", "Namespace"}}}
	must(t, e.k8s.Create(ctx, tm.policy))
	t.Cleanup(func() { _ = e.k8s.Delete(context.Background(), tm.policy) })
	NewWithT(t).Eventually(func(g Gomega) {
		p := &landfallv1.TenantPolicy{}
		g.Expect(e.k8s.Get(ctx, client.ObjectKeyFromObject(tm.policy), p)).To(Succeed())
		g.Expect(p.Status.Namespaces).To(ConsistOf(tm.ns))
	}, timeout, poll).Should(Succeed())
	return tm
}

// deploy creates an Application of path as the team's ServiceAccount, into namespace. Its
// author allows itself every namespace and cluster-scoped objects: the policy decides.
func (tm *team) deploy(t *testing.T, name, path, namespace string) *landfallv1.Application {
	return tm.application(t, name, path, []landfallv1.Environment{{Name: "staging", Namespace: namespace}},
		func(s *landfallv1.ApplicationSpec) {
			s.ServiceAccountName = "deployer"
			s.AllowClusterScoped, s.AllowedNamespaces = true, []string{"*"}
		})
}

// refused waits until app is Stalled with PolicyViolation, its message containing each of
// want, and a Warning Event says so.
func (tm *team) refused(t *testing.T, app *landfallv1.Application, want ...string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		got := tm.get(g, app)
		ready := ready(got)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonPolicyViolation))
		for _, w := range append(want, "TenantPolicy "+tm.policy.Name) {
			g.Expect(ready.Message).To(ContainSubstring(w))
		}
		g.Expect(apimeta.IsStatusConditionTrue(got.Status.Conditions, landfallv1.ConditionStalled)).To(BeTrue())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		events := &corev1.EventList{}
		g.Expect(tm.e.k8s.List(context.Background(), events, client.InNamespace(tm.ns))).To(Succeed())
		g.Expect(events.Items).To(ContainElement(And(
			HaveField("Type", corev1.EventTypeWarning), HaveField("Reason", landfallv1.ReasonPolicyViolation),
			HaveField("InvolvedObject.Name", app.Name))))
	}, timeout, poll).Should(Succeed())
}

// absent checks that none of objs exist.
func (tm *team) absent(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		err := tm.e.k8s.Get(context.Background(), client.ObjectKeyFromObject(o), o)
		if !apierrors.IsNotFound(err) {
			t.Errorf("%T %s: want not found, got %v", o, client.ObjectKeyFromObject(o), err)
		}
	}
}

func configMap(ns, name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: %s}\ndata: {x: y}\n", name, ns)
}

// TestTwoTenants: two teams on one cluster, each confined by its TenantPolicy and deploying
// as its own ServiceAccount. What team-a may not do is refused before anything is applied,
// each offending object named with its rule; what both may do syncs.
func TestTwoTenants(t *testing.T) {
	e := shared(t)
	a, b := newTeam(t, e), newTeam(t, e)
	clusterRole := "escalate-" + a.ns
	commit := a.push(t, write(t, map[string]string{
		// Each refused path also holds an object that alone would be allowed: nothing of a
		// refused render is applied, not even that.
		"apps/intrude/ok.yaml":      configMap(a.target, "intrude-ok"),
		"apps/intrude/planted.yaml": configMap(b.target, "planted"),
		"apps/escalate/ok.yaml":     configMap(a.target, "escalate-ok"),
		"apps/escalate/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: " +
			clusterRole + "}\nrules: [{apiGroups: [\"*\"], resources: [\"*\"], verbs: [\"*\"]}]\n",
	}))
	a.waitRevision(t, commit)

	t.Run("good Applications sync as their ServiceAccounts", func(t *testing.T) {
		g := NewWithT(t)
		for _, tm := range []*team{a, b} {
			app := tm.deploy(t, "web", "apps/web", tm.target)
			waitRolledOut(g, e.k8s, tm.target, "web", 2)
			g.Eventually(func(g Gomega) { expectSynced(g, tm.get(g, app), tm.srv.Head(t, "refs/heads/main")) }, timeout, poll).Should(Succeed())
		}
	})

	t.Run("an object in team-b's namespace is refused", func(t *testing.T) {
		app := a.deploy(t, "intrude", "apps/intrude", a.target)
		a.refused(t, app, fmt.Sprintf("ConfigMap/%s/planted: namespace %s matches none of destinations", b.target, b.target))
		a.absent(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: b.target, Name: "planted"}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: a.target, Name: "intrude-ok"}})
	})

	t.Run("a ClusterRole is refused", func(t *testing.T) {
		app := a.deploy(t, "escalate", "apps/escalate", a.target)
		a.refused(t, app, "ClusterRole/"+clusterRole+": cluster-scoped kinds are not allowed")
		a.absent(t, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: clusterRole}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: a.target, Name: "escalate-ok"}})
	})

	t.Run("kube-system is refused", func(t *testing.T) {
		app := a.deploy(t, "system", "apps/web", "kube-system")
		a.refused(t, app, "environment staging: namespace kube-system matches none of destinations")
		a.absent(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "web-config"}})
	})

	t.Run("a Repository outside the pattern fetches nothing", func(t *testing.T) {
		g := NewWithT(t)
		before := b.srv.Advertisements()
		repo := &landfallv1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: a.ns},
			Spec: landfallv1.RepositorySpec{URL: b.srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true,
				SecretRef: &landfallv1.LocalObjectReference{Name: "git"}}}
		must(t, e.k8s.Create(context.Background(), repo))
		g.Eventually(func(g Gomega) {
			got := &landfallv1.Repository{}
			g.Expect(e.k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), got)).To(Succeed())
			ready := apimeta.FindStatusCondition(got.Status.Conditions, landfallv1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(landfallv1.ReasonPolicyViolation))
			g.Expect(ready.Message).To(ContainSubstring(fmt.Sprintf("repository URL %s matches none of repositories [%s]", b.srv.URL, a.srv.URL)))
			g.Expect(apimeta.IsStatusConditionTrue(got.Status.Conditions, landfallv1.ConditionStalled)).To(BeTrue())
			g.Expect(got.Status.Revision).To(BeEmpty())
		}, timeout, poll).Should(Succeed())
		g.Expect(b.srv.Advertisements()).To(Equal(before), "team-b's Git server was not asked")
	})
}
