package apply

import (
	"cmp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// stage is a coarse apply phase; every stage finishes before the next starts.
type stage int

const (
	// stageDefinitions holds Namespaces and CustomResourceDefinitions, which other objects
	// need to exist before the apiserver accepts them.
	stageDefinitions stage = iota
	// stageCluster holds the other cluster-scoped objects (ClusterRoles, StorageClasses…).
	stageCluster
	// stageNamespaced holds everything that lives in a namespace.
	stageNamespaced
)

const crdGroup = "apiextensions.k8s.io"

// kindOrder ranks well-known kinds so that what others refer to comes first: policies
// and quotas before workloads (admission reads them), identities and configuration before
// the workloads that mount them, Services before the workloads they front, and webhooks
// last so a half-applied webhook cannot block the rest. Unknown kinds rank after all of them.
var kindOrder = []string{
	"Namespace", "CustomResourceDefinition",
	"PriorityClass", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget",
	"ServiceAccount", "Secret", "ConfigMap", "StorageClass", "PersistentVolume",
	"PersistentVolumeClaim", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
	"Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

var kindRanks = func() map[string]int {
	ranks := make(map[string]int, len(kindOrder))
	for i, k := range kindOrder {
		ranks[k] = i
	}
	return ranks
}()

func kindRank(kind string) int {
	if r, ok := kindRanks[kind]; ok {
		return r
	}
	return len(kindOrder)
}

// item is one desired object with what ordering needs to know about it.
type item struct {
	obj   *unstructured.Unstructured
	ref   ObjectRef
	stage stage
	wave  int
}

func isDefinition(ref ObjectRef) bool {
	return (ref.Group == "" && ref.Kind == "Namespace") ||
		isCRD(ref)
}

// compareItems orders by stage, wave, kind rank, then group, kind, namespace and name,
// so the order never depends on the order of the input.
func compareItems(a, b item) int {
	return cmp.Or(
		cmp.Compare(a.stage, b.stage),
		cmp.Compare(a.wave, b.wave),
		cmp.Compare(kindRank(a.ref.Kind), kindRank(b.ref.Kind)),
		strings.Compare(a.ref.Group, b.ref.Group),
		strings.Compare(a.ref.Kind, b.ref.Kind),
		strings.Compare(a.ref.Namespace, b.ref.Namespace),
		strings.Compare(a.ref.Name, b.ref.Name),
	)
}

// group is the unit of "keep going": objects of one stage and wave. A failure inside a
// group lets the rest of the group apply, but no later group starts.
type group struct {
	stage stage
	wave  int
	items []item
}

// groupItems sorts items and splits them into groups in apply order.
func groupItems(items []item) []group {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, compareItems)
	var groups []group
	for _, it := range sorted {
		n := len(groups)
		if n == 0 || groups[n-1].stage != it.stage || groups[n-1].wave != it.wave {
			groups = append(groups, group{stage: it.stage, wave: it.wave})
			n++
		}
		groups[n-1].items = append(groups[n-1].items, it)
	}
	return groups
}

// pruneClass orders deletions as the reverse of applying: namespaced objects, other
// cluster-scoped objects, CRDs (deleting one deletes all its custom resources), and
// Namespaces last (deleting one deletes everything in it).
func pruneClass(ref ObjectRef) int {
	switch {
	case ref.Group == "" && ref.Kind == "Namespace":
		return 3
	case ref.Group == crdGroup && ref.Kind == "CustomResourceDefinition":
		return 2
	case ref.Namespace == "":
		return 1
	default:
		return 0
	}
}

// sortForPrune returns refs in deletion order: by prune class, reverse kind rank (so
// workloads go before the ConfigMaps and ServiceAccounts they use), then by name.
func sortForPrune(refs []ObjectRef) []ObjectRef {
	sorted := slices.Clone(refs)
	slices.SortStableFunc(sorted, func(a, b ObjectRef) int {
		return cmp.Or(
			cmp.Compare(pruneClass(a), pruneClass(b)),
			cmp.Compare(kindRank(b.Kind), kindRank(a.Kind)),
			strings.Compare(a.Group, b.Group),
			strings.Compare(a.Kind, b.Kind),
			strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(a.Name, b.Name),
		)
	})
	return sorted
}
