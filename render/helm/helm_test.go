package helm

import (
	"os"
	"regexp"
	"testing"
)

func TestDefaultKubeVersionFollowsGoMod(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/apimachinery v0\.(\d+)\.`).FindSubmatch(data)
	if m == nil {
		t.Fatal("k8s.io/apimachinery not found in go.mod")
	}
	if want := "v1." + string(m[1]) + ".0"; DefaultKubeVersion != want {
		t.Errorf("DefaultKubeVersion = %s, but go.mod builds against Kubernetes %s: update it", DefaultKubeVersion, want)
	}
}

func TestMergeValues(t *testing.T) {
	base := map[string]any{"a": map[string]any{"x": 1, "y": 2}, "b": "keep", "c": map[string]any{"z": 1}}
	over := map[string]any{"a": map[string]any{"y": 3}, "c": "replaced"}
	got := merge(base, over)
	a := got["a"].(map[string]any)
	if a["x"] != 1 || a["y"] != 3 || got["b"] != "keep" || got["c"] != "replaced" {
		t.Errorf("merge = %v", got)
	}
	if base["a"].(map[string]any)["y"] != 2 {
		t.Errorf("merge changed its input: %v", base)
	}
}
