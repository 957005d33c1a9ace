package health

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// failingWaitReasons are the kubelet's reasons for a container that cannot start and will
// not without a change: a bad image, a crash loop, missing configuration.
var failingWaitReasons = map[string]bool{
	"CrashLoopBackOff":           true,
	"ImagePullBackOff":           true,
	"ErrImagePull":               true,
	"ErrImageNeverPull":          true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// podHealth follows the kubelet. Container failures come first because they explain a pod
// that is still Pending or Running. The restart policy decides what a finished pod means:
// a Never or OnFailure pod that Succeeded did its job, an Always pod that stopped did not.
func podHealth(obj *unstructured.Unstructured) Result {
	policy := text(obj, "spec", "restartPolicy")
	if policy == "" {
		policy = "Always"
	}
	phase := text(obj, "status", "phase")
	if phase != "Succeeded" {
		if r, failed := containerFailure(obj); failed {
			return r
		}
	}
	switch phase {
	case "Succeeded":
		if policy == "Always" {
			return Result{Status: Degraded, Message: "pod exited although its restartPolicy is Always"}
		}
		return Result{Status: Healthy, Message: "pod completed"}
	case "Failed":
		return Result{Status: Degraded, Message: joinNonEmpty("pod failed", text(obj, "status", "reason"), text(obj, "status", "message"))}
	case "Running":
		if c, ok := findCondition(conditions(obj), "Ready"); ok && c.Status == "True" {
			return Result{Status: Healthy, Message: "pod running and ready"}
		}
		return Result{Status: Progressing, Message: "pod running, " + notReady(obj)}
	case "Pending", "":
		if c, ok := findCondition(conditions(obj), "PodScheduled"); ok && c.Status == "False" {
			return Result{Status: Progressing, Message: joinNonEmpty("pod not scheduled", c.Reason, c.Message)}
		}
		return Result{Status: Progressing, Message: "pod pending"}
	default:
		return Result{Status: Unknown, Message: fmt.Sprintf("pod phase %s", phase)}
	}
}

// containerFailure finds the first container, init containers included, that is stuck
// failing or has exited with an error.
func containerFailure(obj *unstructured.Unstructured) (Result, bool) {
	if r, ok := waitingFailure(obj); ok {
		return r, true
	}
	for _, field := range []string{"initContainerStatuses", "containerStatuses"} {
		statuses, _, _ := unstructured.NestedSlice(obj.Object, "status", field)
		for _, s := range statuses {
			cs, ok := s.(map[string]any)
			if !ok {
				continue
			}
			name := str(cs["name"])
			if t, ok := nestedMap(cs, "state", "terminated"); ok {
				if code, _ := toInt64(t["exitCode"]); code != 0 || str(t["reason"]) == "Error" {
					msg := joinNonEmpty("container "+name+" terminated", str(t["reason"]), str(t["message"]))
					return Result{Status: Degraded, Message: msg}, true
				}
			}
		}
	}
	return Result{}, false
}

// notReady lists the containers that are not ready, for the message of a Running pod.
func notReady(obj *unstructured.Unstructured) string {
	statuses, _, _ := unstructured.NestedSlice(obj.Object, "status", "containerStatuses")
	var names []string
	for _, s := range statuses {
		cs, ok := s.(map[string]any)
		if ok && cs["ready"] != true {
			names = append(names, str(cs["name"]))
		}
	}
	if len(names) == 0 {
		return "not ready"
	}
	return "containers not ready: " + strings.Join(names, ", ")
}

func nestedMap(m map[string]any, path ...string) (map[string]any, bool) {
	v, found, err := unstructured.NestedFieldNoCopy(m, path...)
	if err != nil || !found {
		return nil, false
	}
	out, ok := v.(map[string]any)
	return out, ok
}

// joinNonEmpty joins a subject and its details as "subject: a: b", skipping empty details.
func joinNonEmpty(subject string, details ...string) string {
	parts := []string{subject}
	for _, d := range details {
		if d != "" {
			parts = append(parts, d)
		}
	}
	return strings.Join(parts, ": ")
}
