package render

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/landfall-dev/landfall/sandbox"
)

// dbPassword is the secret value of the tests that check secrets stay out of messages.
const dbPassword = "correct-horse-battery-staple"

// TestValuesFromOrder: chart defaults < values files < valuesFrom layers in order < inline
// values, maps merged key by key; the string values of a Secret's layer are Sensitive, and
// a Secret's layer that is not a map fails naming the layer, never quoting it.
func TestValuesFromOrder(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "chart/Chart.yaml"), "apiVersion: v2\nname: shop\nversion: 0.1.0\n")
	write(t, filepath.Join(root, "chart/values.yaml"), "v: {a: chart, b: chart, c: chart, d: chart, e: chart}\n")
	write(t, filepath.Join(root, "chart/values-prod.yaml"), "v: {b: file, c: file, d: file, e: file}\n")
	write(t, filepath.Join(root, "chart/templates/cm.yaml"), `apiVersion: v1
kind: ConfigMap
metadata: {name: order}
data: {a: {{ .Values.v.a }}, b: {{ .Values.v.b }}, c: {{ .Values.v.c }}, d: {{ .Values.v.d }}, e: {{ .Values.v.e }}, pw: {{ .Values.db.password }}}
`)
	from := []ValuesSource{
		{Name: "ConfigMap shop/one key values.yaml", YAML: []byte("v: {c: from1, d: from1, e: from1}\n")},
		{Name: "Secret shop/two key values.yaml", YAML: []byte("v: {d: from2, e: from2}\ndb: {password: " + dbPassword + "}\n"), Sensitive: true},
	}
	for name, e := range engines(t) {
		t.Run(name, func(t *testing.T) {
			in := Input{Root: root, Path: "chart", Namespace: "shop", ValuesFiles: []string{"values-prod.yaml"},
				ValuesFrom: from, Values: map[string]any{"v": map[string]any{"e": "inline"}}}
			res, err := e.Render(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			data := find(res.Objects, "order").Object["data"].(map[string]any)
			want := map[string]any{"a": "chart", "b": "file", "c": "from1", "d": "from2", "e": "inline", "pw": dbPassword}
			for k, v := range want {
				if data[k] != v {
					t.Errorf("%s = %v, want %v", k, data[k], v)
				}
			}
			if !slices.Contains(res.Sensitive, dbPassword) || slices.Contains(res.Sensitive, "from1") {
				t.Errorf("Sensitive should hold the Secret's values only: %d values", len(res.Sensitive))
			}

			// A change of a layer is a new render, never the cached one.
			in.ValuesFrom = []ValuesSource{from[0], {Name: from[1].Name, YAML: []byte("v: {d: changed}\ndb: {password: x}\n"), Sensitive: true}}
			res, err = e.Render(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if got := find(res.Objects, "order").Object["data"].(map[string]any)["d"]; got != "changed" {
				t.Errorf("d = %v after the Secret changed, want changed", got)
			}

			in.ValuesFrom = []ValuesSource{{Name: "Secret shop/bad key values.yaml", YAML: []byte("- " + dbPassword + "\n"), Sensitive: true}}
			_, err = e.Render(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), "Secret shop/bad key values.yaml") || strings.Contains(err.Error(), dbPassword) {
				t.Fatalf("want an error naming the layer without its value, got %v", err)
			}
			if !errors.Is(err, ErrNotValuesMap) {
				t.Fatalf("want ErrNotValuesMap, got %v", err)
			}
		})
	}
}

// TestValuesFromMaskedInFail: a chart's fail message quoting a value from a Secret is masked.
func TestValuesFromMaskedInFail(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "chart/Chart.yaml"), "apiVersion: v2\nname: shop\nversion: 0.1.0\n")
	write(t, filepath.Join(root, "chart/templates/cm.yaml"), `{{ fail (printf "bad password %s" .Values.db.password) }}`)
	for name, e := range engines(t) {
		t.Run(name, func(t *testing.T) {
			_, err := e.Render(context.Background(), Input{Root: root, Path: "chart", Namespace: "shop",
				ValuesFrom: []ValuesSource{{Name: "Secret shop/db key values.yaml", YAML: []byte("db: {password: " + dbPassword + "}\n"), Sensitive: true}}})
			if err == nil || strings.Contains(err.Error(), dbPassword) || !strings.Contains(err.Error(), "bad password") {
				t.Fatalf("want the fail message with the value masked, got %v", err)
			}
		})
	}
}

// engines are the two ways a render runs: in this process, and in a capped child.
func engines(t *testing.T) map[string]*Engine {
	return map[string]*Engine{"in-process": New(), "sandboxed": sandboxed(t, sandbox.Config{Timeout: 2 * time.Minute})}
}

func find(objs []*unstructured.Unstructured, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetName() == name {
			return o
		}
	}
	return &unstructured.Unstructured{Object: map[string]any{}}
}
