package health

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pvcHealth: a claim is usable once Bound; Lost means its volume is gone.
func pvcHealth(obj *unstructured.Unstructured) Result {
	switch phase := text(obj, "status", "phase"); phase {
	case "Bound":
		return Result{Status: Healthy, Message: "bound to " + text(obj, "spec", "volumeName")}
	case "Lost":
		return Result{Status: Degraded, Message: "the bound volume is lost"}
	default:
		return Result{Status: Progressing, Message: "waiting for a volume to bind"}
	}
}

// apiServiceHealth: an APIService serves once Available. Unavailable usually means its
// backing Service has no ready endpoints yet, so it counts as Progressing and a rollout's
// health timeout decides when waiting has lasted too long.
func apiServiceHealth(obj *unstructured.Unstructured) Result {
	c, ok := findCondition(conditions(obj), "Available")
	switch {
	case !ok:
		return Result{Status: Progressing, Message: "waiting for the Available condition"}
	case c.Status == "True":
		return Result{Status: Healthy, Message: "available"}
	default:
		return Result{Status: Progressing, Message: joinNonEmpty("not available", c.Reason, c.Message)}
	}
}

// crdHealth: a CustomResourceDefinition serves once Established; names that clash with
// another definition are never accepted without a change.
func crdHealth(obj *unstructured.Unstructured) Result {
	conds := conditions(obj)
	if c, ok := findCondition(conds, "NamesAccepted"); ok && c.Status == "False" {
		return Result{Status: Degraded, Message: joinNonEmpty("names not accepted", c.Reason, c.Message)}
	}
	if c, ok := findCondition(conds, "Established"); ok && c.Status == "True" {
		return Result{Status: Healthy, Message: "established"}
	}
	return Result{Status: Progressing, Message: "waiting to be established"}
}

// pdbHealth: a budget is met when enough selected pods are healthy. No disruption being
// allowed is a normal setting (minAvailable equal to replicas), not a failure; a budget
// the controller cannot evaluate (SyncFailed) is.
func pdbHealth(obj *unstructured.Unstructured) Result {
	if r, pending := generationPending(obj); pending {
		return r
	}
	if c, ok := findCondition(conditions(obj), "DisruptionAllowed"); ok && c.Reason == "SyncFailed" {
		return Result{Status: Degraded, Message: joinNonEmpty("budget cannot be evaluated", c.Message)}
	}
	current := integerOr(obj, 0, "status", "currentHealthy")
	desired := integerOr(obj, 0, "status", "desiredHealthy")
	if current < desired {
		return Result{Status: Progressing, Message: fmt.Sprintf("%d of %d pods healthy", current, desired)}
	}
	return Result{Status: Healthy, Message: fmt.Sprintf("%d pods healthy, %d disruptions allowed",
		current, integerOr(obj, 0, "status", "disruptionsAllowed"))}
}
