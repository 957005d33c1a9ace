package apply

import (
	"maps"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Stamp returns copies of objs carrying the given labels and annotations, which win over
// values the objects already have: ownership marks must not be overridable from Git.
// objs are not modified.
func Stamp(objs []*unstructured.Unstructured, labels, annotations map[string]string) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, obj := range objs {
		if obj == nil {
			continue
		}
		c := obj.DeepCopy()
		c.SetLabels(merged(c.GetLabels(), labels))
		c.SetAnnotations(merged(c.GetAnnotations(), annotations))
		out[i] = c
	}
	return out
}

func merged(base, extra map[string]string) map[string]string {
	if len(extra) == 0 {
		return base
	}
	out := make(map[string]string, len(base)+len(extra))
	maps.Copy(out, base)
	maps.Copy(out, extra)
	return out
}
