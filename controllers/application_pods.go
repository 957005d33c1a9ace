package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/landfall-dev/landfall/health"
)

// deploymentRevision is the Deployment controller's revision annotation, the same on a
// Deployment and on its current ReplicaSet.
const deploymentRevision = "deployment.kubernetes.io/revision"

// failingNewPods looks at the pods of a Progressing Deployment's current ReplicaSet: one
// that cannot start (a crash loop, an image that cannot be pulled) makes the Deployment
// Degraded now, rather than at its progress deadline. Pods of older ReplicaSets are not
// the rollout's business. A read that fails tells nothing: the Deployment's own health
// stands.
func failingNewPods(ctx context.Context, c client.Client, obj *unstructured.Unstructured) (health.Result, bool) {
	d := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, d); err != nil || d.Spec.Selector == nil {
		return health.Result{}, false
	}
	// Until the Deployment controller has seen the new template, its revision annotation
	// still names the previous ReplicaSet, whose pods are not this rollout's.
	if d.Status.ObservedGeneration < d.Generation {
		return health.Result{}, false
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return health.Result{}, false
	}
	sets := &appsv1.ReplicaSetList{}
	if err := c.List(ctx, sets, client.InNamespace(d.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return health.Result{}, false
	}
	for _, rs := range sets.Items {
		if !metav1.IsControlledBy(&rs, d) || rs.Annotations[deploymentRevision] != d.Annotations[deploymentRevision] {
			continue
		}
		return failingPodsOf(ctx, c, &rs)
	}
	return health.Result{}, false
}

func failingPodsOf(ctx context.Context, c client.Client, rs *appsv1.ReplicaSet) (health.Result, bool) {
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return health.Result{}, false
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(rs.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return health.Result{}, false
	}
	var owned []*unstructured.Unstructured
	for i := range pods.Items {
		if !metav1.IsControlledBy(&pods.Items[i], rs) {
			continue
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&pods.Items[i])
		if err != nil {
			continue
		}
		owned = append(owned, &unstructured.Unstructured{Object: u})
	}
	return health.FailingPod(owned)
}
