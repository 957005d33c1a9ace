package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FailingPod returns the first pod among pods with a container that cannot start and will
// not without a change (CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
// CreateContainerConfigError, …), as Degraded. A workload's own status only says its pods
// are not ready, and its controller gives up only at the progress deadline (ten minutes
// by default); its new pods say why at once. A container that exited once is not enough:
// the kubelet restarts it, and only the back-off says it keeps failing.
func FailingPod(pods []*unstructured.Unstructured) (Result, bool) {
	for _, p := range pods {
		if text(p, "status", "phase") == "Succeeded" {
			continue
		}
		if r, ok := waitingFailure(p); ok {
			r.Message = "pod " + p.GetName() + ": " + r.Message
			return r, true
		}
	}
	return Result{}, false
}

// waitingFailure finds a container, init containers included, waiting for a reason that
// does not pass by itself.
func waitingFailure(obj *unstructured.Unstructured) (Result, bool) {
	for _, field := range []string{"initContainerStatuses", "containerStatuses"} {
		statuses, _, _ := unstructured.NestedSlice(obj.Object, "status", field)
		for _, s := range statuses {
			cs, ok := s.(map[string]any)
			if !ok {
				continue
			}
			if w, ok := nestedMap(cs, "state", "waiting"); ok && failingWaitReasons[str(w["reason"])] {
				return Result{Status: Degraded, Message: joinNonEmpty("container "+str(cs["name"]), str(w["reason"]), str(w["message"]))}, true
			}
		}
	}
	return Result{}, false
}
