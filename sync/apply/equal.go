package apply

import (
	"maps"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// volatileMetadata changes on writes, or on a dry-run, without the object changing.
var volatileMetadata = []string{"managedFields", "resourceVersion", "generation"}

// unchanged tells whether applying would leave the live object as it is, comparing the
// dry-run result with the live object. Status is ignored: apply does not set it, and
// controllers update it between our read and our dry-run.
func unchanged(live, merged *unstructured.Unstructured) bool {
	return equality.Semantic.DeepEqual(comparable(live.Object), comparable(merged.Object))
}

// comparable returns a shallow view of obj without the volatile fields; obj is not changed.
func comparable(obj map[string]any) map[string]any {
	view := maps.Clone(obj)
	delete(view, "status")
	if md, ok := obj["metadata"].(map[string]any); ok {
		md = maps.Clone(md)
		for _, k := range volatileMetadata {
			delete(md, k)
		}
		view["metadata"] = md
	}
	return view
}
