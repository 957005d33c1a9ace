// Package manifest turns YAML or JSON streams into Kubernetes objects, within limits: the
// number of objects, the bytes decoded and the size of each document after YAML alias
// expansion. Every error names the file (or template) and the line where the document starts.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// ErrLimit means a render produced more objects or bytes than allowed.
var ErrLimit = errors.New("render limit exceeded")

// Limits bound one decoding session. Zero fields mean no limit.
type Limits struct {
	MaxObjects int   // objects in total
	MaxBytes   int64 // YAML bytes in total
	MaxNodes   int   // nodes per document after alias expansion
}

// Decoder collects the objects of several streams, enforcing Limits across all of them.
type Decoder struct {
	limits  Limits
	bytes   int64
	objects []*unstructured.Unstructured
}

// NewDecoder starts a session.
func NewDecoder(l Limits) *Decoder { return &Decoder{limits: l} }

// Objects returns what was decoded so far, in input order.
func (d *Decoder) Objects() []*unstructured.Unstructured { return d.objects }

// Decode adds the objects of one YAML or JSON stream. name is used in errors. Empty
// documents are skipped; a List is replaced by its items.
func (d *Decoder) Decode(name string, data []byte) error {
	d.bytes += int64(len(data))
	if m := d.limits.MaxBytes; m > 0 && d.bytes > m {
		return fmt.Errorf("%s: the render passes %d bytes of YAML: %w", name, m, ErrLimit)
	}
	for _, doc := range split(data) {
		where := fmt.Sprintf("%s: document %d (line %d)", name, doc.index, doc.line)
		if n, _ := firstBomb(doc.data, d.limits.MaxNodes); n > 0 {
			return fmt.Errorf("%s: expands to more than %d nodes: %w", where, d.limits.MaxNodes, ErrAliasBomb)
		}
		objs, err := toObjects(doc.data)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for _, o := range objs {
			if m := d.limits.MaxObjects; m > 0 && len(d.objects) >= m {
				return fmt.Errorf("%s: the render passes %d objects: %w", where, m, ErrLimit)
			}
			d.objects = append(d.objects, o)
		}
	}
	return nil
}

func toObjects(doc []byte) ([]*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object but a %T", v)
	}
	obj := &unstructured.Unstructured{Object: m}
	if obj.GetKind() == "List" {
		return listItems(obj)
	}
	if err := Validate(obj); err != nil {
		return nil, err
	}
	return []*unstructured.Unstructured{obj}, nil
}

func listItems(list *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	items, ok := list.Object["items"].([]any)
	if !ok && list.Object["items"] != nil {
		return nil, errors.New("the items of a List are not a list")
	}
	out := make([]*unstructured.Unstructured, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("item %d of a List is not an object", i)
		}
		obj := &unstructured.Unstructured{Object: m}
		if err := Validate(obj); err != nil {
			return nil, fmt.Errorf("item %d of a List: %w", i, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// Validate checks what every applied object needs: apiVersion, kind and a fixed name
// (generateName cannot be applied idempotently).
func Validate(obj *unstructured.Unstructured) error {
	if _, ok := obj.Object["apiVersion"].(string); !ok || obj.GetAPIVersion() == "" {
		return errors.New("object has no apiVersion")
	}
	if _, ok := obj.Object["kind"].(string); !ok || obj.GetKind() == "" {
		return fmt.Errorf("%s object has no kind", obj.GetAPIVersion())
	}
	if _, ok := obj.Object["metadata"].(map[string]any); !ok {
		return fmt.Errorf("%s has no metadata", obj.GetKind())
	}
	if obj.GetName() == "" {
		return fmt.Errorf("%s has no metadata.name", obj.GetKind())
	}
	return nil
}

type document struct {
	index, line int
	data        []byte
}

// split cuts a stream at "---" lines, remembering where each document starts so errors can
// point at it.
func split(data []byte) []document {
	var docs []document
	start, startLine, line := 0, 1, 1
	for pos := 0; pos <= len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data) + 1
		if end >= 0 {
			next = pos + end + 1
		}
		text := data[pos:min(next, len(data))]
		if isSeparator(text) {
			docs = append(docs, document{index: len(docs) + 1, line: startLine, data: data[start:pos]})
			start, startLine = min(next, len(data)), line+1
		}
		pos, line = next, line+1
	}
	docs = append(docs, document{index: len(docs) + 1, line: startLine, data: data[start:]})
	return docs
}

func isSeparator(line []byte) bool {
	s := strings.TrimRight(string(line), " \t\r\n")
	if !strings.HasPrefix(s, "---") {
		return false
	}
	rest := strings.TrimLeft(s[3:], " \t")
	return rest == "" || (len(rest) < len(s)-3 && strings.HasPrefix(rest, "#"))
}
