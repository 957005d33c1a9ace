package apply

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// prepare checks the whole desired set before anything is written, so a set with a
// nameless object, a duplicate, a bad sync wave or an unknown kind is never half applied.
// It returns the items with their stage and wave; on error, the change set names each bad
// object as Failed and the rest as Skipped.
func (m *Manager) prepare(objs []*unstructured.Unstructured) ([]item, *ChangeSet, error) {
	cs := &ChangeSet{}
	defined := definedKinds(objs)
	seen := make(map[ObjectRef]bool, len(objs))
	items := make([]item, 0, len(objs))
	var errs []error
	for i, obj := range objs {
		if obj == nil {
			errs = append(errs, fmt.Errorf("object #%d is nil", i))
			continue
		}
		it, err := m.classify(obj, defined)
		if err == nil && seen[it.ref.identity()] {
			err = errors.New("appears more than once in the set")
		}
		if err != nil {
			cs.Add(it.ref, Failed, err.Error())
			errs = append(errs, fmt.Errorf("%s: %w", it.ref, err))
			continue
		}
		seen[it.ref.identity()] = true
		items = append(items, it)
	}
	if len(errs) > 0 {
		for _, it := range items {
			cs.Add(it.ref, Skipped, "not applied: other objects in the set are invalid")
		}
		return nil, cs, errors.Join(errs...)
	}
	return items, cs, nil
}

// classify finds an object's wave and stage.
func (m *Manager) classify(obj *unstructured.Unstructured, defined map[schema.GroupKind]bool) (item, error) {
	it := item{obj: obj, ref: RefOf(obj)}
	switch {
	case it.ref.Kind == "" || it.ref.Version == "":
		return it, errors.New("apiVersion and kind are required")
	case it.ref.Name == "":
		return it, errors.New("metadata.name is required")
	}
	var err error
	if it.wave, err = m.wave(obj); err != nil {
		return it, err
	}
	it.stage, err = m.stageOf(it.ref, defined)
	return it, err
}

// wave reads the sync-wave annotation; absent means wave 0.
func (m *Manager) wave(obj *unstructured.Unstructured) (int, error) {
	if m.opts.WaveAnnotation == "" {
		return 0, nil
	}
	v, ok := obj.GetAnnotations()[m.opts.WaveAnnotation]
	if !ok {
		return 0, nil
	}
	w, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("annotation %s: %q is not an integer", m.opts.WaveAnnotation, v)
	}
	return w, nil
}

// stageOf places an object by scope. Kinds the cluster does not serve yet are accepted
// only when a CustomResourceDefinition in the same set defines them; its spec.scope
// gives their stage.
func (m *Manager) stageOf(ref ObjectRef, defined map[schema.GroupKind]bool) (stage, error) {
	if isDefinition(ref) {
		return stageDefinitions, nil
	}
	var namespaced bool
	mapping, err := m.mapper.RESTMapping(ref.GroupKind(), ref.Version)
	switch {
	case err == nil:
		namespaced = mapping.Scope.Name() == meta.RESTScopeNameNamespace
	case meta.IsNoMatchError(err):
		var ok bool
		if namespaced, ok = defined[ref.GroupKind()]; !ok {
			return 0, fmt.Errorf("the cluster does not serve %s and no CustomResourceDefinition in the set defines it",
				ref.GroupVersionKind())
		}
	default:
		return 0, fmt.Errorf("looking up kind %s: %w", ref.GroupVersionKind(), err)
	}
	if !namespaced {
		return stageCluster, nil
	}
	if ref.Namespace == "" {
		return 0, errors.New("metadata.namespace is required for a namespaced kind")
	}
	return stageNamespaced, nil
}

// definedKinds returns the kinds the set's CustomResourceDefinitions define, each with
// whether it is namespaced.
func definedKinds(objs []*unstructured.Unstructured) map[schema.GroupKind]bool {
	kinds := map[schema.GroupKind]bool{}
	for _, obj := range objs {
		if obj == nil || !isCRD(RefOf(obj)) {
			continue
		}
		group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(obj.Object, "spec", "scope")
		if kind != "" {
			kinds[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
	}
	return kinds
}

func isCRD(ref ObjectRef) bool {
	return ref.Group == crdGroup && ref.Kind == "CustomResourceDefinition"
}
