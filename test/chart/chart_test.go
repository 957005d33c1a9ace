// Package chart_test proves the Helm chart in charts/landfall: it lints, renders what the
// values ask for, refuses bad values, and — installed into a full cluster with the Helm
// SDK — grants the controller enough to deploy an application from Git, roll it back and
// preview its pull requests.
package chart_test

import (
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// everythingOn turns on every optional part of the chart.
var everythingOn = map[string]any{
	"replicas":       2,
	"rbac":           map[string]any{"namespaces": []any{"team-a", "team-b"}},
	"networkPolicy":  map[string]any{"enabled": true, "metricsFrom": []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}}}},
	"metrics":        map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}}},
	"webhook":        map[string]any{"ingress": map[string]any{"enabled": true, "className": "nginx", "host": "landfall.example.com", "tls": []any{map[string]any{"secretName": "landfall-tls", "hosts": []any{"landfall.example.com"}}}}},
	"serviceAccount": map[string]any{"annotations": map[string]any{"example.com/role": "landfall"}},
}

// TestLint runs Helm's linter, as `helm lint --strict` does: no warnings, no errors, with
// the defaults and with every option on.
func TestLint(t *testing.T) {
	for name, values := range map[string]map[string]any{"defaults": nil, "everything on": everythingOn} {
		t.Run(name, func(t *testing.T) {
			linter := lint.AllWithKubeVersion(chartDir, values, "landfall-system", kubeVersion)
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("%s", m.Error())
				} else {
					t.Logf("%s", m.Error())
				}
			}
		})
	}
	// The linter is not blind: values the schema refuses are an error.
	linter := lint.AllWithKubeVersion(chartDir, map[string]any{"replica": 2}, "landfall-system", kubeVersion)
	NewWithT(t).Expect(linter.HighestSeverity).To(Equal(support.ErrorSev))
}

