package health

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// deploymentHealth follows the Deployment controller: a rollout is complete when the
// current generation is observed and every wanted replica is updated and available with no
// old replica left. The progress deadline is the controller's own verdict of failure.
func deploymentHealth(obj *unstructured.Unstructured) Result {
	if boolean(obj, "spec", "paused") {
		return Result{Status: Suspended, Message: "rollout is paused"}
	}
	if r, pending := generationPending(obj); pending {
		return r
	}
	conds := conditions(obj)
	if c, ok := findCondition(conds, "Progressing"); ok && c.Reason == "ProgressDeadlineExceeded" {
		return Result{Status: Degraded, Message: "progress deadline exceeded: " + c.text()}
	}
	want := integerOr(obj, 1, "spec", "replicas")
	total := integerOr(obj, 0, "status", "replicas")
	updated := integerOr(obj, 0, "status", "updatedReplicas")
	available := integerOr(obj, 0, "status", "availableReplicas")
	var msg string
	switch {
	case updated < want:
		msg = fmt.Sprintf("%d of %d replicas updated", updated, want)
	case total > updated:
		msg = fmt.Sprintf("%d old replicas pending termination", total-updated)
	case available < updated:
		msg = fmt.Sprintf("%d of %d updated replicas available", available, updated)
	default:
		return Result{Status: Healthy, Message: fmt.Sprintf("%d of %d replicas available", available, want)}
	}
	// A failure to create pods (quota, admission) is transient until the progress deadline
	// says otherwise, but it is the most useful thing to tell the reader.
	if c, ok := findCondition(conds, "ReplicaFailure"); ok && c.Status == "True" {
		msg += ": " + c.text()
	}
	return Result{Status: Progressing, Message: msg}
}

// replicaSetHealth: a ReplicaSet has no progress deadline, so ReplicaFailure is the only
// failure its controller reports and it counts as Degraded.
func replicaSetHealth(obj *unstructured.Unstructured) Result {
	if r, pending := generationPending(obj); pending {
		return r
	}
	if c, ok := findCondition(conditions(obj), "ReplicaFailure"); ok && c.Status == "True" {
		return Result{Status: Degraded, Message: c.text()}
	}
	want := integerOr(obj, 1, "spec", "replicas")
	available := integerOr(obj, 0, "status", "availableReplicas")
	if available < want {
		return Result{Status: Progressing, Message: fmt.Sprintf("%d of %d replicas available", available, want)}
	}
	return Result{Status: Healthy, Message: fmt.Sprintf("%d of %d replicas available", available, want)}
}

// statefulSetHealth follows the StatefulSet controller. With OnDelete, pods take a new
// revision only when deleted, so a revision mismatch is expected and not a rollout in
// progress. With a partition, only ordinals at or above it are updated.
func statefulSetHealth(obj *unstructured.Unstructured) Result {
	if r, pending := generationPending(obj); pending {
		return r
	}
	want := integerOr(obj, 1, "spec", "replicas")
	ready := integerOr(obj, 0, "status", "readyReplicas")
	if avail, ok := Integer(obj, "status", "availableReplicas"); ok && avail < ready {
		ready = avail // minReadySeconds not yet passed
	}
	if ready < want {
		return Result{Status: Progressing, Message: fmt.Sprintf("%d of %d pods ready", ready, want)}
	}
	if total := integerOr(obj, 0, "status", "replicas"); total > want {
		return Result{Status: Progressing, Message: fmt.Sprintf("scaling down: %d pods, %d wanted", total, want)}
	}
	updated := integerOr(obj, 0, "status", "updatedReplicas")
	if text(obj, "spec", "updateStrategy", "type") == "OnDelete" {
		return Result{Status: Healthy, Message: fmt.Sprintf(
			"%d of %d pods ready, %d on the newest revision (OnDelete: pods update when deleted)", ready, want, updated)}
	}
	if partition := integerOr(obj, 0, "spec", "updateStrategy", "rollingUpdate", "partition"); partition > 0 {
		target := max(want-partition, 0)
		if updated < target {
			return Result{Status: Progressing, Message: fmt.Sprintf(
				"partitioned rollout: %d of %d pods updated", updated, target)}
		}
		return Result{Status: Healthy, Message: fmt.Sprintf(
			"partitioned rollout complete: %d pods updated, ordinals below %d kept", updated, partition)}
	}
	if updated < want || text(obj, "status", "updateRevision") != text(obj, "status", "currentRevision") {
		return Result{Status: Progressing, Message: fmt.Sprintf("rolling update: %d of %d pods updated", updated, want)}
	}
	return Result{Status: Healthy, Message: fmt.Sprintf("%d of %d pods ready", ready, want)}
}

// daemonSetHealth follows the DaemonSet controller: every node that should run a pod runs
// an updated, available one. With OnDelete only availability counts.
func daemonSetHealth(obj *unstructured.Unstructured) Result {
	if r, pending := generationPending(obj); pending {
		return r
	}
	desired := integerOr(obj, 0, "status", "desiredNumberScheduled")
	available := integerOr(obj, 0, "status", "numberAvailable")
	if text(obj, "spec", "updateStrategy", "type") != "OnDelete" {
		if updated := integerOr(obj, 0, "status", "updatedNumberScheduled"); updated < desired {
			return Result{Status: Progressing, Message: fmt.Sprintf("%d of %d nodes updated", updated, desired)}
		}
	}
	if available < desired {
		return Result{Status: Progressing, Message: fmt.Sprintf("%d of %d pods available", available, desired)}
	}
	return Result{Status: Healthy, Message: fmt.Sprintf("%d of %d pods available", available, desired)}
}
