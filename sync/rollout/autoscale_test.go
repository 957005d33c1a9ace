package rollout

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/landfall-dev/landfall/health"
)

// autoscaled is a Deployment rendered without spec.replicas, as an autoscaled one is.
func autoscaled(name, image string) *unstructured.Unstructured {
	d := deployment(name, image, 0)
	unstructured.RemoveNestedField(d.Object, "spec", "replicas")
	return d
}

func hpa(target string, minReplicas, maxReplicas int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
		"metadata": map[string]any{"name": target, "namespace": "shop"},
		"spec": map[string]any{
			"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
			// As YAML decoded through JSON types them.
			"minReplicas": float64(minReplicas), "maxReplicas": float64(maxReplicas),
		},
	}}
}

func bounds(h *unstructured.Unstructured) [2]int64 {
	lo, _ := health.Integer(h, "spec", "minReplicas")
	hi, _ := health.Integer(h, "spec", "maxReplicas")
	return [2]int64{lo, hi}
}

// TestCanaryOfAutoscaledDeployment: the total of a Deployment without spec.replicas is
// its live count, not the default of one, whatever that count is; the autoscaler
// targeting it is held at the stable's share so it does not scale the stable back up.
func TestCanaryOfAutoscaledDeployment(t *testing.T) {
	stable := []*unstructured.Unstructured{autoscaled("web", "web:v1"), hpa("web", 3, 12)}
	next := []*unstructured.Unstructured{autoscaled("web", "web:v2"), hpa("web", 3, 12)}
	for _, tc := range []struct {
		live           int32
		weight         int32
		canary, stable int32
		hpa            [2]int64
	}{
		{live: 4, weight: 25, canary: 1, stable: 3, hpa: [2]int64{3, 3}},
		{live: 4, weight: 50, canary: 2, stable: 2, hpa: [2]int64{2, 2}},
		{live: 8, weight: 25, canary: 2, stable: 6, hpa: [2]int64{6, 6}},
		{live: 1, weight: 50, canary: 1, stable: 0, hpa: [2]int64{1, 1}}, // an autoscaler leaves a target at zero alone
	} {
		out, err := CanaryObjects(stable, next, tc.weight, Live{LiveKey("shop", "web"): {Stable: tc.live - 1, Canary: 1}})
		if err != nil {
			t.Fatal(err)
		}
		got := byName(out)
		if c, s := replicasOf(got["Deployment/web-canary"]), replicasOf(got["Deployment/web"]); c != tc.canary || s != tc.stable {
			t.Errorf("live %d at %d%%: canary %d / stable %d, want %d / %d", tc.live, tc.weight, c, s, tc.canary, tc.stable)
		}
		if b := bounds(got["HorizontalPodAutoscaler/web"]); b != tc.hpa {
			t.Errorf("live %d at %d%%: autoscaler range %v, want %v", tc.live, tc.weight, b, tc.hpa)
		}
	}
	if bounds(next[1]) != [2]int64{3, 12} || hasReplicas(next[0]) {
		t.Error("CanaryObjects changed its input")
	}
}

// TestWithLiveReplicas: an autoscaled Deployment whose canary is being removed is applied
// at the total the two run; one without a canary, one with a count in Git and one not
// yet live keep what they have. Counted names the autoscaled ones given a count.
func TestWithLiveReplicas(t *testing.T) {
	next := []*unstructured.Unstructured{autoscaled("web", "web:v2"), deployment("api", "api:v1", 2), autoscaled("new", "new:v1"),
		autoscaled("idle", "idle:v1")}
	out := WithLiveReplicas(next, Live{LiveKey("shop", "web"): {Stable: 2, Canary: 2}, LiveKey("shop", "api"): {Stable: 7, Canary: 1},
		LiveKey("shop", "idle"): {Stable: 5}})
	got := byName(out)
	if !hasReplicas(got["Deployment/web"]) || replicasOf(got["Deployment/web"]) != 4 {
		t.Errorf("web: %v, want the live total 4", got["Deployment/web"].Object["spec"])
	}
	if replicasOf(got["Deployment/api"]) != 2 {
		t.Errorf("api: %d replicas, want Git's 2", replicasOf(got["Deployment/api"]))
	}
	if hasReplicas(got["Deployment/new"]) || hasReplicas(got["Deployment/idle"]) {
		t.Error("a Deployment not live, or without a canary, got a count: its autoscaler keeps it")
	}
	if hasReplicas(next[0]) {
		t.Error("WithLiveReplicas changed its input")
	}
	if c := Counted(next, out); len(c) != 1 || !c[LiveKey("shop", "web")] {
		t.Errorf("Counted = %v, want web alone", c)
	}
}