// TestRenderDefaults checks what a plain `helm install` creates: a locked-down Deployment
// running the controller as the chart configures it, and cluster-wide RBAC.
func TestRenderDefaults(t *testing.T) {
	g := NewWithT(t)
	r, err := renderChart(t, "landfall-system", nil)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(r.all("Deployment")).To(ConsistOf("landfall-system/landfall"))
	g.Expect(r.all("ServiceAccount")).To(ConsistOf("landfall-system/landfall"))
	g.Expect(r.all("Service")).To(ConsistOf("landfall-system/landfall-metrics", "landfall-system/landfall-webhook"))
	g.Expect(r.all("ClusterRole")).To(ConsistOf("landfall", "landfall-deploy", "landfall-view"))
	g.Expect(r.all("ClusterRoleBinding")).To(ConsistOf("landfall", "landfall-deploy"))
	g.Expect(r.all("Role")).To(ConsistOf("landfall-system/landfall-leader-election"))
	g.Expect(r.all("ServiceMonitor")).To(BeEmpty(), "off by default")
	g.Expect(r.all("NetworkPolicy")).To(BeEmpty(), "off by default")
	g.Expect(r.all("Ingress")).To(BeEmpty(), "off by default")
	g.Expect(r.all("PodDisruptionBudget")).To(BeEmpty(), "one replica: a budget would block every drain")

	d := as[appsv1.Deployment](t, r.find("Deployment", "landfall-system", "landfall"))
	pod := d.Spec.Template.Spec
	g.Expect(pod.ServiceAccountName).To(Equal("landfall"))
	g.Expect(pod.Containers).To(HaveLen(1))
	c := pod.Containers[0]
	g.Expect(c.Image).To(Equal("ghcr.io/landfall-dev/landfall:"+loadChart(t).Metadata.AppVersion), "the tag defaults to appVersion")
	g.Expect(c.Args).To(ContainElements("controller", "--leader-elect=true", "--leader-election-namespace=$(POD_NAMESPACE)",
		"--metrics-bind-address=:8080", "--health-probe-bind-address=:8081", "--webhook-bind-address=:9292",
		"--cache-dir=/var/cache/landfall"))
	g.Expect(strings.Join(c.Args, " ")).NotTo(ContainSubstring("--watch-namespaces"), "cluster-wide by default")
	g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "POD_NAMESPACE",
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}))
	g.Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
	g.Expect(containerPort(c, c.ReadinessProbe.HTTPGet.Port.String())).To(BeEquivalentTo(8081))
	g.Expect(c.Resources.Requests).NotTo(BeEmpty())
	g.Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceMemory))

	// The restricted Pod Security Standard, and a read-only root with writable cache and /tmp.
	g.Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
	g.Expect(*pod.SecurityContext.RunAsUser).To(BeEquivalentTo(65532))
	sc := c.SecurityContext
	g.Expect(*sc.RunAsNonRoot).To(BeTrue())
	g.Expect(*sc.AllowPrivilegeEscalation).To(BeFalse())
	g.Expect(*sc.ReadOnlyRootFilesystem).To(BeTrue())
	g.Expect(sc.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	g.Expect(sc.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	g.Expect(mounts).To(HaveKey("/tmp"))
	g.Expect(mounts).To(HaveKey("/var/cache/landfall"))
	for _, v := range pod.Volumes {
		g.Expect(v.EmptyDir).NotTo(BeNil(), "volume %s", v.Name)
		g.Expect(v.EmptyDir.SizeLimit).NotTo(BeNil(), "volume %s is bounded", v.Name)
	}

	for name, port := range map[string]int32{"landfall-metrics": 8080, "landfall-webhook": 9292} {
		svc := as[corev1.Service](t, r.find("Service", "landfall-system", name))
		g.Expect(svc.Spec.Ports).To(HaveLen(1))
		g.Expect(svc.Spec.Ports[0].Port).To(Equal(port))
		g.Expect(containerPort(c, svc.Spec.Ports[0].TargetPort.String())).To(Equal(port))
		g.Expect(svc.Spec.Selector).To(Equal(d.Spec.Selector.MatchLabels))
	}

	own := as[rbacv1.ClusterRole](t, r.find("ClusterRole", "", "landfall"))
	g.Expect(allows(own.Rules, "", "secrets", "get")).To(BeTrue())
	g.Expect(allows(own.Rules, "", "secrets", "create")).To(BeTrue(), "for the revision store")
	// Each webhook Secret is watched on its own (a field selector on its name): every
	// replica verifies deliveries without a request each.
	g.Expect(allows(own.Rules, "", "secrets", "list")).To(BeTrue(), "the webhook Secrets are watched")
	g.Expect(allows(own.Rules, "", "secrets", "watch")).To(BeTrue())
	g.Expect(allows(own.Rules, "", "secrets", "delete")).To(BeFalse())
	g.Expect(allows(own.Rules, "", "configmaps", "watch")).To(BeTrue(), "valuesFrom ConfigMaps are watched")
	g.Expect(allows(own.Rules, "", "configmaps", "update")).To(BeFalse(), "and only read")
	g.Expect(allows(own.Rules, "landfall.dev", "applications/status", "patch")).To(BeTrue())
	g.Expect(allows(own.Rules, "events.k8s.io", "events", "create")).To(BeTrue())
	g.Expect(allows(own.Rules, "", "namespaces", "create")).To(BeTrue())
	g.Expect(allows(own.Rules, "coordination.k8s.io", "leases", "update")).To(BeFalse(), "the Lease is granted in the release namespace only")
	deploy := as[rbacv1.ClusterRole](t, r.find("ClusterRole", "", "landfall-deploy"))
	for _, gr := range [][2]string{{"apps", "deployments"}, {"", "services"}, {"", "configmaps"}, {"autoscaling", "horizontalpodautoscalers"},
		{"networking.k8s.io", "networkpolicies"}, {"policy", "poddisruptionbudgets"}, {"batch", "cronjobs"}, {"rbac.authorization.k8s.io", "rolebindings"}} {
		for _, verb := range []string{"get", "list", "watch", "create", "patch", "update", "delete"} {
			g.Expect(allows(deploy.Rules, gr[0], gr[1], verb)).To(BeTrue(), "%s %s.%s", verb, gr[1], gr[0])
		}
	}
	g.Expect(allows(deploy.Rules, "", "pods", "delete")).To(BeFalse(), "pods are only read")
	g.Expect(allows(deploy.Rules, "rbac.authorization.k8s.io", "roles", "escalate")).To(BeFalse())

	g.Expect(r.notes).To(ContainSubstring("kubectl -n landfall-system rollout status deployment/landfall"))
	g.Expect(r.notes).To(ContainSubstring("http://landfall-webhook.landfall-system.svc:9292/hooks/<namespace>/<repository>"))
}

// TestRenderRestricted checks rbac.namespaces: Roles in those namespaces instead of
// cluster-wide grants, and a controller that watches only them and its own namespace.
func TestRenderRestricted(t *testing.T) {
	g := NewWithT(t)
	r, err := renderChart(t, "landfall-system", map[string]any{"rbac": map[string]any{"namespaces": []any{"team-a", "team-b"}}})
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(r.all("ClusterRole")).To(ConsistOf("landfall-namespaces", "landfall-view"))
	g.Expect(r.all("ClusterRoleBinding")).To(ConsistOf("landfall-namespaces"), "the only cluster-wide grant")
	ns := as[rbacv1.ClusterRole](t, r.find("ClusterRole", "", "landfall-namespaces"))
	g.Expect(ns.Rules).To(ConsistOf(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"},
		ResourceNames: []string{"team-a", "team-b"}, Verbs: []string{"get"}},
		// TenantPolicies are cluster-scoped: only a ClusterRole can grant reading them.
		rbacv1.PolicyRule{APIGroups: []string{"landfall.dev"}, Resources: []string{"tenantpolicies"}, Verbs: []string{"get", "list", "watch"}},
		rbacv1.PolicyRule{APIGroups: []string{"landfall.dev"}, Resources: []string{"tenantpolicies/status"}, Verbs: []string{"get", "update", "patch"}}))

	g.Expect(r.all("Role")).To(ConsistOf("landfall-system/landfall-leader-election",
		"landfall-system/landfall", "team-a/landfall", "team-b/landfall", "team-a/landfall-deploy", "team-b/landfall-deploy"))
	g.Expect(r.all("RoleBinding")).To(ConsistOf("landfall-system/landfall-leader-election",
		"landfall-system/landfall", "team-a/landfall", "team-b/landfall", "team-a/landfall-deploy", "team-b/landfall-deploy"))
	for _, b := range r.objects {
		if b.GetKind() != "RoleBinding" {
			continue
		}
		rb := as[rbacv1.RoleBinding](t, b)
		g.Expect(rb.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: "landfall", Namespace: "landfall-system"}))
	}

	d := as[appsv1.Deployment](t, r.find("Deployment", "landfall-system", "landfall"))
	g.Expect(d.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--watch-namespaces=landfall-system,team-a,team-b"))
	g.Expect(r.notes).To(ContainSubstring("deploys only\ninto team-a, team-b"))
}

