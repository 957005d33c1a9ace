package rollout

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func deployment(name, image string, replicas int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": "shop"},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": name}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": image}}},
			},
		},
	}}
}

func configMap(name, value string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": "shop"}, "data": map[string]any{"v": value},
	}}
}

func byName(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		m[o.GetKind()+"/"+o.GetName()] = o
	}
	return m
}

func TestCanaryObjects(t *testing.T) {
	stable := []*unstructured.Unstructured{deployment("web", "web:v1", 4), deployment("api", "api:v1", 2),
		configMap("old", "x"), configMap("cfg", "1")}
	next := []*unstructured.Unstructured{deployment("web", "web:v2", 4), deployment("api", "api:v1", 2), configMap("cfg", "2")}

	out, err := CanaryObjects(stable, next, 25, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(out)
	if len(out) != 5 {
		t.Fatalf("got %d objects, want web, web-canary, api, cfg and old: %v", len(out), got)
	}
	web, canary := got["Deployment/web"], got["Deployment/web-canary"]
	if r := replicasOf(web); r != 3 {
		t.Errorf("stable web has %d replicas, want 3", r)
	}
	if r := replicasOf(canary); r != 1 {
		t.Errorf("canary has %d replicas, want 1", r)
	}
	img, _, _ := unstructured.NestedSlice(web.Object, "spec", "template", "spec", "containers")
	if img[0].(map[string]any)["image"] != "web:v1" {
		t.Errorf("stable web runs %v, want web:v1", img[0])
	}
	img, _, _ = unstructured.NestedSlice(canary.Object, "spec", "template", "spec", "containers")
	if img[0].(map[string]any)["image"] != "web:v2" {
		t.Errorf("canary runs %v, want web:v2", img[0])
	}
	sel, _, _ := unstructured.NestedStringMap(canary.Object, "spec", "selector", "matchLabels")
	labels, _, _ := unstructured.NestedStringMap(canary.Object, "spec", "template", "metadata", "labels")
	if sel[CanaryLabel] != "true" || labels[CanaryLabel] != "true" || labels["app"] != "web" {
		t.Errorf("canary selector %v / labels %v: want the app label kept and the canary label added", sel, labels)
	}
	if _, ok := got["Deployment/api-canary"]; ok {
		t.Error("an unchanged Deployment got a canary")
	}
	if v, _, _ := unstructured.NestedString(got["ConfigMap/cfg"].Object, "data", "v"); v != "2" {
		t.Errorf("other objects take the new revision; cfg = %q", v)
	}
	if _, ok := got["ConfigMap/old"]; !ok {
		t.Error("objects only the stable revision has must stay until promotion")
	}
	// The inputs are untouched.
	if replicasOf(stable[0]) != 4 || len(stable) != 4 {
		t.Error("CanaryObjects changed its input")
	}
}

func TestCanaryObjectsFullWeight(t *testing.T) {
	next := []*unstructured.Unstructured{deployment("web", "web:v2", 4)}
	out, err := CanaryObjects([]*unstructured.Unstructured{deployment("web", "web:v1", 4)}, next, 100, nil)
	if err != nil || len(out) != 1 || out[0] != next[0] {
		t.Fatalf("weight 100 must return next as is: %v, %v", out, err)
	}
}
