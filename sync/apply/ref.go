package apply

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ObjectRef names one object in a cluster. It mirrors an inventory entry
// (`<group>_<kind>_<namespace>_<name>_<version>`) and is defined here because
// sync/inventory did not exist yet when this package was written.
type ObjectRef struct {
	Group     string
	Version   string
	Kind      string
	Namespace string
	Name      string
}

// RefOf returns the reference of obj.
func RefOf(obj *unstructured.Unstructured) ObjectRef {
	gvk := obj.GroupVersionKind()
	return ObjectRef{
		Group:     gvk.Group,
		Version:   gvk.Version,
		Kind:      gvk.Kind,
		Namespace: obj.GetNamespace(),
		Name:      obj.GetName(),
	}
}

// GroupVersionKind returns the object's group, version and kind.
func (r ObjectRef) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// GroupKind returns the object's group and kind.
func (r ObjectRef) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: r.Group, Kind: r.Kind}
}

// String returns Kind/namespace/name, or Kind/name for cluster-scoped objects, with the
// group appended to the kind when it is not the core group (Deployment.apps/shop/web):
// the form used in every message, so users can find the object.
func (r ObjectRef) String() string {
	kind := r.Kind
	if r.Group != "" {
		kind += "." + r.Group
	}
	if r.Namespace == "" {
		return fmt.Sprintf("%s/%s", kind, r.Name)
	}
	return fmt.Sprintf("%s/%s/%s", kind, r.Namespace, r.Name)
}

// identity is the reference without its version: two versions of one kind are the same
// object in the apiserver, so duplicates are found on this key.
func (r ObjectRef) identity() ObjectRef {
	r.Version = ""
	return r
}
