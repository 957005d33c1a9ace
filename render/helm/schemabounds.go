package helm

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/landfall-dev/landfall/render/manifest"
)

// Bounds of a values schema, checked on the parsed document before it is compiled. A
// $ref is followed wherever it appears, so a few lines can ask the validator for
// exponential work (each definition referring twice to the next) or a recursion as deep
// as the chain of references; the bounds count the schema as if every reference were
// written out in place, a reference back to a schema it is already inside counting once.
const (
	// MaxSchemaNodes bounds the schema's nodes with its references expanded.
	MaxSchemaNodes = 100_000
	// MaxSchemaRefDepth bounds how many references a chain of references follows.
	MaxSchemaRefDepth = 32
)

// schemaBounds walks one schema document.
type schemaBounds struct {
	root    any
	anchors map[string]string // $anchor → JSON pointer
	done    map[string]schemaCost
	active  map[string]bool // pointers being expanded: a reference back is recursion
}

type schemaCost struct{ nodes, depth int }

// checkSchema refuses a schema whose references leave the document or expand past the
// bounds, before any of it is compiled.
func checkSchema(doc any) error {
	b := &schemaBounds{root: doc, anchors: map[string]string{}, done: map[string]schemaCost{}, active: map[string]bool{}}
	b.collectAnchors(doc, "")
	c, err := b.cost("")
	if err != nil {
		return err
	}
	switch {
	case c.nodes > MaxSchemaNodes:
		return fmt.Errorf("values.schema.json expands, through $ref, to more than %d schemas (MaxSchemaNodes): %w",
			MaxSchemaNodes, manifest.ErrLimit)
	case c.depth > MaxSchemaRefDepth:
		return fmt.Errorf("values.schema.json follows chains of more than %d $ref (MaxSchemaRefDepth): %w",
			MaxSchemaRefDepth, manifest.ErrLimit)
	}
	return nil
}

func (b *schemaBounds) collectAnchors(n any, ptr string) {
	switch n := n.(type) {
	case map[string]any:
		for _, k := range []string{"$anchor", "$dynamicAnchor"} {
			if a, ok := n[k].(string); ok {
				b.anchors[a] = ptr
			}
		}
		for k, v := range n {
			b.collectAnchors(v, ptr+"/"+escapePointer(k))
		}
	case []any:
		for i, v := range n {
			b.collectAnchors(v, ptr+"/"+strconv.Itoa(i))
		}
	}
}

// cost is the expanded size and reference depth of the schema at ptr, memoised.
func (b *schemaBounds) cost(ptr string) (schemaCost, error) {
	if c, ok := b.done[ptr]; ok {
		return c, nil
	}
	if b.active[ptr] {
		return schemaCost{nodes: 1}, nil
	}
	n, ok := b.lookup(ptr)
	if !ok {
		return schemaCost{}, fmt.Errorf("values.schema.json: $ref to %q: no such schema in the document", "#"+ptr)
	}
	b.active[ptr] = true
	defer delete(b.active, ptr)
	c := schemaCost{nodes: 1}
	add := func(sub schemaCost, viaRef bool) {
		c.nodes = min(c.nodes+sub.nodes, MaxSchemaNodes+1) // saturate: no overflow
		if viaRef {
			sub.depth++
		}
		c.depth = max(c.depth, sub.depth)
	}
	switch n := n.(type) {
	case map[string]any:
		for k, v := range n {
			if s, isRef := v.(string); isRef && (k == "$ref" || k == "$dynamicRef") {
				target, err := b.resolve(s)
				if err != nil {
					return schemaCost{}, err
				}
				sub, err := b.cost(target)
				if err != nil {
					return schemaCost{}, err
				}
				add(sub, true)
				continue
			}
			sub, err := b.cost(ptr + "/" + escapePointer(k))
			if err != nil {
				return schemaCost{}, err
			}
			add(sub, false)
		}
	case []any:
		for i := range n {
			sub, err := b.cost(ptr + "/" + strconv.Itoa(i))
			if err != nil {
				return schemaCost{}, err
			}
			add(sub, false)
		}
	}
	c.depth = min(c.depth, MaxSchemaRefDepth+1)
	b.done[ptr] = c
	return c, nil
}

// resolve turns a reference into a JSON pointer in this document; a reference to any
// other document, by URL or by path, is refused here, before anything could load it.
func (b *schemaBounds) resolve(ref string) (string, error) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return "", fmt.Errorf("values.schema.json: $ref %q: %w", ref, errNoRefs)
	}
	if frag == "" || strings.HasPrefix(frag, "/") {
		p, err := url.PathUnescape(frag)
		if err != nil {
			return "", fmt.Errorf("values.schema.json: $ref %q: %w", ref, err)
		}
		return p, nil
	}
	if p, ok := b.anchors[frag]; ok {
		return p, nil
	}
	return "", fmt.Errorf("values.schema.json: $ref %q: no such anchor in the document", ref)
}

// lookup finds the node at a JSON pointer.
func (b *schemaBounds) lookup(ptr string) (any, bool) {
	n := b.root
	if ptr == "" {
		return n, true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch m := n.(type) {
		case map[string]any:
			v, ok := m[tok]
			if !ok {
				return nil, false
			}
			n = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(m) {
				return nil, false
			}
			n = m[i]
		default:
			return nil, false
		}
	}
	return n, true
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
