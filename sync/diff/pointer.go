package diff

import (
	"fmt"
	"strconv"
	"strings"
)

// Pointer is a parsed ignore path: a JSON pointer (RFC 6901) such as "/spec/replicas",
// where a segment "*" stands for every element of a list or every key of a map, so
// "/spec/template/spec/containers/*/image" ignores the image of each container.
type Pointer []string

// ParsePointer parses a JSON pointer; "~1" stands for "/" and "~0" for "~" in a segment.
func ParsePointer(s string) (Pointer, error) {
	if s == "" || s[0] != '/' {
		return nil, fmt.Errorf("ignore path %q: a JSON pointer starts with /", s)
	}
	if s == "/" {
		return nil, fmt.Errorf("ignore path %q: ignoring the whole object is not allowed", s)
	}
	parts := strings.Split(s[1:], "/")
	for i, p := range parts {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(p, "~0", ""), "~1", ""), "~") {
			return nil, fmt.Errorf("ignore path %q: bad escape in segment %q (use ~0 or ~1)", s, p)
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return Pointer(parts), nil
}

// ParsePointers parses each path; the error names the first bad one.
func ParsePointers(paths []string) ([]Pointer, error) {
	out := make([]Pointer, 0, len(paths))
	for _, p := range paths {
		ptr, err := ParsePointer(p)
		if err != nil {
			return nil, err
		}
		out = append(out, ptr)
	}
	return out, nil
}

// String formats the pointer back into its JSON pointer text.
func (p Pointer) String() string {
	var b strings.Builder
	for _, s := range p {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// remove deletes what the pointer addresses inside v, in place. A path that does not
// exist is not an error: the field is simply absent on that side.
func (p Pointer) remove(v any) any {
	if len(p) == 0 {
		return v
	}
	head, rest := p[0], p[1:]
	switch node := v.(type) {
	case map[string]any:
		for k := range node {
			if head != "*" && k != head {
				continue
			}
			if len(rest) == 0 {
				delete(node, k)
			} else {
				node[k] = rest.remove(node[k])
			}
		}
		return node
	case []any:
		return removeFromList(node, head, rest)
	default:
		return v
	}
}

func removeFromList(list []any, head string, rest Pointer) []any {
	if head == "*" {
		if len(rest) == 0 {
			return []any{}
		}
		for i := range list {
			list[i] = rest.remove(list[i])
		}
		return list
	}
	i, err := strconv.Atoi(head)
	if err != nil || i < 0 || i >= len(list) {
		return list
	}
	if len(rest) == 0 {
		return append(list[:i:i], list[i+1:]...)
	}
	list[i] = rest.remove(list[i])
	return list
}
