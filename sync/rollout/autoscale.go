package rollout

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/landfall-dev/landfall/health"
)

// Live is what each autoscaled Deployment runs now, keyed by LiveKey. A Deployment
// rendered without spec.replicas is autoscaled (or scaled by hand): its count lives in
// the cluster, where the HorizontalPodAutoscaler sets it, not in Git.
type Live map[string]Count

// Count is the replicas of a Deployment and of its canary, as their specs ask now.
type Count struct{ Stable, Canary int32 }

// Total is what the Deployment and its canary run together: the count a canary splits.
func (c Count) Total() int32 { return c.Stable + c.Canary }

// LiveKey keys Live by a Deployment's namespace and name.
func LiveKey(namespace, name string) string { return namespace + "/" + name }

// Autoscaled returns the Deployments of objs rendered without spec.replicas.
func Autoscaled(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if isDeployment(o) && !hasReplicas(o) {
			out = append(out, o)
		}
	}
	return out
}

// WithLiveReplicas gives every autoscaled Deployment of objs whose canary is live, and is
// not in objs (a promotion or a rollback removes it), the total the two run now, so the
// stable takes over the canary's capacity at once instead of waiting for its autoscaler.
// Changed objects are copies; objs is not changed.
func WithLiveReplicas(objs []*unstructured.Unstructured, live Live) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o
		n, ok := live[LiveKey(o.GetNamespace(), o.GetName())]
		if !ok || n.Canary == 0 || !isDeployment(o) || hasReplicas(o) {
			continue
		}
		c := o.DeepCopy()
		_ = unstructured.SetNestedField(c.Object, int64(n.Total()), "spec", "replicas")
		out[i] = c
	}
	return out
}

// Counted returns (keyed by LiveKey) the autoscaled Deployments of next that objs gives a
// count: the split stable, or the stable taking over its canary's capacity. Their count
// must be applied although an autoscaler targets them; the autoscaler's range is narrowed
// while split, and it takes the count over again afterwards.
func Counted(next, objs []*unstructured.Unstructured) map[string]bool {
	auto := map[string]bool{}
	for _, d := range Autoscaled(next) {
		auto[LiveKey(d.GetNamespace(), d.GetName())] = true
	}
	out := map[string]bool{}
	for _, o := range objs {
		if k := LiveKey(o.GetNamespace(), o.GetName()); auto[k] && isDeployment(o) && hasReplicas(o) {
			out[k] = true
		}
	}
	return out
}

// totalOf is the replica count a canary of next splits: the live count of an autoscaled
// Deployment, else the count Git gives it.
func totalOf(next *unstructured.Unstructured, live Live) int32 {
	if !hasReplicas(next) {
		if n, ok := live[LiveKey(next.GetNamespace(), next.GetName())]; ok {
			return n.Total()
		}
	}
	return replicasOf(next)
}

// holdAutoscalers pins each HorizontalPodAutoscaler of objs that targets a split
// Deployment to the stable's share (stable, keyed by LiveKey): minReplicas and maxReplicas
// both that count. The autoscaler computes its count from every pod its target's selector
// matches, the canary's included, but writes it to the stable alone, so left free it
// would scale the stable back up to the whole. Held, it keeps the split still until the
// promotion gives it its range back. A stable of zero replicas holds it at one: an
// autoscaler does not scale a target at zero. Changed objects are copies.
func holdAutoscalers(objs []*unstructured.Unstructured, stable map[string]int32) {
	for i, o := range objs {
		gvk := o.GroupVersionKind()
		if gvk.Group != "autoscaling" || gvk.Kind != "HorizontalPodAutoscaler" {
			continue
		}
		ref, _, _ := unstructured.NestedStringMap(o.Object, "spec", "scaleTargetRef")
		n, ok := stable[LiveKey(o.GetNamespace(), ref["name"])]
		if !ok || ref["kind"] != "Deployment" {
			continue
		}
		h := o.DeepCopy()
		_ = unstructured.SetNestedField(h.Object, int64(max(1, n)), "spec", "minReplicas")
		_ = unstructured.SetNestedField(h.Object, int64(max(1, n)), "spec", "maxReplicas")
		objs[i] = h
	}
}

func hasReplicas(d *unstructured.Unstructured) bool {
	_, ok := health.Integer(d, "spec", "replicas")
	return ok
}
