package render

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ErrDuplicate means two rendered objects have the same identity.
var ErrDuplicate = errors.New("duplicate object")

type objectID struct{ group, kind, namespace, name string }

func idOf(o *unstructured.Unstructured) objectID {
	gvk := o.GroupVersionKind()
	return objectID{gvk.Group, gvk.Kind, o.GetNamespace(), o.GetName()}
}

func (id objectID) String() string {
	s := id.kind
	if id.group != "" {
		s += "." + id.group
	}
	if id.namespace != "" {
		return s + " " + id.namespace + "/" + id.name
	}
	return s + " " + id.name
}

// rank puts what other objects need first: Namespaces, then CRDs.
func rank(id objectID) int {
	switch {
	case id.group == "" && id.kind == "Namespace":
		return 0
	case id.group == "apiextensions.k8s.io" && id.kind == "CustomResourceDefinition":
		return 1
	}
	return 2
}

func less(a, b objectID) bool {
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	if a.group != b.group {
		return a.group < b.group
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	if a.namespace != b.namespace {
		return a.namespace < b.namespace
	}
	return a.name < b.name
}

func sortObjects(objs []*unstructured.Unstructured) {
	sort.SliceStable(objs, func(i, j int) bool { return less(idOf(objs[i]), idOf(objs[j])) })
}

// checkDuplicates expects sorted objects.
func checkDuplicates(objs []*unstructured.Unstructured) error {
	for i := 1; i < len(objs); i++ {
		if id := idOf(objs[i]); id == idOf(objs[i-1]) {
			return fmt.Errorf("%w: %s appears twice", ErrDuplicate, id)
		}
	}
	return nil
}

// digest hashes the objects in order; encoding/json writes map keys sorted, so equal objects
// hash equally.
func digest(objs []*unstructured.Unstructured) (string, error) {
	h := sha256.New()
	for _, o := range objs {
		data, err := o.MarshalJSON()
		if err != nil {
			return "", fmt.Errorf("%s: %w", idOf(o), err)
		}
		h.Write(data)
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
