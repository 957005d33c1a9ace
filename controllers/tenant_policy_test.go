package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

const clusterRoleYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: team-a-escalate}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
`

const foreignConfigMapYAML = `apiVersion: v1
kind: ConfigMap
metadata: {name: planted, namespace: kube-system}
data: {x: y}
`

func newPolicy(t *testing.T, name string, spec landfallv1.TenantPolicySpec) *landfallv1.TenantPolicy {
	t.Helper()
	p := &landfallv1.TenantPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	if err := k8s.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), p) })
	return p
}

func stalledWith(g Gomega, conds []metav1.Condition, reason string) *metav1.Condition {
	ready := apimeta.FindStatusCondition(conds, landfallv1.ConditionReady)
	g.Expect(ready).NotTo(BeNil())
	g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(ready.Reason).To(Equal(reason), "Ready: %s", ready.Message)
	stalled := apimeta.FindStatusCondition(conds, landfallv1.ConditionStalled)
	g.Expect(stalled).NotTo(BeNil())
	g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
	return ready
}

// A TenantPolicy confines the Applications of the namespaces it selects: what it forbids is
// refused before anything is applied, and what was deployed stays.
func TestTenantPolicyConfinesApplications(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	var policy *landfallv1.TenantPolicy
	f := newFixture(t, appFiles(), func(a *landfallv1.Application) {
		// The Application's own fields would allow everything: the policy decides.
		a.Spec.AllowClusterScoped, a.Spec.AllowedNamespaces = true, []string{"*"}
		policy = newPolicy(t, "team-"+a.Namespace, landfallv1.TenantPolicySpec{
			Namespaces: []string{a.Namespace}, Repositories: []string{"http://127.0.0.1:*/*"},
			Destinations: []string{a.Namespace + "-*"}, DeniedKinds: []string{"ClusterRoleBinding"},
			NamespaceLabels: map[string]string{"team": "a", "pod-security.kubernetes.io/enforce": "restricted"},
			Isolation:       &landfallv1.TenantIsolation{},
			Quota:           map[string]resource.Quantity{"pods": resource.MustParse("10")},
		})
	})
	target := f.ns + "-staging"
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g), "staging")
		g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced))
		g.Expect(st.Inventory.Entries).To(HaveLen(3))
	}, timeout, poll).Should(Succeed())

	// The namespace Landfall created is the tenant's: labels, isolation, quota.
	ns := &corev1.Namespace{}
	g.Expect(exists("", target, ns)()).To(Succeed())
	g.Expect(ns.Labels).To(HaveKeyWithValue("team", "a"))
	g.Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
	g.Expect(ns.Labels).To(HaveKeyWithValue(landfallv1.LabelTenant, policy.Name))
	np := &networkingv1.NetworkPolicy{}
	g.Expect(exists(target, "landfall-tenant", np)()).To(Succeed())
	g.Expect(np.Spec.Ingress).To(HaveLen(1))
	g.Expect(np.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels).To(HaveKeyWithValue(landfallv1.LabelTenant, policy.Name))
	quota := &corev1.ResourceQuota{}
	g.Expect(exists(target, "landfall-tenant", quota)()).To(Succeed())
	g.Expect(quota.Spec.Hard.Pods().String()).To(Equal("10"))

	// A commit that renders into kube-system and a ClusterRole, and drops a file: refused,
	// each named, nothing applied and nothing pruned.
	f.push(t, func(dir string) {
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/clusterrole.yaml"), []byte(clusterRoleYAML), 0o644)).To(Succeed())
		g.Expect(os.WriteFile(filepath.Join(dir, "apps/web/planted.yaml"), []byte(foreignConfigMapYAML), 0o644)).To(Succeed())
		g.Expect(os.Remove(filepath.Join(dir, "apps/web/configmap.yaml"))).To(Succeed())
	})
	g.Eventually(func(g Gomega) {
		ready := stalledWith(g, f.get(g).Status.Conditions, landfallv1.ReasonPolicyViolation)
		g.Expect(ready.Message).To(ContainSubstring("ConfigMap/kube-system/planted: namespace kube-system matches none of destinations"))
		g.Expect(ready.Message).To(ContainSubstring("ClusterRole/team-a-escalate: cluster-scoped kinds are not allowed"))
		g.Expect(ready.Message).To(ContainSubstring("TenantPolicy " + policy.Name))
		g.Expect(hasEventWith(g, f.ns, landfallv1.ReasonPolicyViolation, "kube-system")).To(BeTrue())
	}, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(exists("kube-system", "planted", &corev1.ConfigMap{})())).To(BeTrue())
	g.Expect(apierrors.IsNotFound(exists("", "team-a-escalate", &rbacv1.ClusterRole{})())).To(BeTrue())
	g.Expect(exists(target, "web-config", &corev1.ConfigMap{})()).To(Succeed())

	// Back to what is allowed: synced again.
	f.push(t, func(dir string) {
		g.Expect(os.Remove(filepath.Join(dir, "apps/web/clusterrole.yaml"))).To(Succeed())
		g.Expect(os.Remove(filepath.Join(dir, "apps/web/planted.yaml"))).To(Succeed())
	})
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g), "staging")
		g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced))
		g.Expect(st.Inventory.Entries).To(HaveLen(2))
	}, timeout, poll).Should(Succeed())

	// The platform team now denies Services, one of which runs: it stays, and the
	// environment is Stalled saying why.
	g.Eventually(func() error {
		p := &landfallv1.TenantPolicy{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(policy), p); err != nil {
			return err
		}
		p.Spec.DeniedKinds = append(p.Spec.DeniedKinds, "Service")
		return k8s.Update(ctx, p)
	}, timeout, poll).Should(Succeed())
	f.update(g, func(a *landfallv1.Application) {
		a.Annotations = map[string]string{landfallv1.AnnotationSyncRequestedAt: "1"}
	})
	g.Eventually(func(g Gomega) {
		ready := stalledWith(g, f.get(g).Status.Conditions, landfallv1.ReasonPolicyViolation)
		g.Expect(ready.Message).To(ContainSubstring("Service/" + target + "/web: kind Service is in deniedKinds"))
	}, timeout, poll).Should(Succeed())
	g.Consistently(exists(target, "web", &corev1.Service{}), 2*time.Second, poll).Should(Succeed())

	// An environment aimed at kube-system is refused before anything is rendered.
	f.update(g, func(a *landfallv1.Application) {
		a.Spec.Environments = append([]landfallv1.Environment{{Name: "system", Namespace: "kube-system"}}, a.Spec.Environments...)
	})
	g.Eventually(func(g Gomega) {
		ready := stalledWith(g, f.get(g).Status.Conditions, landfallv1.ReasonPolicyViolation)
		g.Expect(ready.Message).To(ContainSubstring("environment system: namespace kube-system matches none of destinations"))
	}, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(exists("kube-system", "web-config", &corev1.ConfigMap{})())).To(BeTrue())
}

// A Repository whose URL is outside its tenant's patterns fetches nothing.
func TestTenantPolicyRefusesRepositoryURL(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	newPolicy(t, "team-"+ns, landfallv1.TenantPolicySpec{Namespaces: []string{ns},
		Repositories: []string{"https://git.example/team-a/*"}, Destinations: []string{ns}})
	repo := &landfallv1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: ns},
		Spec: landfallv1.RepositorySpec{URL: "https://git.example/team-b/shop.git", Ref: landfallv1.GitRef{Branch: "main"}}}
	g.Expect(k8s.Create(context.Background(), repo)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &landfallv1.Repository{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), got)).To(Succeed())
		ready := stalledWith(g, got.Status.Conditions, landfallv1.ReasonPolicyViolation)
		g.Expect(ready.Message).To(ContainSubstring("repository URL https://git.example/team-b/shop.git matches none of repositories [https://git.example/team-a/*]"))
		g.Expect(got.Status.Revision).To(BeEmpty())
	}, timeout, poll).Should(Succeed())
}

// Bad policies say so on themselves: an invalid pattern, or no namespace selected.
func TestTenantPolicyConditions(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	good := newPolicy(t, "good-"+ns, landfallv1.TenantPolicySpec{Namespaces: []string{ns}})
	bad := newPolicy(t, "bad-"+ns, landfallv1.TenantPolicySpec{Namespaces: []string{ns}, Destinations: []string{"team-[a"}})
	none := newPolicy(t, "none-"+ns, landfallv1.TenantPolicySpec{Namespaces: []string{"no-such-namespace-*"}})
	get := func(g Gomega, p *landfallv1.TenantPolicy) *metav1.Condition {
		got := &landfallv1.TenantPolicy{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(p), got)).To(Succeed())
		c := apimeta.FindStatusCondition(got.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		if p == good {
			g.Expect(got.Status.Namespaces).To(ConsistOf(ns))
		}
		return c
	}
	g.Eventually(func(g Gomega) {
		c := get(g, good)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		c = get(g, bad)
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonInvalidSpec))
		g.Expect(c.Message).To(ContainSubstring(`destinations: "team-[a"`))
		c = get(g, none)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonNothingSelected))
	}, timeout, poll).Should(Succeed())
}

// A policy that turns invalid under running Applications says so on itself and on each
// Application it selects (PolicyViolation, naming the policy and the pattern), deploys
// nothing more and deletes nothing; fixed, the Applications sync again.
func TestInvalidTenantPolicyStopsItsApplications(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	var policy *landfallv1.TenantPolicy
	f := newFixture(t, appFiles(), func(a *landfallv1.Application) {
		policy = newPolicy(t, "team-"+a.Namespace, landfallv1.TenantPolicySpec{
			Namespaces: []string{a.Namespace}, Repositories: []string{"http://127.0.0.1:*/*"}, Destinations: []string{a.Namespace + "-*"},
		})
	})
	target := f.ns + "-staging"
	g.Eventually(func(g Gomega) {
		g.Expect(envStatus(g, f.get(g), "staging").Sync).To(Equal(landfallv1.SyncSynced))
	}, timeout, poll).Should(Succeed())

	setDestinations := func(patterns ...string) {
		g.Eventually(func() error {
			p := &landfallv1.TenantPolicy{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(policy), p); err != nil {
				return err
			}
			p.Spec.Destinations = patterns
			return k8s.Update(ctx, p)
		}, timeout, poll).Should(Succeed())
	}
	setDestinations("team-[a")
	f.update(g, func(a *landfallv1.Application) {
		a.Annotations = map[string]string{landfallv1.AnnotationSyncRequestedAt: "1"}
	})
	g.Eventually(func(g Gomega) {
		ready := stalledWith(g, f.get(g).Status.Conditions, landfallv1.ReasonPolicyViolation)
		g.Expect(ready.Message).To(ContainSubstring(`TenantPolicy ` + policy.Name + ` is invalid (destinations: "team-[a")`))
		g.Expect(hasEventWith(g, f.ns, landfallv1.ReasonPolicyViolation, "is invalid")).To(BeTrue())
		p := &landfallv1.TenantPolicy{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(policy), p)).To(Succeed())
		c := apimeta.FindStatusCondition(p.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonInvalidSpec))
	}, timeout, poll).Should(Succeed())
	g.Consistently(exists(target, "web-config", &corev1.ConfigMap{}), 2*time.Second, poll).Should(Succeed())

	setDestinations(f.ns + "-*")
	f.update(g, func(a *landfallv1.Application) { a.Annotations[landfallv1.AnnotationSyncRequestedAt] = "2" })
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(readyCondition(g, f).Reason).NotTo(Equal(landfallv1.ReasonPolicyViolation))
		g.Expect(apimeta.IsStatusConditionTrue(app.Status.Conditions, landfallv1.ConditionStalled)).To(BeFalse())
		g.Expect(envStatus(g, app, "staging").Sync).To(Equal(landfallv1.SyncSynced))
	}, timeout, poll).Should(Succeed(), "the policy fixed, the environment syncs (its Deployment then waits for health)")
}
