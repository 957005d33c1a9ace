package operate

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/inventory"
)

// Entries are the objects an Application applied, from each environment's inventory in
// status (only the environment named, when env is set).
func Entries(app *landfallv1.Application, env string) ([]inventory.Entry, error) {
	var entries []inventory.Entry
	found := env == ""
	for _, st := range app.Status.Environments {
		if env != "" && st.Name != env {
			continue
		}
		found = true
		if st.Inventory == nil {
			continue
		}
		inv, err := inventory.DecodeCompact(st.Inventory.Entries, st.Inventory.Compressed)
		if err != nil {
			return nil, fmt.Errorf("inventory of %s: %w", st.Name, err)
		}
		entries = append(entries, inv.Entries()...)
	}
	if !found {
		return nil, fmt.Errorf("application %s has no status for environment %q", app.Name, env)
	}
	return entries, nil
}

// EmptyObject is an object of the entry's type and name, to read into.
func EmptyObject(e inventory.Entry) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(e.GroupVersionKind())
	u.SetNamespace(e.Namespace)
	u.SetName(e.Name)
	return u
}

// MaskSecret keeps a Secret's keys and hides their values: Secret data never leaves the
// cluster through Landfall.
func MaskSecret(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj.GetAPIVersion() != "v1" || obj.GetKind() != "Secret" {
		return obj
	}
	obj = obj.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		values, _, _ := unstructured.NestedMap(obj.Object, field)
		for k := range values {
			values[k] = "***"
		}
		if values != nil {
			_ = unstructured.SetNestedMap(obj.Object, values, field)
		}
	}
	return obj
}
