// Package inventory holds the set of objects Landfall applied for one Application and
// environment — the only objects it may ever prune — with set operations and a compact
// encoding small enough for the Application's status.
package inventory

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ObjMetadata identifies one object independent of the API version it is read in.
type ObjMetadata struct {
	Group     string
	Kind      string
	Namespace string // empty for cluster-scoped objects
	Name      string
}

// ErrInvalid is wrapped by every error about a malformed identifier or encoding.
var ErrInvalid = errors.New("invalid inventory entry")

// ObjMetadataOf identifies obj.
func ObjMetadataOf(obj *unstructured.Unstructured) ObjMetadata {
	gvk := obj.GroupVersionKind()
	return ObjMetadata{Group: gvk.Group, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// GroupKind returns the object's group and kind.
func (o ObjMetadata) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: o.Group, Kind: o.Kind}
}

// String formats the identifier as group/kind/namespace/name, for example
// "apps/Deployment/shop/web", "/ConfigMap/shop/settings" (core group) or
// "rbac.authorization.k8s.io/ClusterRole//view" (cluster-scoped). No part can contain a
// slash in Kubernetes, so ParseObjMetadata reverses it exactly.
func (o ObjMetadata) String() string {
	return o.Group + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
}

// ParseObjMetadata parses the form String writes.
func ParseObjMetadata(s string) (ObjMetadata, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 {
		return ObjMetadata{}, fmt.Errorf("%w: %q: want group/kind/namespace/name", ErrInvalid, s)
	}
	o := ObjMetadata{Group: parts[0], Kind: parts[1], Namespace: parts[2], Name: parts[3]}
	if err := o.Validate(); err != nil {
		return ObjMetadata{}, err
	}
	return o, nil
}

// Validate checks that the identifier names an object and can be encoded: kind and name
// are set, and no part holds a character the encodings use as a separator. Kubernetes
// forbids these characters in all of them, so only a corrupted value fails.
func (o ObjMetadata) Validate() error {
	switch {
	case o.Kind == "":
		return fmt.Errorf("%w: %q: kind is empty", ErrInvalid, o.String())
	case o.Name == "":
		return fmt.Errorf("%w: %q: name is empty", ErrInvalid, o.String())
	case strings.ContainsAny(o.Group+o.Kind+o.Namespace, "/_,%"):
		return fmt.Errorf("%w: %q: group, kind and namespace may not contain / _ , or %%", ErrInvalid, o.String())
	case strings.Contains(o.Name, "/"):
		return fmt.Errorf("%w: %q: name may not contain /", ErrInvalid, o.String())
	}
	return nil
}

// Entry is an inventory member: the object and the API version to address it with when
// it is deleted.
type Entry struct {
	ObjMetadata
	Version string
}

// EntryOf returns the entry for obj, addressed in the version it was applied in.
func EntryOf(obj *unstructured.Unstructured) Entry {
	return Entry{ObjMetadata: ObjMetadataOf(obj), Version: obj.GroupVersionKind().Version}
}

// GroupVersionKind returns the entry's full type.
func (e Entry) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
}

// Validate checks the identifier and that the version is set and encodable.
func (e Entry) Validate() error {
	if err := e.ObjMetadata.Validate(); err != nil {
		return err
	}
	if e.Version == "" || strings.ContainsAny(e.Version, "/_,%") {
		return fmt.Errorf("%w: %q: version %q is empty or holds / _ , or %%", ErrInvalid, e.String(), e.Version)
	}
	return nil
}
