package render

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func obj(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion(apiVersion)
	o.SetKind(kind)
	o.SetNamespace(namespace)
	o.SetName(name)
	return o
}

func crd(group, kind, scope string) *unstructured.Unstructured {
	o := obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", kind+"s."+group)
	o.Object["spec"] = map[string]any{"group": group, "scope": scope, "names": map[string]any{"kind": kind}}
	return o
}

func TestSettleNamespaces(t *testing.T) {
	clusterWidgets := func(gvk schema.GroupVersionKind) (bool, bool) {
		if gvk.Kind == "Widget" {
			return false, true
		}
		return false, false
	}
	cases := []struct {
		name    string
		obj     *unstructured.Unstructured
		extra   []*unstructured.Unstructured
		policy  Policy
		scope   ScopeFunc
		wantNS  string
		wantErr error
	}{
		{name: "namespaced without namespace gets the target", obj: obj("v1", "ConfigMap", "", "c"), wantNS: "shop"},
		{name: "namespaced in the target", obj: obj("apps/v1", "Deployment", "shop", "d"), wantNS: "shop"},
		{name: "namespaced elsewhere", obj: obj("v1", "ConfigMap", "other", "c"), wantErr: ErrNamespaceNotAllowed},
		{name: "namespaced in an allowed namespace", obj: obj("v1", "ConfigMap", "other", "c"),
			policy: Policy{AllowedNamespaces: []string{"other"}}, wantNS: "other"},
		{name: "any namespace allowed", obj: obj("v1", "ConfigMap", "kube-system", "c"),
			policy: Policy{AllowedNamespaces: []string{"*"}}, wantNS: "kube-system"},
		{name: "cluster-scoped refused", obj: obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "r"), wantErr: ErrClusterScopedNotAllowed},
		{name: "cluster-scoped allowed loses its namespace", obj: obj("storage.k8s.io/v1", "StorageClass", "shop", "fast"),
			policy: Policy{AllowClusterScoped: true}, wantNS: ""},
		{name: "the target Namespace itself is allowed", obj: obj("v1", "Namespace", "", "shop"), wantNS: ""},
		{name: "another Namespace is not", obj: obj("v1", "Namespace", "", "kube-system"), wantErr: ErrClusterScopedNotAllowed},
		{name: "an allowed Namespace is", obj: obj("v1", "Namespace", "", "other"),
			policy: Policy{AllowedNamespaces: []string{"other"}}, wantNS: ""},
		{name: "unknown kinds are namespaced", obj: obj("example.com/v1", "Widget", "", "w"), wantNS: "shop"},
		{name: "the scope lookup decides", obj: obj("example.com/v1", "Widget", "", "w"), scope: clusterWidgets,
			wantErr: ErrClusterScopedNotAllowed},
		{name: "a cluster-scoped CRD in the render decides", obj: obj("example.com/v1", "Widget", "", "w"),
			extra:  []*unstructured.Unstructured{crd("example.com", "Widget", "Cluster")},
			policy: Policy{AllowClusterScoped: true}, wantNS: ""},
		{name: "a namespaced CRD in the render decides", obj: obj("example.com/v1", "Gadget", "", "g"),
			extra:  []*unstructured.Unstructured{crd("example.com", "Gadget", "Namespaced")},
			policy: Policy{AllowClusterScoped: true}, wantNS: "shop"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := append([]*unstructured.Unstructured{c.obj}, c.extra...)
			_, err := settleNamespaces(objs, Input{Namespace: "shop", Policy: c.policy, Scope: c.scope})
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), c.obj.GetName()) {
					t.Errorf("error %q does not name the object", err)
				}
				return
			}
			if got := c.obj.GetNamespace(); got != c.wantNS {
				t.Errorf("namespace = %q, want %q", got, c.wantNS)
			}
		})
	}
}

func TestSettleNamespacesCapsTheErrorList(t *testing.T) {
	var objs []*unstructured.Unstructured
	for i := range 15 {
		objs = append(objs, obj("v1", "ConfigMap", "other", string(rune('a'+i))))
	}
	_, err := settleNamespaces(objs, Input{Namespace: "shop"})
	if err == nil || !strings.Contains(err.Error(), "and 5 more") || strings.Count(err.Error(), "\n") != 10 {
		t.Errorf("err = %v, want 10 errors and a count of the rest", err)
	}
}

func TestSortAndDuplicates(t *testing.T) {
	objs := []*unstructured.Unstructured{
		obj("apps/v1", "Deployment", "shop", "b"),
		obj("v1", "ConfigMap", "shop", "z"),
		crd("example.com", "Widget", "Namespaced"),
		obj("apps/v1", "Deployment", "shop", "a"),
		obj("v1", "Namespace", "", "shop"),
	}
	sortObjects(objs)
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	want := "Namespace/shop,CustomResourceDefinition/Widgets.example.com,ConfigMap/z,Deployment/a,Deployment/b"
	if strings.Join(got, ",") != want {
		t.Errorf("order = %v, want %s", got, want)
	}
	if err := checkDuplicates(objs); err != nil {
		t.Errorf("no duplicates, got %v", err)
	}
	dup := append(objs, obj("apps/v2", "Deployment", "shop", "a")) // another version, same object
	sortObjects(dup)
	if err := checkDuplicates(dup); !errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), "Deployment.apps shop/a") {
		t.Errorf("err = %v, want a duplicate naming Deployment.apps shop/a", err)
	}
}

// Unscoped is kustomize build: nothing is defaulted or refused, and what an environment would
// refuse is only reported.
func TestSettleNamespacesUnscoped(t *testing.T) {
	bare := obj("v1", "ConfigMap", "", "bare")
	dev := obj("v1", "ConfigMap", "dev", "settings")
	objs := []*unstructured.Unstructured{bare, dev, obj("v1", "Namespace", "", "dev"),
		obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "admin")}
	warnings, err := settleNamespaces(objs, Input{Unscoped: true})
	if err != nil {
		t.Fatal(err)
	}
	if bare.GetNamespace() != "" || dev.GetNamespace() != "dev" {
		t.Errorf("namespaces = %q, %q; want them as rendered", bare.GetNamespace(), dev.GetNamespace())
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "ClusterRole admin: cluster-scoped") {
		t.Errorf("warnings = %q, want only the ClusterRole", warnings)
	}

	objs = append(objs, obj("v1", "ConfigMap", "prod", "settings"))
	warnings, _ = settleNamespaces(objs, Input{Unscoped: true, Policy: Policy{AllowClusterScoped: true}})
	if len(warnings) != 1 || !strings.Contains(warnings[0], "2 namespaces [dev prod]") {
		t.Errorf("warnings = %q, want the two namespaces named", warnings)
	}
}
