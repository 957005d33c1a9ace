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

// repeatedFailures is how many failures of one container make a restarting pod Degraded:
// one failure is restarted by the kubelet and may pass (a dependency not up yet, a rare
// crash); a second is where the kubelet itself starts backing off (CrashLoopBackOff).
const repeatedFailures = 2

// podHealth follows the kubelet. Container failures come first because they explain a pod
// that is still Pending or Running. The restart policy decides what a pod means: a Never or
// OnFailure pod is a task, Progressing while it runs and Healthy once it Succeeded; an
// Always pod is a server, Healthy while running and ready, and Degraded if it stopped.
func podHealth(obj *unstructured.Unstructured) Result {
	policy := text(obj, "spec", "restartPolicy")
	if policy == "" {
		policy = "Always"
	}
	phase := text(obj, "status", "phase")
	if phase != "Succeeded" {
		if r, failed := containerFailure(obj, policy); failed {
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
		if policy != "Always" {
			return Result{Status: Progressing, Message: "pod running, not yet completed"}
		}
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

// containerFailure judges the containers, init containers included, that failed: waiting
// for a reason that does not pass by itself is Degraded at once; an exit with an error is
// Degraded when nothing restarts it (restartPolicy Never) or it failed repeatedly, else
// Progressing while the kubelet restarts it. The first Degraded container wins.
func containerFailure(obj *unstructured.Unstructured, policy string) (Result, bool) {
	if r, ok := waitingFailure(obj); ok {
		return r, true
	}
	var restarting *Result
	for _, field := range []string{"initContainerStatuses", "containerStatuses"} {
		statuses, _, _ := unstructured.NestedSlice(obj.Object, "status", field)
		for _, s := range statuses {
			cs, ok := s.(map[string]any)
			if !ok {
				continue
			}
			r, found := containerResult(cs, policy, field == "containerStatuses")
			if found && r.Status == Degraded {
				return r, true
			}
			if found && restarting == nil {
				restarting = &r
			}
		}
	}
	if restarting != nil {
		return *restarting, true
	}
	return Result{}, false
}

// containerResult judges one container status; found is false when it has not failed.
func containerResult(cs map[string]any, policy string, serving bool) (Result, bool) {
	name := str(cs["name"])
	restarts, _ := toInt64(cs["restartCount"])
	if t, ok := nestedMap(cs, "state", "terminated"); ok && failedExit(t) {
		detail := []string{str(t["reason"]), str(t["message"])}
		switch {
		case policy == "Never":
			return Result{Status: Degraded, Message: joinNonEmpty("container "+name+" terminated", detail...)}, true
		case restarts+1 >= repeatedFailures:
			return Result{Status: Degraded, Message: joinNonEmpty(fmt.Sprintf("container %s failed %d times", name, restarts+1), detail...)}, true
		default:
			return Result{Status: Progressing, Message: joinNonEmpty("container "+name+" terminated", append(detail, "restarting")...)}, true
		}
	}
	if _, running := nestedMap(cs, "state", "running"); running && serving && cs["ready"] != true && restarts >= repeatedFailures {
		msg := joinNonEmpty(fmt.Sprintf("container %s restarted %d times and is not ready", name, restarts), lastTermination(cs))
		return Result{Status: Degraded, Message: msg}, true
	}
	return Result{}, false
}

func failedExit(t map[string]any) bool {
	code, _ := toInt64(t["exitCode"])
	return code != 0 || str(t["reason"]) == "Error"
}

// lastTermination is the reason the container last stopped, if the kubelet kept it.
func lastTermination(cs map[string]any) string {
	t, ok := nestedMap(cs, "lastState", "terminated")
	if !ok {
		return ""
	}
	return firstNonEmpty(str(t["reason"]), str(t["message"]))
}

// notReady lists the containers that are not ready, for the message of a Running pod, with
// the restart a container is recovering from.
func notReady(obj *unstructured.Unstructured) string {
	statuses, _, _ := unstructured.NestedSlice(obj.Object, "status", "containerStatuses")
	var names []string
	for _, s := range statuses {
		cs, ok := s.(map[string]any)
		if !ok || cs["ready"] == true {
			continue
		}
		name := str(cs["name"])
		if restarts, _ := toInt64(cs["restartCount"]); restarts == 1 {
			name += " (" + joinNonEmpty("restarted once", lastTermination(cs)) + ")"
		}
		names = append(names, name)
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
