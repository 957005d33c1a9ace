package health

import (
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// customHealth judges kinds without built-in rules, custom resources above all, with
// kstatus: the Ready, Reconciling and Stalled conditions and observedGeneration. A
// spec.suspend of true — the convention of Flux and of Landfall's own kinds — is Suspended.
func customHealth(obj *unstructured.Unstructured) Result {
	if boolean(obj, "spec", "suspend") {
		return Result{Status: Suspended, Message: "suspended"}
	}
	res, err := kstatus.Compute(obj)
	if err != nil {
		return Result{Status: Unknown, Message: "cannot read status: " + err.Error()}
	}
	switch res.Status {
	case kstatus.CurrentStatus:
		return Result{Status: Healthy, Message: res.Message}
	case kstatus.InProgressStatus, kstatus.TerminatingStatus:
		return Result{Status: Progressing, Message: res.Message}
	case kstatus.FailedStatus:
		return Result{Status: Degraded, Message: res.Message}
	default:
		return Result{Status: Unknown, Message: res.Message}
	}
}
