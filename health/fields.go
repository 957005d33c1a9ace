package health

import (
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// condition is the part of a status condition the rules read. Every built-in kind and
// kstatus-style custom resources share this shape.
type condition struct {
	Type    string
	Status  string
	Reason  string
	Message string
}

// conditions returns status.conditions; entries that are not objects are skipped.
func conditions(obj *unstructured.Unstructured) []condition {
	raw, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	out := make([]condition, 0, len(raw))
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, condition{
			Type:    str(m["type"]),
			Status:  str(m["status"]),
			Reason:  str(m["reason"]),
			Message: str(m["message"]),
		})
	}
	return out
}

// findCondition returns the condition of the given type, if present.
func findCondition(conds []condition, typ string) (condition, bool) {
	for _, c := range conds {
		if c.Type == typ {
			return c, true
		}
	}
	return condition{}, false
}

// text is the most useful words of a condition: its message, else its reason.
func (c condition) text() string {
	if c.Message != "" {
		return c.Message
	}
	return c.Reason
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// Integer reads a whole number at path. Objects decoded from JSON by apimachinery hold
// int64, objects built from YAML by other means may hold float64; both are accepted.
func Integer(obj *unstructured.Unstructured, path ...string) (int64, bool) {
	v, found, err := unstructured.NestedFieldNoCopy(obj.Object, path...)
	if err != nil || !found {
		return 0, false
	}
	return toInt64(v)
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) {
			return int64(n), true
		}
	}
	return 0, false
}

// integerOr reads a whole number at path, or def when it is absent.
func integerOr(obj *unstructured.Unstructured, def int64, path ...string) int64 {
	if n, ok := Integer(obj, path...); ok {
		return n
	}
	return def
}

// text reads a string at path; absent or non-string values read as "".
func text(obj *unstructured.Unstructured, path ...string) string {
	v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
	return str(v)
}

// boolean reads a bool at path; absent or non-bool values read as false.
func boolean(obj *unstructured.Unstructured, path ...string) bool {
	v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
	b, _ := v.(bool)
	return b
}

// generationPending reports a spec change the controller has not yet observed; results
// computed from such a status would describe the previous spec.
func generationPending(obj *unstructured.Unstructured) (Result, bool) {
	observed, ok := Integer(obj, "status", "observedGeneration")
	if !ok {
		// Some objects (and objects created moments ago) have no observedGeneration yet.
		if _, hasStatus := obj.Object["status"]; !hasStatus {
			return Result{Status: Progressing, Message: "waiting for the controller to report status"}, true
		}
		return Result{}, false
	}
	if gen := obj.GetGeneration(); gen > observed {
		return Result{
			Status:  Progressing,
			Message: fmt.Sprintf("waiting for the controller to observe generation %d (observed %d)", gen, observed),
		}, true
	}
	return Result{}, false
}
