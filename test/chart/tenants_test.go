package chart_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// lockedDown installs the chart with tenancy.defaultServiceAccount: Landfall's own
// ServiceAccount may create Deployments nowhere (SubjectAccessReview), yet a team's
// Application syncs as the team's ServiceAccount, drift on its objects is healed, a bad
// revision is rolled back and a pull request gets its preview.
func lockedDown(t *testing.T, f *fixture) {
	g := NewWithT(t)
	ctx := context.Background()
	rel := releaseRef{name: "landfall-locked", namespace: "locked-system", serviceAccount: "landfall-locked", lockedDown: true}
	helmInstall(t, f.cluster.Kubeconfig, rel.name, rel.namespace,
		map[string]any{"tenancy": map[string]any{"defaultServiceAccount": "deployer"}})
	for _, ns := range []string{"", "default", "kube-system", "team-x", "team-x-staging"} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: rel.user(),
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + rel.namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Group: "apps", Resource: "deployments"}}}
		g.Expect(f.admin.Create(ctx, sar)).To(Succeed())
		g.Expect(sar.Status.Allowed).To(BeFalse(), "Landfall may create Deployments in %q: %s", ns, sar.Status.Reason)
	}

	// The team: its Landfall objects in team-x, its ServiceAccount "deployer" there, allowed
	// to edit team-x-staging, and its previews' namespaces (which do not exist before the
	// pull request, so no RoleBinding there can precede them: the platform binds it
	// cluster-wide and a TenantPolicy would confine where it is used).
	createNamespace(t, f, "team-x", nil)
	createNamespace(t, f, "team-x-staging", nil)
	g.Expect(f.admin.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-x", Name: "deployer"}})).To(Succeed())
	deployer := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "team-x", Name: "deployer"}}
	g.Expect(f.admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-x-staging", Name: "deployer"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}, Subjects: deployer})).To(Succeed())

	ctl := startController(t, f, rel)
	shop := newShopApp(t, f, "team-x", "team-x-staging")
	shop.waitReady(t)
	shop.expectDeployed(t)

	// Drift on the team's objects is healed, as the team's ServiceAccount.
	app := &landfallv1.Application{}
	g.Expect(f.admin.Get(ctx, shop.app, app)).To(Succeed())
	app.Spec.SelfHeal = true
	g.Expect(f.admin.Update(ctx, app)).To(Succeed())
	g.Eventually(func(g Gomega) {
		cm := &corev1.ConfigMap{}
		g.Expect(f.admin.Get(ctx, client.ObjectKey{Namespace: shop.target, Name: "greeting"}, cm)).To(Succeed())
		if cm.Data["greeting"] != "edited by hand" && cm.Annotations["test/edited"] == "" {
			cm.Data["greeting"] = "edited by hand"
			cm.Annotations["test/edited"] = "yes"
			g.Expect(f.admin.Update(ctx, cm)).To(Succeed())
		}
		g.Expect(f.admin.Get(ctx, client.ObjectKey{Namespace: shop.target, Name: "greeting"}, cm)).To(Succeed())
		g.Expect(cm.Annotations).To(HaveKey("test/edited"))
		g.Expect(cm.Data).To(HaveKeyWithValue("greeting", "hello"))
	}).WithTimeout(time.Minute).Should(Succeed())

	// Landfall may impersonate ServiceAccounts, and so deploy as the team's.
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: rel.user(),
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "team-x", Verb: "impersonate", Resource: "serviceaccounts", Name: "deployer"}}}
	g.Expect(f.admin.Create(ctx, sar)).To(Succeed())
	g.Expect(sar.Status.Allowed).To(BeTrue(), sar.Status.Reason)

	t.Run("rolls back a bad revision", func(t *testing.T) { rollsBack(t, f, rel, ctl, shop) })
	g.Expect(f.admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "team-x-deployer"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}, Subjects: deployer})).To(Succeed())
	t.Run("runs a pull-request preview", func(t *testing.T) { runsPreview(t, f, rel, ctl, shop) })

	// The apiserver's audit log: every write to the team's objects was made as the team's
	// ServiceAccount, none as Landfall's own.
	byUser := teamWrites(t, f.cluster.AuditLog(), "team-x-staging")
	g.Expect(byUser).To(HaveKey("system:serviceaccount:team-x:deployer"))
	g.Expect(byUser).NotTo(HaveKey(rel.user()), "Landfall wrote the team's objects with its own rights")
}

// teamWrites counts, by the user the request was made as, the writes to Deployments,
// Services and ConfigMaps in namespace (dry runs included: they are made as someone too).
func teamWrites(t *testing.T, path, namespace string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev struct {
			Stage            string
			User             struct{ Username string }
			ImpersonatedUser *struct{ Username string }
			ObjectRef        struct{ Resource, Subresource, Namespace string }
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit log: %v", err)
		}
		r := ev.ObjectRef
		if ev.Stage != "ResponseComplete" || r.Namespace != namespace || r.Subresource != "" ||
			!slices.Contains([]string{"deployments", "services", "configmaps"}, r.Resource) {
			continue
		}
		user := ev.User.Username
		if ev.ImpersonatedUser != nil {
			user = ev.ImpersonatedUser.Username
		}
		out[user]++
	}
	t.Logf("writes in %s by user: %v", namespace, out)
	return out
}
