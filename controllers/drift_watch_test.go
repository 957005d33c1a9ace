package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestChangedBySomeone(t *testing.T) {
	meta := func(gen int64, rv string, ann map[string]string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Generation: gen, ResourceVersion: rv, Annotations: ann}}
	}
	owner := map[string]string{"landfall.dev/owner": "ns/app/env"}
	withRevision := map[string]string{"landfall.dev/owner": "ns/app/env", "deployment.kubernetes.io/revision": "2"}
	tests := []struct {
		name     string
		old, new *metav1.PartialObjectMetadata
		want     bool
	}{
		{"status only", meta(1, "1", owner), meta(1, "2", owner), false},
		{"the Deployment controller's revision counter", meta(1, "1", owner), meta(1, "2", withRevision), false},
		{"spec changed (kubectl scale)", meta(1, "1", owner), meta(2, "2", owner), true},
		{"annotation removed by hand", meta(1, "1", owner), meta(1, "2", nil), true},
		{"kind without generation (ConfigMap) edited", meta(0, "1", owner), meta(0, "2", owner), true},
	}
	for _, tc := range tests {
		if got := changedBySomeone(tc.old, tc.new); got != tc.want {
			t.Errorf("%s: changedBySomeone = %v, want %v", tc.name, got, tc.want)
		}
	}
}
