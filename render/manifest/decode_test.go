package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	stream := `# a comment only
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
---
--- # an empty document
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: two}
---
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "three"}, "spec": {"ports": [{"port": 80}]}}
`
	d := NewDecoder(Limits{})
	if err := d.Decode("stream.yaml", []byte(stream)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range d.Objects() {
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	if got := strings.Join(names, ","); got != "ConfigMap/one,Secret/two,Service/three" {
		t.Errorf("objects = %s", got)
	}
	// Numbers must be int64 for unstructured.DeepCopy not to panic.
	port := d.Objects()[2].Object["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["port"]
	if _, ok := port.(int64); !ok {
		t.Errorf("port is a %T, want int64", port)
	}
	d.Objects()[2].DeepCopy()
}

func TestDecodeErrorsNameFileAndLine(t *testing.T) {
	cases := []struct{ name, stream, want string }{
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "f.yaml: document 1 (line 1): v1 object has no kind"},
		{"no name", "---\nkind: ConfigMap\napiVersion: v1\nmetadata: {}\n", "f.yaml: document 2 (line 2): ConfigMap has no metadata.name"},
		{"syntax", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: [\n", "f.yaml: document 2 (line 6)"},
		{"scalar", "just a string\n", "not an object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := NewDecoder(Limits{}).Decode("f.yaml", []byte(c.stream))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	two := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
	if err := NewDecoder(Limits{MaxObjects: 1}).Decode("f", []byte(two)); !errors.Is(err, ErrLimit) {
		t.Errorf("object limit: %v", err)
	}
	if err := NewDecoder(Limits{MaxBytes: 10}).Decode("f", []byte(two)); !errors.Is(err, ErrLimit) {
		t.Errorf("byte limit: %v", err)
	}
}

func TestCheckAliases(t *testing.T) {
	ok := "base: &b {a: 1, b: 2}\nuse1: *b\nuse2: *b\n"
	if err := CheckAliases("ok.yaml", []byte(ok), 100); err != nil {
		t.Errorf("modest aliases refused: %v", err)
	}
	// 10 levels of 10 aliases: 10^10 nodes from a few hundred bytes.
	var b strings.Builder
	b.WriteString("---\nfirst: doc\n---\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	err := CheckAliases("bomb.yaml", []byte(b.String()), 1_000_000)
	if !errors.Is(err, ErrAliasBomb) || !strings.Contains(err.Error(), "bomb.yaml: document 2 (line 4)") {
		t.Errorf("bomb: %v", err)
	}
	if err := CheckAliases("not yaml", []byte("a: *undefined"), 10); err != nil {
		t.Errorf("broken YAML is for the parser to report: %v", err)
	}
}
