// Package health judges the health of Kubernetes objects from their live state: one object
// at a time (Of) and a set of objects (Aggregate). It reads only the object it is given —
// no cluster client — so the controller and the command line share it.
package health

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Status is the health of an object or of a set of objects.
type Status string

// The health statuses, from best to worst as Aggregate ranks them.
const (
	// Healthy: the object is doing what its spec asks.
	Healthy Status = "Healthy"
	// Suspended: the object is paused on purpose (a paused Deployment, a suspended Job).
	Suspended Status = "Suspended"
	// Unknown: the object's state could not be judged (for example a malformed status).
	Unknown Status = "Unknown"
	// Progressing: the object is moving towards its spec and may yet get there.
	Progressing Status = "Progressing"
	// Degraded: the object has failed and will not recover by itself.
	Degraded Status = "Degraded"
)

// severity ranks statuses for Aggregate. Degraded is worst because it demands action.
// Suspended ranks just above Healthy: it is a settled, deliberate state, so it must never
// hide a member that still needs watching — a suspended CronJob next to a Deployment that
// is still rolling out makes the set Progressing, not Suspended. Unknown cannot be counted
// as settled, so it outranks Suspended; Progressing outranks Unknown because it names the
// object a rollout is waiting for.
var severity = map[Status]int{
	Healthy:     0,
	Suspended:   1,
	Unknown:     2,
	Progressing: 3,
	Degraded:    4,
}

// Worse reports whether a is a worse health than b. Unrecognised statuses rank as Unknown.
func Worse(a, b Status) bool {
	return rank(a) > rank(b)
}

func rank(s Status) int {
	if r, ok := severity[s]; ok {
		return r
	}
	return severity[Unknown]
}

// Result is the health of one object, or of a set, with a message for humans.
type Result struct {
	Status  Status `json:"status"`
	Message string `json:"message,omitempty"`
}

// checkFunc judges one kind of object.
type checkFunc func(obj *unstructured.Unstructured) Result

// checks maps the kinds with built-in rules to their judge. Versions do not matter: the
// rules read fields that are stable across the served versions.
var checks = map[schema.GroupKind]checkFunc{
	{Group: "apps", Kind: "Deployment"}:                               deploymentHealth,
	{Group: "apps", Kind: "ReplicaSet"}:                               replicaSetHealth,
	{Group: "apps", Kind: "StatefulSet"}:                              statefulSetHealth,
	{Group: "apps", Kind: "DaemonSet"}:                                daemonSetHealth,
	{Group: "", Kind: "Pod"}:                                          podHealth,
	{Group: "batch", Kind: "Job"}:                                     jobHealth,
	{Group: "batch", Kind: "CronJob"}:                                 cronJobHealth,
	{Group: "", Kind: "PersistentVolumeClaim"}:                        pvcHealth,
	{Group: "", Kind: "Service"}:                                      serviceHealth,
	{Group: "networking.k8s.io", Kind: "Ingress"}:                     ingressHealth,
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}:           hpaHealth,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:             apiServiceHealth,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: crdHealth,
	{Group: "policy", Kind: "PodDisruptionBudget"}:                    pdbHealth,
}

// statusless are the kinds whose health follows from the object alone being there: no
// status, nothing to wait for. Their metadata is enough to judge them (Statusless).
var statusless = map[schema.GroupKind]bool{}

func init() {
	for _, gk := range []schema.GroupKind{
		{Group: "", Kind: "ConfigMap"},
		{Group: "", Kind: "Secret"},
		{Group: "", Kind: "ServiceAccount"},
		{Group: "rbac.authorization.k8s.io", Kind: "Role"},
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"},
		{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
		{Group: "scheduling.k8s.io", Kind: "PriorityClass"},
		{Group: "storage.k8s.io", Kind: "StorageClass"},
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"},
		{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"},
	} {
		statusless[gk], checks[gk] = true, noStatus
	}
}

// Statusless reports whether a kind is judged Healthy for being there (unless it is being
// deleted): its metadata alone tells its health.
func Statusless(gk schema.GroupKind) bool { return statusless[gk] }

// Of returns the health of one live object. Built-in kinds follow the rules of their
// controllers; every other kind, custom resources included, is judged by kstatus from its
// conditions and observedGeneration. An object being deleted is Progressing. Of never
// fails: what cannot be judged is Unknown, with the reason in the message.
func Of(obj *unstructured.Unstructured) Result {
	if obj == nil {
		return Result{Status: Unknown, Message: "no object"}
	}
	if obj.GetDeletionTimestamp() != nil {
		return Result{Status: Progressing, Message: "being deleted"}
	}
	check, ok := checks[obj.GroupVersionKind().GroupKind()]
	if !ok {
		check = customHealth
	}
	return check(obj)
}

func noStatus(*unstructured.Unstructured) Result {
	return Result{Status: Healthy}
}

// ObjectHealth is the health of one named object, as Aggregate takes it.
type ObjectHealth struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Result    `json:",inline"`
}

// NewObjectHealth judges obj and names it.
func NewObjectHealth(obj *unstructured.Unstructured) ObjectHealth {
	gvk := obj.GroupVersionKind()
	return ObjectHealth{
		Group:     gvk.Group,
		Kind:      gvk.Kind,
		Namespace: obj.GetNamespace(),
		Name:      obj.GetName(),
		Result:    Of(obj),
	}
}

// Ref names the object as Kind/name, or Kind/namespace/name in a namespace.
func (o ObjectHealth) Ref() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Aggregate returns the health of a set: the worst health of its members. The message
// names the worst object (the first one, in the given order, when several tie) and how
// many others are not healthy. An empty set is Healthy.
func Aggregate(objects []ObjectHealth) Result {
	if len(objects) == 0 {
		return Result{Status: Healthy, Message: "no objects"}
	}
	worst, unhealthy := 0, 0
	for i, o := range objects {
		if o.Status != Healthy {
			unhealthy++
		}
		if Worse(o.Status, objects[worst].Status) {
			worst = i
		}
	}
	w := objects[worst]
	if unhealthy == 0 {
		return Result{Status: Healthy, Message: fmt.Sprintf("all %d objects healthy", len(objects))}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", w.Ref(), w.Status)
	if w.Message != "" {
		fmt.Fprintf(&b, ": %s", w.Message)
	}
	if unhealthy > 1 {
		fmt.Fprintf(&b, " (%d of %d objects not healthy)", unhealthy, len(objects))
	}
	return Result{Status: statusOrUnknown(w.Status), Message: b.String()}
}

func statusOrUnknown(s Status) Status {
	if _, ok := severity[s]; ok {
		return s
	}
	return Unknown
}
