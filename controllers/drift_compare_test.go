package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/landfall-dev/landfall/sync/inventory"
)

// TestPeriodicComparison: the periodic comparison skips unchanged and status-only objects
// and finds edits, deletions and an environment it has no baseline for.
func TestPeriodicComparison(t *testing.T) {
	obj := func(gen int64, rv string, labels map[string]string) fingerprint {
		return fingerprintOf(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Generation: gen, ResourceVersion: rv, Labels: labels}})
	}
	web := inventory.ObjMetadata{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	cfg := inventory.ObjMetadata{Kind: "ConfigMap", Namespace: "shop", Name: "web-config"}
	inv, err := inventory.New(inventory.Entry{ObjMetadata: web, Version: "v1"}, inventory.Entry{ObjMetadata: cfg, Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	managed := map[string]string{"landfall.dev/managed": "true"}
	base := liveSnapshot{web: obj(3, "10", managed), cfg: obj(0, "11", managed)}
	tests := []struct {
		name string
		now  liveSnapshot
		want bool
	}{
		{"unchanged", liveSnapshot{web: obj(3, "10", managed), cfg: obj(0, "11", managed)}, false},
		{"status only", liveSnapshot{web: obj(3, "25", managed), cfg: obj(0, "11", managed)}, false},
		{"Deployment controller bookkeeping", liveSnapshot{web: fingerprintOf(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Generation: 3, ResourceVersion: "26", Labels: managed, Annotations: map[string]string{"deployment.kubernetes.io/revision": "4"}}}),
			cfg: obj(0, "11", managed)}, false},
		{"spec edited", liveSnapshot{web: obj(4, "26", managed), cfg: obj(0, "11", managed)}, true},
		{"labels edited", liveSnapshot{web: obj(3, "27", map[string]string{"x": "y"}), cfg: obj(0, "11", managed)}, true},
		{"no generation, data edited", liveSnapshot{web: obj(3, "10", managed), cfg: obj(0, "12", managed)}, true},
		{"deleted", liveSnapshot{web: obj(3, "10", managed)}, true},
	}
	for _, tc := range tests {
		if got := base.differs(tc.now, inv); got != tc.want {
			t.Errorf("%s: differs = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !liveSnapshot(nil).differs(base, inv) {
		t.Error("without a baseline the environment must be compared in full")
	}
}
