package health

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// settledHPAReasons are False conditions of an autoscaler that is working as asked: a
// target scaled to zero on purpose, or a scale held back by the stabilisation window.
var settledHPAReasons = map[string]bool{
	"ScalingDisabled":  true,
	"BackoffBoth":      true,
	"BackoffDownscale": true,
	"BackoffUpscale":   true,
}

// gatheringMetrics are the words of the autoscaler's metrics clients when the metrics
// pipeline answers but has no sample yet for the target's pods: new or unready pods are
// scraped within a minute or two, and while a rollout replaces every pod the samples may
// still name only the pods just deleted ("matched known pods"). Any other failure to read
// a metric (no metrics API at all, a container without a CPU request, an unknown custom
// metric) does not pass by itself.
var gatheringMetrics = []string{
	"no metrics returned from",
	"did not receive metrics for targeted pods",
	"no pods returned by selector",
	"no metrics returned matched known pods",
}

// hpaHealth reads the autoscaler's conditions, from status (v2) or, for autoscaling/v1,
// from the annotation its status has no field for. AbleToScale False means it cannot read
// or change the target's scale; ScalingActive False that it cannot compute a replica count.
// Both are Degraded — an autoscaler that cannot scale leaves the workload at whatever size
// it has under load — except while metrics for new pods are still being gathered
// (Progressing), and the settled reasons above.
func hpaHealth(obj *unstructured.Unstructured) Result {
	conds := conditions(obj)
	if len(conds) == 0 {
		conds = hpaV1Conditions(obj)
	}
	if len(conds) == 0 {
		return Result{Status: Progressing, Message: "waiting for the autoscaler to report"}
	}
	if c, ok := findCondition(conds, "AbleToScale"); ok && c.Status == "False" && !settledHPAReasons[c.Reason] {
		return Result{Status: Degraded, Message: joinNonEmpty("cannot scale", c.Reason, c.Message)}
	}
	if c, ok := findCondition(conds, "ScalingActive"); ok && c.Status == "False" && !settledHPAReasons[c.Reason] {
		if strings.HasPrefix(c.Reason, "FailedGet") && strings.HasSuffix(c.Reason, "Metric") {
			if gathering(c.Message) {
				return Result{Status: Progressing, Message: joinNonEmpty("gathering metrics", metricsDetail(c.Message))}
			}
			return Result{Status: Degraded, Message: joinNonEmpty("cannot fetch metrics", c.Reason, c.Message)}
		}
		return Result{Status: Degraded, Message: joinNonEmpty("cannot compute a replica count", c.Reason, c.Message)}
	}
	msg := fmt.Sprintf("%d replicas (min %d, max %d)",
		integerOr(obj, 0, "status", "currentReplicas"),
		integerOr(obj, 1, "spec", "minReplicas"),
		integerOr(obj, 0, "spec", "maxReplicas"))
	for _, c := range conds {
		if c.Status == "False" && settledHPAReasons[c.Reason] {
			msg += ": " + joinNonEmpty(c.Reason, c.Message)
		}
	}
	if c, ok := findCondition(conds, "ScalingLimited"); ok && c.Status == "True" {
		msg += ": " + c.text()
	}
	return Result{Status: Healthy, Message: msg}
}

func gathering(message string) bool {
	for _, g := range gatheringMetrics {
		if strings.Contains(message, g) {
			return true
		}
	}
	return false
}

// metricsDetail keeps the part of the autoscaler's message after its fixed preamble.
func metricsDetail(message string) string {
	return strings.TrimPrefix(message, "the HPA was unable to compute the replica count: ")
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
