package controllers_test

import (
	"context"
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// valuesChart renders a ConfigMap of its greeting and a Secret of its password.
var valuesChart = map[string]string{
	"apps/web/Chart.yaml":  "apiVersion: v2\nname: web\nversion: 0.1.0\n",
	"apps/web/values.yaml": "greeting: from-chart\nsize: from-chart\ndb: {password: none}\n",
	"apps/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n" +
		"data: {greeting: {{ .Values.greeting | quote }}, size: {{ .Values.size | quote }}}\n",
	"apps/web/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n" +
		"stringData: {password: {{ .Values.db.password | quote }}}\n",
}

func putObject(g Gomega, obj client.Object) {
	ctx := context.Background()
	if err := k8s.Create(ctx, obj); err == nil {
		return
	}
	cur := obj.DeepCopyObject().(client.Object)
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), cur)).To(Succeed())
	obj.SetResourceVersion(cur.GetResourceVersion())
	g.Expect(k8s.Update(ctx, obj)).To(Succeed())
}

func valuesSecret(ns, password string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-values", Namespace: ns},
		Data: map[string][]byte{"values.yaml": []byte("db:\n  password: " + password + "\n")}}
}

func valuesConfigMap(ns, greeting string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-values", Namespace: ns},
		Data: map[string]string{"settings.yaml": "greeting: " + greeting + "\nsize: from-configmap\n"}}
}

func settings(g Gomega, ns string) map[string]string {
	cm := &corev1.ConfigMap{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "settings"}, cm)).To(Succeed())
	return cm.Data
}

func valuesFromFailed(g Gomega, f *fixture, text string) {
	notReady(g, f, landfallv1.ReasonValuesFromFailed, text)
}

// TestValuesFrom: Helm values from a ConfigMap and a Secret of the Application's namespace,
// merged over the chart's and under the inline values; a change of either renders and
// applies again with no commit and no sync request (the watch); a missing object fails
// ValuesFromFailed with an Event, applies nothing and keeps what runs; an optional missing
// one is skipped; the Secret's values reach no status, Event or log line.
func TestValuesFrom(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	managerLog.start(t)
	ns := newNamespace(t)
	const pw1, pw2 = "values-Pa55word-first", "values-Pa55word-second"
	putObject(g, valuesSecret(ns, pw1))
	putObject(g, valuesConfigMap(ns, "from-configmap"))
	inline, err := json.Marshal(map[string]any{"size": "inline"})
	g.Expect(err).NotTo(HaveOccurred())
	f := newFixtureIn(t, ns, valuesChart, func(a *landfallv1.Application) {
		a.Spec.SelfHeal = false // a values change is applied as Git's intent, self-heal or not
		e := &a.Spec.Environments[0]
		e.ValuesFrom = []landfallv1.ValuesReference{
			{Kind: "ConfigMap", Name: "web-values", ValuesKey: "settings.yaml"},
			{Kind: "Secret", Name: "db-values"},
			{Kind: "Secret", Name: "not-there", Optional: true},
		}
		e.Values = &apiextensionsv1.JSON{Raw: inline}
	})
	target := ns + "-staging"
	g.Eventually(func(g Gomega) {
		g.Expect(settings(g, target)).To(Equal(map[string]string{"greeting": "from-configmap", "size": "inline"}))
		g.Expect(dbPassword(g, target)).To(Equal(pw1))
	}, timeout, poll).Should(Succeed())

	// The Secret changes: rendered and applied again, the watch the only trigger.
	putObject(g, valuesSecret(ns, pw2))
	g.Eventually(func(g Gomega) { g.Expect(dbPassword(g, target)).To(Equal(pw2)) }, timeout, poll).Should(Succeed())

	// The ConfigMap goes: refused, named, nothing applied; back, applied.
	g.Expect(k8s.Delete(ctx, valuesConfigMap(ns, ""))).To(Succeed())
	putObject(g, valuesSecret(ns, pw1))
	g.Eventually(func(g Gomega) {
		valuesFromFailed(g, f, "ConfigMap "+ns+"/web-values key settings.yaml: the ConfigMap is not found")
	}, timeout, poll).Should(Succeed())
	// Events are sent apart from the status write: the Event may come a moment later.
	g.Eventually(func(g Gomega) bool { return hasEventWith(g, ns, landfallv1.ReasonValuesFromFailed, "web-values") },
		timeout, poll).Should(BeTrue())
	g.Expect(dbPassword(g, target)).To(Equal(pw2), "nothing applied")
	putObject(g, valuesConfigMap(ns, "back"))
	g.Eventually(func(g Gomega) {
		g.Expect(settings(g, target)["greeting"]).To(Equal("back"))
		g.Expect(dbPassword(g, target)).To(Equal(pw1))
		g.Expect(readyCondition(g, f).Status).To(Equal(metav1.ConditionTrue))
	}, timeout, poll).Should(Succeed())

	// A Secret key that is not a map of values: named, never quoted.
	putObject(g, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-values", Namespace: ns},
		Data: map[string][]byte{"values.yaml": []byte("- " + pw2 + "\n")}})
	g.Eventually(func(g Gomega) {
		valuesFromFailed(g, f, "Secret "+ns+"/db-values key values.yaml: not a YAML map of values")
	}, timeout, poll).Should(Succeed())
	g.Expect(dbPassword(g, target)).To(Equal(pw1), "nothing applied")

	assertNotShown(g, f, pw1, pw2)
}

