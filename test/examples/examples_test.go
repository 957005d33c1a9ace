// Package examples_test proves the examples in examples/: every environment the deploy
// resources name renders with Landfall's own renderer into the objects the README promises,
// following the conventions it teaches, and a real kube-apiserver accepts the deploy
// resources. Running them through the controller is the end-to-end tests' job.
package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/render/decrypt"
	_ "github.com/landfall-dev/landfall/render/decrypt/sopsfile" // the examples hold SOPS files
	"github.com/landfall-dev/landfall/test/cluster"
	"github.com/landfall-dev/landfall/test/testbin"
)

var (
	examplesDir = filepath.Join(cluster.RepoRoot(), "examples")
	configDir   = filepath.Join(examplesDir, "shop-config")
)

// environment is one render the deploy resources ask for.
type environment struct {
	name string // "<application>/<environment>" or "<preview>/pr-<n>"
	in   render.Input
}

// wantKinds is what each environment renders, by kind.
var wantKinds = map[string]map[string]int{
	"shop/staging": {"ConfigMap": 2, "Deployment": 2, "Service": 2, "HorizontalPodAutoscaler": 1,
		"NetworkPolicy": 2, "Ingress": 1, "Secret": 1},
	"shop/production": {"ConfigMap": 2, "Deployment": 2, "Service": 2, "HorizontalPodAutoscaler": 1,
		"NetworkPolicy": 2, "Ingress": 1, "PodDisruptionBudget": 2, "Secret": 1},
	"payments/staging":    {"ConfigMap": 1, "Deployment": 1, "Service": 1},
	"payments/production": {"ConfigMap": 1, "Deployment": 1, "Service": 1, "HorizontalPodAutoscaler": 1, "PodDisruptionBudget": 1},
	"shop-previews/pr-42": {"ConfigMap": 2, "Deployment": 2, "Service": 2, "NetworkPolicy": 2},
}

// wantSecretRefs are the Secrets each environment's Deployments read, by Deployment: the
// cluster holds them, or Git holds them SOPS-encrypted (orders-db).
var wantSecretRefs = map[string]map[string][]string{
	"shop/staging":        {"frontend": nil, "orders": {"orders-db"}},
	"shop/production":     {"frontend": nil, "orders": {"orders-db"}},
	"payments/staging":    {"payments": {"payments-provider"}},
	"payments/production": {"payments": {"payments-provider"}},
	"shop-previews/pr-42": {"frontend": nil, "orders": nil},
}

// TestShopConfigRenders renders every environment of the example Applications and Preview
// the way the controller would, and checks the result.
func TestShopConfigRenders(t *testing.T) {
	envs := environments(t, deployResources(t))
	var names []string
	for _, e := range envs {
		names = append(names, e.name)
	}
	NewWithT(t).Expect(names).To(ConsistOf(keys(wantKinds)), "the deploy resources name these environments")

	engine := render.New()
	images := map[string][]string{}
	for _, e := range envs {
		t.Run(e.name, func(t *testing.T) {
			g := NewWithT(t)
			res, err := engine.Render(context.Background(), e.in)
			g.Expect(err).NotTo(HaveOccurred())
			kinds := map[string]int{}
			for _, o := range res.Objects {
				kinds[o.GetKind()]++
				g.Expect(o.GetNamespace()).To(Equal(e.in.Namespace), "%s %s", o.GetKind(), o.GetName())
			}
			g.Expect(kinds).To(Equal(wantKinds[e.name]))
			checkDecrypted(t, e.name, res)
			images[e.name] = checkWorkloads(t, e.name, res.Objects)
			checkIsolation(t, res.Objects, e.name)
		})
	}

	// Environments differ where the overlays and values files say they do.
	g := NewWithT(t)
	g.Expect(images["shop/staging"]).To(ConsistOf("registry.example/shop/frontend:1.1.0", "registry.example/shop/orders:1.0.3"))
	g.Expect(images["shop/production"]).To(ConsistOf("registry.example/shop/frontend:1.0.0", "registry.example/shop/orders:1.0.2"))
	g.Expect(images["payments/staging"]).To(ConsistOf("registry.example/shop/payments:2.4.0-rc.1"))
	g.Expect(images["payments/production"]).To(ConsistOf("registry.example/shop/payments:2.3.1"))
}

