package render

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Sentinel errors, for errors.Is.
var (
	// ErrNamespaceNotAllowed means an object names a namespace the environment may not use.
	ErrNamespaceNotAllowed = errors.New("namespace not allowed")
	// ErrClusterScopedNotAllowed means the render holds a cluster-scoped object the
	// environment may not create.
	ErrClusterScopedNotAllowed = errors.New("cluster-scoped objects are not allowed")
)

// clusterScoped are the built-in Kubernetes kinds that have no namespace.
var clusterScoped = map[schema.GroupKind]bool{}

func init() {
	for group, kinds := range map[string][]string{
		"":                             {"Namespace", "Node", "PersistentVolume", "ComponentStatus"},
		"rbac.authorization.k8s.io":    {"ClusterRole", "ClusterRoleBinding"},
		"apiextensions.k8s.io":         {"CustomResourceDefinition"},
		"apiregistration.k8s.io":       {"APIService"},
		"admissionregistration.k8s.io": {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"},
		"scheduling.k8s.io":            {"PriorityClass"},
		"storage.k8s.io":               {"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"},
		"networking.k8s.io":            {"IngressClass", "IPAddress", "ServiceCIDR"},
		"node.k8s.io":                  {"RuntimeClass"},
		"policy":                       {"PodSecurityPolicy"},
		"certificates.k8s.io":          {"CertificateSigningRequest", "ClusterTrustBundle"},
		"flowcontrol.apiserver.k8s.io": {"FlowSchema", "PriorityLevelConfiguration"},
		"resource.k8s.io":              {"DeviceClass", "ResourceSlice"},
		"authentication.k8s.io":        {"TokenReview", "SelfSubjectReview"},
		"authorization.k8s.io":         {"SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"},
		"storagemigration.k8s.io":      {"StorageVersionMigration"},
		"internal.apiserver.k8s.io":    {"StorageVersion"},
	} {
		for _, k := range kinds {
			clusterScoped[schema.GroupKind{Group: group, Kind: k}] = true
		}
	}
}

// scoper decides whether a kind is namespaced.
type scoper struct {
	lookup ScopeFunc
	crds   map[schema.GroupKind]bool // namespaced, from CRDs in the render
}

func newScoper(objs []*unstructured.Unstructured, lookup ScopeFunc) scoper {
	s := scoper{lookup: lookup, crds: map[schema.GroupKind]bool{}}
	for _, o := range objs {
		if o.GroupVersionKind().GroupKind() != (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
		if kind != "" {
			s.crds[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
	}
	return s
}

func (s scoper) namespaced(gvk schema.GroupVersionKind) bool {
	if s.lookup != nil {
		if namespaced, known := s.lookup(gvk); known {
			return namespaced
		}
	}
	if namespaced, ok := s.crds[gvk.GroupKind()]; ok {
		return namespaced
	}
	return !clusterScoped[gvk.GroupKind()]
}

// settleNamespaces defaults and checks the namespace of every object (see the package doc).
// Unscoped, it defaults nothing and returns what it would refuse as warnings.
func settleNamespaces(objs []*unstructured.Unstructured, in Input) ([]string, error) {
	s := newScoper(objs, in.Scope)
	allowed := func(ns string) bool {
		return ns == in.Namespace || slices.Contains(in.Policy.AllowedNamespaces, ns) ||
			slices.Contains(in.Policy.AllowedNamespaces, "*")
	}
	var errs []error
	named := map[string]bool{} // Unscoped without a target: the namespaces objects name
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if !s.namespaced(gvk) {
			o.SetNamespace("")
			// Without a target, a Namespace is the one some environment would deploy to.
			ownNamespace := gvk.GroupKind() == schema.GroupKind{Kind: "Namespace"} &&
				(allowed(o.GetName()) || in.Unscoped && in.Namespace == "")
			if !in.Policy.AllowClusterScoped && !ownNamespace {
				errs = append(errs, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), ErrClusterScopedNotAllowed))
			}
			continue
		}
		switch ns := o.GetNamespace(); {
		case ns == "" && !in.Unscoped:
			o.SetNamespace(in.Namespace)
		case ns == "":
		case in.Unscoped && in.Namespace == "":
			named[ns] = true
		case !allowed(ns):
			errs = append(errs, fmt.Errorf("%s %s/%s: the environment deploys to %q: %w",
				o.GetKind(), ns, o.GetName(), in.Namespace, ErrNamespaceNotAllowed))
		}
	}
	if !in.Unscoped {
		return nil, joinCapped(errs, 10)
	}
	warnings := make([]string, 0, len(errs)+1)
	for _, err := range errs {
		warnings = append(warnings, err.Error())
	}
	if len(named) > 1 {
		warnings = append(warnings, fmt.Sprintf("objects name %d namespaces %v: an environment deploys to one and refuses the others: %v",
			len(named), slices.Sorted(maps.Keys(named)), ErrNamespaceNotAllowed))
	}
	return warnings, nil
}

// joinCapped joins at most n errors and says how many more there were.
func joinCapped(errs []error, n int) error {
	if len(errs) > n {
		rest := len(errs) - n
		errs = append(errs[:n:n], fmt.Errorf("and %d more", rest))
	}
	return errors.Join(errs...)
}
