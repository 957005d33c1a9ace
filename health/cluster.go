package health

import (
	"encoding/json"
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

// benignHPAReasons are False conditions that do not make the deployed workload unhealthy:
// a target scaled to zero, a scale held back by the stabilisation window, or metrics the
// autoscaler cannot read yet (no metrics-server, a new target without samples). Rolling
// back a release because the metrics pipeline is missing would punish the wrong thing;
// the workload's own health still gates the rollout.
var benignHPAReasons = map[string]bool{
	"ScalingDisabled":                  true,
	"BackoffBoth":                      true,
	"FailedGetResourceMetric":          true,
	"FailedGetContainerResourceMetric": true,
	"FailedGetPodsMetric":              true,
	"FailedGetObjectMetric":            true,
	"FailedGetExternalMetric":          true,
}

// hpaHealth reads the autoscaler's conditions: AbleToScale False means it cannot read or
// change the target's scale, ScalingActive False that it cannot compute a replica count
// (missing metrics, a bad selector).
func hpaHealth(obj *unstructured.Unstructured) Result {
	conds := conditions(obj)
	if len(conds) == 0 {
		conds = hpaV1Conditions(obj)
	}
	if len(conds) == 0 {
		return Result{Status: Progressing, Message: "waiting for the autoscaler to report"}
	}
	for _, typ := range []string{"AbleToScale", "ScalingActive"} {
		c, ok := findCondition(conds, typ)
		if !ok || c.Status != "False" {
			continue
		}
		if benignHPAReasons[c.Reason] {
			return Result{Status: Healthy, Message: joinNonEmpty(typ+" is False", c.Reason, c.Message)}
		}
		return Result{Status: Degraded, Message: joinNonEmpty(typ+" is False", c.Reason, c.Message)}
	}
	msg := fmt.Sprintf("%d replicas (min %d, max %d)",
		integerOr(obj, 0, "status", "currentReplicas"),
		integerOr(obj, 1, "spec", "minReplicas"),
		integerOr(obj, 0, "spec", "maxReplicas"))
	if c, ok := findCondition(conds, "ScalingLimited"); ok && c.Status == "True" {
		msg += ": " + c.text()
	}
	return Result{Status: Healthy, Message: msg}
}

// hpaV1Conditions reads the conditions that autoscaling/v1 keeps in an annotation, since
// its status has no conditions field.
func hpaV1Conditions(obj *unstructured.Unstructured) []condition {
	raw := obj.GetAnnotations()["autoscaling.alpha.kubernetes.io/conditions"]
	if raw == "" {
		return nil
	}
	var conds []condition
	if err := json.Unmarshal([]byte(raw), &conds); err != nil {
		return nil
	}
	return conds
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