// checkWorkloads checks the Deployments of one render and returns their images: every
// ConfigMap they read is rendered alongside (Kustomize's hashed names resolved), every
// Secret they read is one the cluster holds and is not rendered, and a Deployment an HPA
// scales carries no replica count to fight it with.
func checkWorkloads(t *testing.T, env string, objs []*unstructured.Unstructured) []string {
	t.Helper()
	g := NewWithT(t)
	configMaps := map[string]bool{}
	scaled := map[string]bool{}
	for _, o := range objs {
		switch o.GetKind() {
		case "ConfigMap":
			configMaps[o.GetName()] = true
		case "HorizontalPodAutoscaler":
			hpa := as[autoscalingv2.HorizontalPodAutoscaler](t, o)
			g.Expect(hpa.Spec.ScaleTargetRef.Kind).To(Equal("Deployment"))
			scaled[hpa.Spec.ScaleTargetRef.Name] = true
		}
	}
	var images []string
	secretRefs := map[string][]string{}
	deployments := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		d := as[appsv1.Deployment](t, o)
		deployments[d.Name] = true
		if scaled[d.Name] {
			g.Expect(d.Spec.Replicas).To(BeNil(), "Deployment %s is autoscaled: no replicas in Git", d.Name)
		} else {
			g.Expect(d.Spec.Replicas).NotTo(BeNil(), "Deployment %s is not autoscaled: its replicas are set", d.Name)
		}
		secretRefs[d.Name] = nil
		for _, c := range d.Spec.Template.Spec.Containers {
			images = append(images, c.Image)
			g.Expect(c.Image).To(HavePrefix("registry.example/shop/"))
			for _, from := range c.EnvFrom {
				if from.ConfigMapRef != nil {
					g.Expect(configMaps).To(HaveKey(from.ConfigMapRef.Name), "Deployment %s reads ConfigMap %s", d.Name, from.ConfigMapRef.Name)
				}
				if from.SecretRef != nil {
					secretRefs[d.Name] = append(secretRefs[d.Name], from.SecretRef.Name)
				}
			}
		}
	}
	g.Expect(secretRefs).To(Equal(wantSecretRefs[env]))
	for name := range scaled {
		g.Expect(deployments).To(HaveKey(name), "an HPA scales Deployment %s", name)
	}
	return images
}

// checkDecrypted: the only Secret in Git is each shop environment's orders-db, opened with
// the demo-only key from its SOPS file; none is rendered from a clear file.
func checkDecrypted(t *testing.T, env string, res *render.Result) {
	t.Helper()
	g := NewWithT(t)
	var secrets []string
	for _, o := range res.Objects {
		if o.GetKind() == "Secret" {
			secrets = append(secrets, o.GetName())
			url, _, _ := unstructured.NestedString(o.Object, "stringData", "DATABASE_URL")
			g.Expect(url).To(HavePrefix("postgres://orders:demo-"), "decrypted")
		}
	}
	if !strings.HasPrefix(env, "shop/") {
		g.Expect(secrets).To(BeEmpty(), "secret values belong in Git only encrypted")
		g.Expect(res.Decrypted).To(BeEmpty())
		return
	}
	overlay := strings.TrimPrefix(env, "shop/")
	g.Expect(secrets).To(ConsistOf("orders-db"))
	g.Expect(res.Decrypted).To(ConsistOf("apps/shop/overlays/" + overlay + "/orders-db.enc.yaml"))
	g.Expect(res.Sensitive).NotTo(BeEmpty(), "the decrypted values are known, to be masked")
}

// checkIsolation: every namespace the shop runs in admits traffic from itself only (and
// the ingress controller to the frontend), so staging and previews cannot reach production.
func checkIsolation(t *testing.T, objs []*unstructured.Unstructured, env string) {
	t.Helper()
	if strings.HasPrefix(env, "payments/") {
		return // payments shares the namespaces of the shop, whose policies cover it
	}
	g := NewWithT(t)
	var policy *networkingv1.NetworkPolicy
	for _, o := range objs {
		if o.GetKind() == "NetworkPolicy" && o.GetName() == "same-namespace-only" {
			policy = as[networkingv1.NetworkPolicy](t, o)
		}
	}
	g.Expect(policy).NotTo(BeNil(), "the namespace is isolated")
	g.Expect(policy.Spec.PodSelector.MatchLabels).To(BeEmpty(), "it selects every pod of the namespace")
	g.Expect(policy.Spec.PolicyTypes).To(ConsistOf(networkingv1.PolicyTypeIngress))
	g.Expect(policy.Spec.Ingress).To(HaveLen(1))
	g.Expect(policy.Spec.Ingress[0].From).To(ConsistOf(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}}),
		"a peer without a namespace selector is the policy's own namespace")
}

