package health

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// jobHealth follows the Job controller's terminal conditions. FailureTarget and
// SuccessCriteriaMet are set before Failed and Complete while pods are still being
// terminated; the outcome is already decided, so they count as the final state.
func jobHealth(obj *unstructured.Unstructured) Result {
	conds := conditions(obj)
	for _, typ := range []string{"Failed", "FailureTarget"} {
		if c, ok := findCondition(conds, typ); ok && c.Status == "True" {
			return Result{Status: Degraded, Message: joinNonEmpty("job failed", c.Reason, c.Message)}
		}
	}
	for _, typ := range []string{"Complete", "SuccessCriteriaMet"} {
		if c, ok := findCondition(conds, typ); ok && c.Status == "True" {
			return Result{Status: Healthy, Message: "job completed"}
		}
	}
	if boolean(obj, "spec", "suspend") {
		return Result{Status: Suspended, Message: "job is suspended"}
	}
	active := integerOr(obj, 0, "status", "active")
	succeeded := integerOr(obj, 0, "status", "succeeded")
	failed := integerOr(obj, 0, "status", "failed")
	return Result{Status: Progressing, Message: fmt.Sprintf(
		"job running: %d active, %d succeeded, %d failed", active, succeeded, failed)}
}

// cronJobHealth: a CronJob is healthy between runs. Its last run failed when it was
// scheduled after the last success and no Job of it is still running; Suspended when its
// schedule is off.
func cronJobHealth(obj *unstructured.Unstructured) Result {
	if boolean(obj, "spec", "suspend") {
		return Result{Status: Suspended, Message: "schedule is suspended"}
	}
	active, _, _ := unstructured.NestedSlice(obj.Object, "status", "active")
	if len(active) > 0 {
		return Result{Status: Healthy, Message: fmt.Sprintf("%d job(s) running", len(active))}
	}
	scheduled, hasScheduled := timestamp(obj, "status", "lastScheduleTime")
	succeeded, hasSucceeded := timestamp(obj, "status", "lastSuccessfulTime")
	switch {
	case !hasScheduled:
		return Result{Status: Healthy, Message: "not yet scheduled"}
	case !hasSucceeded || scheduled.After(succeeded):
		return Result{Status: Degraded, Message: "the job scheduled at " + scheduled.UTC().Format(time.RFC3339) + " did not succeed"}
	default:
		return Result{Status: Healthy, Message: "last run succeeded at " + succeeded.UTC().Format(time.RFC3339)}
	}
}

// timestamp reads an RFC 3339 time at path.
func timestamp(obj *unstructured.Unstructured, path ...string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, text(obj, path...))
	return t, err == nil
}
