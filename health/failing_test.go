package health

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestFailingPod(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pods   []string
		failed bool
		msg    string
	}{
		{"crash loop", []string{"pod/healthy-running.yaml", "pod/degraded-crashloop.yaml"}, true, "CrashLoopBackOff"},
		{"image pull back-off", []string{"pod/degraded-imagepullbackoff.yaml"}, true, "ImagePullBackOff"},
		{"image pull error", []string{"pod/degraded-errimagepull.yaml"}, true, "ErrImagePull"},
		{"init container crash loop", []string{"pod/degraded-init-crashloop.yaml"}, true, "CrashLoopBackOff"},
		{"pending and not ready are still starting", []string{"pod/progressing-pending.yaml", "pod/progressing-not-ready.yaml"}, false, ""},
		{"no pods", nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pods []*unstructured.Unstructured
			for _, p := range tc.pods {
				pods = append(pods, load(t, p))
			}
			r, failed := FailingPod(pods)
			if failed != tc.failed || (failed && (r.Status != Degraded || !strings.Contains(r.Message, tc.msg))) {
				t.Fatalf("FailingPod = %+v, %v; want failed=%v with %q", r, failed, tc.failed, tc.msg)
			}
			if failed && !strings.HasPrefix(r.Message, "pod ") {
				t.Fatalf("message %q does not name the pod", r.Message)
			}
		})
	}
}