// TestDeployResourcesAccepted has a real kube-apiserver, with Landfall's CRDs, accept the
// deploy resources in a server-side dry run, and refuse a broken one.
func TestDeployResourcesAccepted(t *testing.T) {
	g := NewWithT(t)
	objs := deployResources(t)
	env, err := cluster.NewEnvtest()
	g.Expect(err).NotTo(HaveOccurred())
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "landfall-system"}})).To(Succeed())

	for _, o := range objs {
		g.Expect(c.Create(ctx, o.DeepCopy(), client.DryRunAll)).To(Succeed(), "%s %s", o.GetKind(), o.GetName())
	}
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(landfallv1.GroupVersion.String())
	list.SetKind("ApplicationList")
	g.Expect(c.List(ctx, list, client.InNamespace("landfall-system"))).To(Succeed())
	g.Expect(list.Items).To(BeEmpty(), "a dry run stores nothing")

	// The dry run does validate: a Repository with two refs is refused.
	for _, o := range objs {
		if o.GetKind() != "Repository" {
			continue
		}
		broken := o.DeepCopy()
		g.Expect(unstructured.SetNestedField(broken.Object, "v1.0.0", "spec", "ref", "tag")).To(Succeed())
		err := c.Create(ctx, broken, client.DryRunAll)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		g.Expect(err.Error()).To(ContainSubstring("exactly one of branch, tag, semver or commit"))
	}
}

// deployResources renders examples/deploy, a Kustomization, as `kubectl apply -k` would see
// it, and checks that everything it names refers to the one Repository.
func deployResources(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	g := NewWithT(t)
	res, err := render.New().Render(context.Background(), render.Input{
		Root: examplesDir, Path: "deploy", Namespace: "landfall-system",
	})
	g.Expect(err).NotTo(HaveOccurred())
	kinds := map[string][]string{}
	for _, o := range res.Objects {
		g.Expect(o.GetAPIVersion()).To(Equal(landfallv1.GroupVersion.String()))
		kinds[o.GetKind()] = append(kinds[o.GetKind()], o.GetName())
		if o.GetKind() != "Repository" {
			ref, _, _ := unstructured.NestedString(o.Object, "spec", "repositoryRef", "name")
			g.Expect(ref).To(Equal("shop-config"), "%s %s", o.GetKind(), o.GetName())
		}
	}
	g.Expect(kinds).To(Equal(map[string][]string{
		"Repository": {"shop-config"}, "Application": {"payments", "shop"}, "Preview": {"shop-previews"},
	}))
	return res.Objects
}

// environments turns the Applications and Previews into render inputs as the controller
// does: the environment's path over the Application's, the release name defaulting to
// the Application's name, inline values over values files. A Preview renders as pull
// request 42 would.
func environments(t *testing.T, objs []*unstructured.Unstructured) []environment {
	t.Helper()
	var envs []environment
	for _, o := range objs {
		switch o.GetKind() {
		case "Application":
			app := as[landfallv1.Application](t, o)
			for _, env := range app.Spec.Environments {
				in := input(t, app.Spec.Path, env.EnvironmentTemplate, env.Namespace, app.Name)
				in.Policy = render.Policy{AllowClusterScoped: app.Spec.AllowClusterScoped, AllowedNamespaces: app.Spec.AllowedNamespaces}
				if app.Spec.Decryption != nil || env.Decryption != nil {
					in.Decryption = demoKey(t)
				}
				envs = append(envs, environment{name: app.Name + "/" + env.Name, in: in})
			}
		case "Preview":
			p := as[landfallv1.Preview](t, o)
			ns := previewNamespace(t, p.Spec.NamespaceTemplate, 42)
			g := NewWithT(t)
			g.Expect(ns).To(Equal("shop-pr-42"))
			envs = append(envs, environment{name: p.Name + "/pr-42", in: input(t, p.Spec.Path, p.Spec.Template, ns, p.Name)})
		}
	}
	return envs
}

func input(t *testing.T, appPath string, tmpl landfallv1.EnvironmentTemplate, namespace, name string) render.Input {
	t.Helper()
	in := render.Input{
		Root: configDir, Path: firstNonEmpty(tmpl.Path, appPath), Namespace: namespace,
		ReleaseName: firstNonEmpty(tmpl.ReleaseName, name), ValuesFiles: tmpl.ValuesFiles,
		KubeVersion: testbin.KubernetesVersion,
	}
	if tmpl.Values != nil {
		if err := json.Unmarshal(tmpl.Values.Raw, &in.Values); err != nil {
			t.Fatalf("values of %s: %v", name, err)
		}
	}
	return in
}

// demoKey is the example's demo-only age key, which the Secret shop-age holds in the demo.
func demoKey(t *testing.T) *decrypt.Keys {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, "demo-only.agekey"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := decrypt.Parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// previewNamespace executes a Preview's namespace template for pull request number.
func previewNamespace(t *testing.T, text string, number int) string {
	t.Helper()
	tmpl, err := template.New("namespace").Option("missingkey=error").Parse(text)
	if err != nil {
		t.Fatalf("namespaceTemplate: %v", err)
	}
	var b bytes.Buffer
	data := struct {
		Number           int
		Branch, ShortSHA string
	}{Number: number, Branch: fmt.Sprintf("pull/%d", number), ShortSHA: "4f2c9e1"}
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatalf("namespaceTemplate: %v", err)
	}
	return b.String()
}

func as[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
		t.Fatalf("converting %s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