// TestRenderLockedDown checks tenancy.defaultServiceAccount: the controller runs with it,
// and Landfall's own ServiceAccount is granted none of the deployable kinds, only its own
// kinds, namespaces, TenantPolicies and impersonating ServiceAccounts.
func TestRenderLockedDown(t *testing.T) {
	g := NewWithT(t)
	r, err := renderChart(t, "landfall-system", map[string]any{"tenancy": map[string]any{"defaultServiceAccount": "deployer", "requirePolicy": true}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.all("ClusterRole")).To(ConsistOf("landfall", "landfall-view"))
	g.Expect(r.all("ClusterRoleBinding")).To(ConsistOf("landfall"))
	d := as[appsv1.Deployment](t, r.find("Deployment", "landfall-system", "landfall"))
	g.Expect(d.Spec.Template.Spec.Containers[0].Args).To(ContainElements("--default-service-account=deployer", "--require-tenant-policy=true"))
	own := as[rbacv1.ClusterRole](t, r.find("ClusterRole", "", "landfall"))
	g.Expect(allows(own.Rules, "", "serviceaccounts", "impersonate")).To(BeTrue())
	g.Expect(allows(own.Rules, "", "serviceaccounts", "watch")).To(BeTrue(), "whether one exists is read from an informer")
	g.Expect(allows(own.Rules, "landfall.dev", "tenantpolicies", "watch")).To(BeTrue())
	g.Expect(allows(own.Rules, "", "namespaces", "list")).To(BeTrue(), "to tell which a TenantPolicy selects")
	for _, gr := range [][2]string{{"apps", "deployments"}, {"", "services"}, {"", "configmaps"}, {"rbac.authorization.k8s.io", "rolebindings"}} {
		g.Expect(allows(own.Rules, gr[0], gr[1], "create")).To(BeFalse(), "%s.%s", gr[1], gr[0])
	}
	g.Expect(allows(own.Rules, "", "users", "impersonate")).To(BeFalse(), "ServiceAccounts only")
	g.Expect(allows(own.Rules, "", "groups", "impersonate")).To(BeFalse())
}

// TestRenderOptions checks the optional parts and the image settings.
func TestRenderOptions(t *testing.T) {
	g := NewWithT(t)
	r, err := renderChart(t, "ops", everythingOn)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.all("ServiceMonitor")).To(ConsistOf("ops/landfall"))
	g.Expect(r.all("NetworkPolicy")).To(ConsistOf("ops/landfall"))
	g.Expect(r.all("Ingress")).To(ConsistOf("ops/landfall-webhook"))
	d := as[appsv1.Deployment](t, r.find("Deployment", "ops", "landfall"))
	g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(2))
	// Two replicas: a drain evicts one at a time, and the webhook Service reaches both.
	pdb := as[policyv1.PodDisruptionBudget](t, r.find("PodDisruptionBudget", "ops", "landfall"))
	g.Expect(pdb.Spec.MaxUnavailable.IntValue()).To(Equal(1))
	g.Expect(pdb.Spec.Selector.MatchLabels).To(Equal(d.Spec.Selector.MatchLabels))
	g.Expect(as[corev1.Service](t, r.find("Service", "ops", "landfall-webhook")).Spec.Selector).
		To(Equal(d.Spec.Selector.MatchLabels), "every replica takes webhooks")
	expectSharded(g, t, r, "ops", d)
	// sharding: false keeps one leader and standbys.
	r, err = renderChart(t, "ops", map[string]any{"replicas": 3, "sharding": false})
	g.Expect(err).NotTo(HaveOccurred())
	c := as[appsv1.Deployment](t, r.find("Deployment", "ops", "landfall")).Spec.Template.Spec.Containers[0]
	g.Expect(c.Args).To(ContainElement("--leader-elect=true"))
	g.Expect(strings.Join(c.Args, " ")).NotTo(ContainSubstring("--shard-group"))
	r, err = renderChart(t, "ops", everythingOn)
	g.Expect(err).NotTo(HaveOccurred())

	sm := r.find("ServiceMonitor", "ops", "landfall")
	g.Expect(sm.GetLabels()).To(HaveKeyWithValue("release", "prometheus"))
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	g.Expect(endpoints).To(ConsistOf(HaveKeyWithValue("port", "metrics")))

	np := r.find("NetworkPolicy", "ops", "landfall")
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	g.Expect(ingress).To(HaveLen(2), "metrics and webhook ports, nothing else")

	ing := r.find("Ingress", "ops", "landfall-webhook")
	rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
	g.Expect(rules).To(HaveLen(1))
	g.Expect(rules[0]).To(HaveKeyWithValue("host", "landfall.example.com"))
	g.Expect(r.notes).To(ContainSubstring("https://landfall.example.com/hooks/<namespace>/<repository>"))

	digest := "sha256:" + strings.Repeat("ab", 32)
	r, err = renderChart(t, "ops", map[string]any{"image": map[string]any{"repository": "registry.example/landfall", "tag": "9.9.9", "digest": digest}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(as[appsv1.Deployment](t, r.find("Deployment", "ops", "landfall")).Spec.Template.Spec.Containers[0].Image).
		To(Equal("registry.example/landfall@"+digest), "a digest wins over a tag")
}

// TestSchemaRefusesBadValues: values.schema.json turns typos and nonsense into errors that
// name the key, instead of a chart that silently ignores them.
func TestSchemaRefusesBadValues(t *testing.T) {
	for name, tc := range map[string]struct {
		values map[string]any
		want   string
	}{
		"unknown key":           {map[string]any{"replica": 2}, "replica"},
		"unknown nested key":    {map[string]any{"controller": map[string]any{"concurency": 8}}, "concurency"},
		"bad log level":         {map[string]any{"controller": map[string]any{"logLevel": "verbose"}}, "logLevel"},
		"bad namespace":         {map[string]any{"rbac": map[string]any{"namespaces": []any{"Team_A"}}}, "namespaces"},
		"bad pull policy":       {map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}, "pullPolicy"},
		"rule without verbs":    {map[string]any{"rbac": map[string]any{"deployableRules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}}}}}, "verbs"},
		"negative replicas":     {map[string]any{"replicas": -1}, "replicas"},
		"concurrency as string": {map[string]any{"controller": map[string]any{"concurrency": "8"}}, "concurrency"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := renderChart(t, "landfall-system", tc.values)
			NewWithT(t).Expect(err).To(MatchError(And(ContainSubstring("values don't meet the specifications of the schema"), ContainSubstring(tc.want))))
		})
	}
}

// containerPort resolves a named (or numbered) port of a container.
func containerPort(c corev1.Container, port string) int32 {
	for _, p := range c.Ports {
		if p.Name == port {
			return p.ContainerPort
		}
	}
	return 0
}

// allows says whether rules grant verb on resource in group (no resource names involved).
func allows(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if len(r.ResourceNames) == 0 && slices.Contains(r.APIGroups, group) &&
			slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

// TestRenderDashboard: off by default; on, the controller serves it on its own port with a
// Service (and an Ingress when asked), and the ClusterRole gains exactly the rights it
// needs to check users' tokens and rights and to read what an Application's page shows.
func TestRenderDashboard(t *testing.T) {
	g := NewWithT(t)
	r, err := renderChart(t, "ops", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Join(as[appsv1.Deployment](t, r.find("Deployment", "ops", "landfall")).Spec.Template.Spec.Containers[0].Args, " ")).
		NotTo(ContainSubstring("--dashboard-bind-address"), "off by default")
	g.Expect(r.all("Service")).NotTo(ContainElement("ops/landfall-dashboard"))

	r, err = renderChart(t, "ops", map[string]any{"dashboard": map[string]any{"enabled": true,
		"ingress": map[string]any{"enabled": true, "host": "landfall.example.com"}},
		"networkPolicy": map[string]any{"enabled": true}})
	g.Expect(err).NotTo(HaveOccurred())
	d := as[appsv1.Deployment](t, r.find("Deployment", "ops", "landfall"))
	c := d.Spec.Template.Spec.Containers[0]
	g.Expect(c.Args).To(ContainElement("--dashboard-bind-address=:9393"))
	g.Expect(c.Ports).To(ContainElement(And(HaveField("Name", "dashboard"), HaveField("ContainerPort", BeEquivalentTo(9393)))))
	svc := as[corev1.Service](t, r.find("Service", "ops", "landfall-dashboard"))
	g.Expect(svc.Spec.Selector).To(Equal(d.Spec.Selector.MatchLabels), "every replica serves it")
	g.Expect(svc.Spec.Ports).To(ConsistOf(And(HaveField("Port", BeEquivalentTo(9393)), HaveField("TargetPort.StrVal", "dashboard"))))
	g.Expect(r.all("Ingress")).To(ConsistOf("ops/landfall-dashboard"))
	role := as[rbacv1.ClusterRole](t, r.find("ClusterRole", "", "landfall"))
	g.Expect(role.Rules).To(ContainElements(
		rbacv1.PolicyRule{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		rbacv1.PolicyRule{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
	))
	np := r.find("NetworkPolicy", "ops", "landfall")
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	g.Expect(ingress).To(HaveLen(3), "metrics, webhook and dashboard ports")
}

// expectSharded checks a chart of several replicas: each pod is a shard named after
// itself, and may list and delete the Leases of the release namespace, nothing more.
func expectSharded(g *WithT, t *testing.T, r *rendered, ns string, d *appsv1.Deployment) {
	c := d.Spec.Template.Spec.Containers[0]
	g.Expect(c.Args).To(ContainElements("--shard-group=landfall", "--shard-id=$(POD_NAME)", "--leader-election-namespace=$(POD_NAMESPACE)"))
	g.Expect(c.Args).NotTo(ContainElement("--leader-elect=true"), "shards elect no leader")
	g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "POD_NAME",
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}))
	role := as[rbacv1.Role](t, r.find("Role", ns, "landfall-leader-election"))
	for _, verb := range []string{"get", "list", "create", "update", "delete"} {
		g.Expect(allows(role.Rules, "coordination.k8s.io", "leases", verb)).To(BeTrue(), "%s leases", verb)
	}
	g.Expect(allows(role.Rules, "coordination.k8s.io", "leases", "deletecollection")).To(BeFalse())
}
