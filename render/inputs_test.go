package render

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestUnchanged: a render's Inputs tell, without a render or a cache, whether another
// Input renders the same; a change to anything that shapes the objects is a change.
func TestUnchanged(t *testing.T) {
	root, _ := checkoutCopy(t)
	in := Input{Root: root, Path: "plain/app", Namespace: "shop-plain", Revision: "r1"}
	e := New(WithCacheSize(0))
	res, err := e.Render(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if e.Stats().Renders != 1 {
		t.Fatalf("renders = %d", e.Stats().Renders)
	}
	if !e.Unchanged(in, res.Inputs) {
		t.Fatal("the same Input is a change")
	}
	writeFiles(t, root, map[string]string{"kustomize/base/unrelated.yaml": "x: 1\n"})
	if next := in; !e.Unchanged(next, res.Inputs) {
		t.Error("a file the render never read is a change")
	}
	if e.Stats().Renders != 1 {
		t.Errorf("Unchanged rendered: %d renders", e.Stats().Renders)
	}
	if e.Unchanged(in, Inputs{}) {
		t.Error("the zero Inputs matched")
	}
	changes := map[string]func(in *Input){
		"namespace": func(in *Input) { in.Namespace = "other" },
		"policy":    func(in *Input) { in.Policy.AllowedNamespaces = []string{"*"} },
		"version":   func(in *Input) { in.KubeVersion = "v1.20.0" },
		"values":    func(in *Input) { in.Values = map[string]any{"a": 1} },
		"scope": func(in *Input) {
			in.Scope = func(schema.GroupVersionKind) (bool, bool) { return false, true }
		},
		"content": func(in *Input) {
			writeFiles(t, in.Root, map[string]string{"plain/app/config/settings.json": `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"retries":"9"}}`})
		},
	}
	for name, change := range changes {
		next := in
		change(&next)
		if e.Unchanged(next, res.Inputs) {
			t.Errorf("a change of %s was not noticed", name)
		}
	}
}
