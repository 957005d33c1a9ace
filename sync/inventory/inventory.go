package inventory

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Inventory is a set of objects, each with the version to delete it in. It is a value:
// set operations return a new Inventory and never change their operands. The zero value
// is an empty inventory.
type Inventory struct {
	entries map[ObjMetadata]string // object → version
}

// New returns an inventory of the entries; a later entry for the same object replaces an
// earlier one.
func New(entries ...Entry) (Inventory, error) {
	inv := Inventory{entries: make(map[ObjMetadata]string, len(entries))}
	for _, e := range entries {
		if err := e.Validate(); err != nil {
			return Inventory{}, err
		}
		inv.entries[e.ObjMetadata] = e.Version
	}
	return inv, nil
}

// FromObjects returns the inventory of the objects as they are applied.
func FromObjects(objs []*unstructured.Unstructured) (Inventory, error) {
	entries := make([]Entry, len(objs))
	for i, o := range objs {
		entries[i] = EntryOf(o)
	}
	return New(entries...)
}

// Len is the number of objects.
func (inv Inventory) Len() int { return len(inv.entries) }

// Contains reports whether the object is in the inventory, in any version.
func (inv Inventory) Contains(id ObjMetadata) bool {
	_, ok := inv.entries[id]
	return ok
}

// Version returns the version recorded for the object.
func (inv Inventory) Version(id ObjMetadata) (string, bool) {
	v, ok := inv.entries[id]
	return v, ok
}

// Entries returns the members sorted by group, kind, namespace and name.
func (inv Inventory) Entries() []Entry {
	out := make([]Entry, 0, len(inv.entries))
	for id, v := range inv.entries {
		out = append(out, Entry{ObjMetadata: id, Version: v})
	}
	slices.SortFunc(out, func(a, b Entry) int { return compareID(a.ObjMetadata, b.ObjMetadata) })
	return out
}

// IDs returns the members' identifiers, sorted as Entries.
func (inv Inventory) IDs() []ObjMetadata {
	out := make([]ObjMetadata, 0, len(inv.entries))
	for id := range inv.entries {
		out = append(out, id)
	}
	slices.SortFunc(out, compareID)
	return out
}

func compareID(a, b ObjMetadata) int {
	return cmp.Or(
		cmp.Compare(a.Group, b.Group),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}

// Union returns the objects in either inventory. Where both hold an object, other's
// version wins: other is the newer record.
func (inv Inventory) Union(other Inventory) Inventory {
	out := Inventory{entries: make(map[ObjMetadata]string, len(inv.entries)+len(other.entries))}
	for id, v := range inv.entries {
		out.entries[id] = v
	}
	for id, v := range other.entries {
		out.entries[id] = v
	}
	return out
}

// Difference returns the objects of inv that other does not hold, in inv's versions.
// old.Difference(new) is what to prune after new has been applied.
func (inv Inventory) Difference(other Inventory) Inventory {
	out := Inventory{entries: make(map[ObjMetadata]string)}
	for id, v := range inv.entries {
		if !other.Contains(id) {
			out.entries[id] = v
		}
	}
	return out
}

// Equal reports whether both inventories hold the same objects in the same versions.
func (inv Inventory) Equal(other Inventory) bool {
	if len(inv.entries) != len(other.entries) {
		return false
	}
	for id, v := range inv.entries {
		if w, ok := other.entries[id]; !ok || w != v {
			return false
		}
	}
	return true
}

// wire is the JSON form, the same shape as the Application status field.
type wire struct {
	Entries []string `json:"entries,omitempty"`
}

// MarshalJSON writes {"entries": Encode()}.
func (inv Inventory) MarshalJSON() ([]byte, error) {
	return json.Marshal(wire{Entries: inv.Encode()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (inv *Inventory) UnmarshalJSON(data []byte) error {
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("decoding inventory: %w", err)
	}
	decoded, err := Decode(w.Entries)
	if err != nil {
		return err
	}
	*inv = decoded
	return nil
}