// TestValuesFromReadAsServiceAccount: valuesFrom is read with the ServiceAccount's rights,
// never the controller's, and targetPath places a whole key at a path of the values.
func TestValuesFromReadAsServiceAccount(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	target := ns + "-staging"
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: target}})).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns}})).To(Succeed())
	grant(t, target, ns, "deployer", "deploy", rbacv1.PolicyRule{APIGroups: []string{""},
		Resources: []string{"configmaps", "secrets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}})
	const pw = "tenant-values-Pa55word"
	putObject(g, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		Data: map[string][]byte{"password": []byte(pw)}})
	f := newFixtureIn(t, ns, valuesChart, func(a *landfallv1.Application) {
		a.Spec.ServiceAccountName = "deployer"
		a.Spec.Environments[0].ValuesFrom = []landfallv1.ValuesReference{
			{Kind: "Secret", Name: "db", ValuesKey: "password", TargetPath: "db.password"}}
	})
	g.Eventually(func(g Gomega) {
		valuesFromFailed(g, f, `User "system:serviceaccount:`+ns+`:deployer" cannot get resource "secrets"`)
	}, timeout, poll).Should(Succeed())
	grant(t, ns, ns, "deployer", "values", rbacv1.PolicyRule{APIGroups: []string{""},
		Resources: []string{"secrets"}, ResourceNames: []string{"db"}, Verbs: []string{"get"}})
	// The grant is no change of the Secret: a sync request brings the pass.
	f.update(g, func(a *landfallv1.Application) {
		a.Annotations = map[string]string{landfallv1.AnnotationSyncRequestedAt: "1"}
	})
	g.Eventually(func(g Gomega) { g.Expect(dbPassword(g, target)).To(Equal(pw)) }, timeout, poll).Should(Succeed())
}

// assertNotShown greps what the controller shows (status, Events, its log) for the values.
func assertNotShown(g Gomega, f *fixture, values ...string) {
	status, err := json.Marshal(f.get(g).Status)
	g.Expect(err).NotTo(HaveOccurred())
	events := &corev1.EventList{}
	g.Expect(k8s.List(context.Background(), events, client.InNamespace(f.ns))).To(Succeed())
	g.Expect(events.Items).NotTo(BeEmpty())
	for _, v := range values {
		g.Expect(string(status)).NotTo(ContainSubstring(v), "status")
		for _, e := range events.Items {
			g.Expect(e.Message).NotTo(ContainSubstring(v), "Event "+e.Reason)
		}
		g.Expect(managerLog.String()).NotTo(ContainSubstring(v), "log")
	}
}

func dbPassword(g Gomega, ns string) string {
	sec := &corev1.Secret{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "db"}, sec)).To(Succeed())
	return string(sec.Data["password"])
}

// notReady checks that Ready is False for reason, its message saying text.
func notReady(g Gomega, f *fixture, reason, text string) {
	ready := readyCondition(g, f)
	g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(ready.Reason).To(Equal(reason))
	g.Expect(ready.Message).To(ContainSubstring(text))
}
