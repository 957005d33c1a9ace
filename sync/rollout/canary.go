package rollout

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/landfall-dev/landfall/health"
)

// CanaryLabel marks the pods (and selector) of a canary Deployment. The stable Service
// selects by the app's own labels, so it reaches stable and canary pods alike, which is
// what shares the traffic without a service mesh.
const CanaryLabel = "landfall.dev/canary"

// CanarySuffix names a canary Deployment after its stable one.
const CanarySuffix = "-canary"

// CanaryObjects returns what to apply at a canary step of weight percent (below 100):
// every object of next, except that each Deployment whose pod template changed since
// stable keeps its stable template with fewer replicas, and a canary Deployment runs the
// new template with the rest, so the total stays. The total of an autoscaled Deployment
// (rendered without spec.replicas) is its live count, the canary's included, and the
// autoscalers targeting it are held at the stable's share (see holdAutoscalers).
// Objects only stable has stay until the promotion prunes them. It is pure; the inputs
// are not changed.
func CanaryObjects(stable, next []*unstructured.Unstructured, weight int32, live Live) ([]*unstructured.Unstructured, error) {
	if weight >= 100 {
		return next, nil
	}
	old := map[string]*unstructured.Unstructured{}
	for _, o := range stable {
		old[objectKey(o)] = o
	}
	var out []*unstructured.Unstructured
	seen := map[string]bool{}
	stables := map[string]int32{}
	for _, n := range next {
		key := objectKey(n)
		seen[key] = true
		s, ok := old[key]
		if !ok || !isDeployment(n) || sameTemplate(s, n) {
			out = append(out, n)
			continue
		}
		pair, err := splitDeployment(s, n, totalOf(n, live), weight)
		if err != nil {
			return nil, err
		}
		stables[LiveKey(n.GetNamespace(), n.GetName())] = replicasOf(pair[0])
		out = append(out, pair...)
	}
	holdAutoscalers(out, stables)
	for _, s := range stable {
		if !seen[objectKey(s)] {
			out = append(out, s)
		}
	}
	return out, nil
}

// splitDeployment returns the stable Deployment scaled down and its canary, of total
// replicas between them.
func splitDeployment(stable, next *unstructured.Unstructured, total, weight int32) ([]*unstructured.Unstructured, error) {
	canaryN, stableN := SplitReplicas(total, weight)
	s := stable.DeepCopy()
	if err := unstructured.SetNestedField(s.Object, int64(stableN), "spec", "replicas"); err != nil {
		return nil, err
	}
	c := next.DeepCopy()
	c.SetName(next.GetName() + CanarySuffix)
	c.SetResourceVersion("")
	if err := unstructured.SetNestedField(c.Object, int64(canaryN), "spec", "replicas"); err != nil {
		return nil, err
	}
	for _, path := range [][]string{{"spec", "selector", "matchLabels"}, {"spec", "template", "metadata", "labels"}} {
		labels, _, err := unstructured.NestedStringMap(c.Object, path...)
		if err != nil {
			return nil, fmt.Errorf("deployment %s: %w", next.GetName(), err)
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[CanaryLabel] = "true"
		if err := unstructured.SetNestedStringMap(c.Object, labels, path...); err != nil {
			return nil, err
		}
	}
	return []*unstructured.Unstructured{s, c}, nil
}

func replicasOf(d *unstructured.Unstructured) int32 {
	n, ok := health.Integer(d, "spec", "replicas")
	if !ok {
		return 1 // the Deployment default
	}
	return int32(n)
}

func sameTemplate(a, b *unstructured.Unstructured) bool {
	ta, _, _ := unstructured.NestedFieldNoCopy(a.Object, "spec", "template")
	tb, _, _ := unstructured.NestedFieldNoCopy(b.Object, "spec", "template")
	return equality.Semantic.DeepEqual(ta, tb)
}

func isDeployment(o *unstructured.Unstructured) bool {
	gvk := o.GroupVersionKind()
	return gvk.Group == "apps" && gvk.Kind == "Deployment"
}

func objectKey(o *unstructured.Unstructured) string {
	gvk := o.GroupVersionKind()
	return gvk.Group + "/" + gvk.Kind + "/" + o.GetNamespace() + "/" + o.GetName()
}
