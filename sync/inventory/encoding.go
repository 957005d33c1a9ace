package inventory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Encode returns the compact form stored in status: one string per group, kind, namespace
// and version, "<group>_<kind>_<namespace>_<name>[,<name>…]_<version>", sorted. A group
// with one object is exactly the one-object-per-entry form, so both decode alike.
// Grouping stores each kind and namespace once instead of once per object, which keeps
// 5,000 objects near 100 KiB.
//
// Group, kind, namespace and version never contain "_" or ","; a name can (RBAC names
// are free-form), so commas and percent signs in names are percent-escaped and names are
// taken as everything between the third and the last underscore.
func (inv Inventory) Encode() []string {
	type groupKey struct{ group, kind, namespace, version string }
	groups := map[groupKey][]string{}
	for id, v := range inv.entries {
		k := groupKey{id.Group, id.Kind, id.Namespace, v}
		groups[k] = append(groups[k], escapeName(id.Name))
	}
	keys := make([]groupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.kind, b.kind),
			cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.version, b.version))
	})
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		names := groups[k]
		slices.Sort(names)
		out = append(out, k.group+"_"+k.kind+"_"+k.namespace+"_"+strings.Join(names, ",")+"_"+k.version)
	}
	return out
}

// Decode parses what Encode writes. A malformed entry is an error naming it: a status that
// cannot be read must stop pruning, never shrink the inventory silently.
func Decode(entries []string) (Inventory, error) {
	var all []Entry
	for _, s := range entries {
		parsed, err := decodeEntry(s)
		if err != nil {
			return Inventory{}, err
		}
		all = append(all, parsed...)
	}
	return New(all...)
}

func decodeEntry(s string) ([]Entry, error) {
	head := strings.SplitN(s, "_", 4)
	last := strings.LastIndex(s, "_")
	if len(head) != 4 || last <= len(head[0])+len(head[1])+len(head[2])+2 {
		return nil, fmt.Errorf("%w: %q: want <group>_<kind>_<namespace>_<names>_<version>", ErrInvalid, s)
	}
	version := s[last+1:]
	names := head[3][:len(head[3])-len(version)-1]
	var out []Entry
	for _, n := range strings.Split(names, ",") {
		name, err := unescapeName(n)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrInvalid, s, err)
		}
		out = append(out, Entry{
			ObjMetadata: ObjMetadata{Group: head[0], Kind: head[1], Namespace: head[2], Name: name},
			Version:     version,
		})
	}
	return out, nil
}

var nameEscaper = strings.NewReplacer("%", "%25", ",", "%2C")

func escapeName(n string) string { return nameEscaper.Replace(n) }

func unescapeName(n string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		if n[i] != '%' {
			b.WriteByte(n[i])
			continue
		}
		switch {
		case strings.HasPrefix(n[i:], "%25"):
			b.WriteByte('%')
		case strings.HasPrefix(n[i:], "%2C"):
			b.WriteByte(',')
		default:
			return "", fmt.Errorf("bad escape in name %q", n)
		}
		i += 2
	}
	return b.String(), nil
}
