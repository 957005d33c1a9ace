package apply

import (
	"bytes"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// desiredFor returns the object to apply: a copy of desired without server-set metadata,
// and with each path of Options.DropFields handed to whoever else manages it.
//
// Simply leaving a field out of an apply config is not enough: when Landfall was the
// field's only manager, the apiserver removes the field and defaults it (spec.replicas
// would fall back to 1 before the HPA has written it). So a dropped field is left out
// only when the object is new or another manager also owns the field; otherwise the
// live value is applied unchanged, which keeps it until the other controller takes over.
func (m *Manager) desiredFor(desired, live *unstructured.Unstructured, ref ObjectRef) (*unstructured.Unstructured, error) {
	obj := desired.DeepCopy()
	for _, f := range [][]string{
		{"metadata", "managedFields"}, {"metadata", "resourceVersion"}, {"metadata", "uid"},
		{"metadata", "generation"}, {"metadata", "creationTimestamp"}, {"metadata", "selfLink"},
	} {
		unstructured.RemoveNestedField(obj.Object, f...)
	}
	if m.opts.DropFields == nil {
		return obj, nil
	}
	for _, pointer := range m.opts.DropFields(ref) {
		keys, err := parsePointer(pointer)
		if err != nil {
			return nil, fmt.Errorf("dropping field: %w", err)
		}
		if err := m.dropField(obj, live, keys); err != nil {
			return nil, fmt.Errorf("dropping field %s: %w", pointer, err)
		}
	}
	return obj, nil
}

func (m *Manager) dropField(obj, live *unstructured.Unstructured, keys []string) error {
	if live != nil && !ownedByOthers(live, m.opts.FieldManager, keys) {
		if v, found, err := unstructured.NestedFieldCopy(live.Object, keys...); err == nil && found {
			return unstructured.SetNestedField(obj.Object, v, keys...)
		}
	}
	unstructured.RemoveNestedField(obj.Object, keys...)
	return nil
}

// ownedByOthers tells whether any manager but our own apply owns the field at keys.
// Unreadable managed fields count as owned by others: dropping is the safer choice then.
func ownedByOthers(live *unstructured.Unstructured, manager string, keys []string) bool {
	parts := make([]any, len(keys))
	for i, k := range keys {
		parts[i] = k
	}
	path, err := fieldpath.MakePath(parts...)
	if err != nil {
		return true
	}
	for _, e := range live.GetManagedFields() {
		if (e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationApply) || e.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(e.FieldsV1.GetRawBytes())); err != nil || set.Has(path) {
			return true
		}
	}
	return false
}

// parsePointer splits a JSON pointer of map keys ("/spec/replicas") into its keys.
func parsePointer(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") || len(p) < 2 {
		return nil, fmt.Errorf("%q is not a JSON pointer such as /spec/replicas", p)
	}
	keys := strings.Split(p[1:], "/")
	for i, k := range keys {
		if k == "" {
			return nil, fmt.Errorf("%q has an empty segment", p)
		}
		keys[i] = strings.ReplaceAll(strings.ReplaceAll(k, "~1", "/"), "~0", "~")
	}
	return keys, nil
}
