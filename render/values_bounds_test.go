package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/test/memcap"
)

// chartWithValues writes a chart with values files (name → content), used in order.
func chartWithValues(t testing.TB, files map[string]string, order ...string) Input {
	t.Helper()
	in := writeChart(t, "", `"ok"`)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(in.Root, "chart", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in.ValuesFiles = order
	return in
}

func nested(depth int) map[string]any {
	v := map[string]any{"leaf": "x"}
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}

var valuesBombs = []struct {
	name  string
	in    func(testing.TB) Input
	names string
}{
	{"deep values file", func(t testing.TB) Input {
		return chartWithValues(t, map[string]string{"deep.yaml": "x: " + strings.Repeat("{a: ", 150) + "1" + strings.Repeat("}", 150)}, "deep.yaml")
	}, "values nest more than 100 levels deep (MaxValuesDepth)"},
	{"deep inline values", func(t testing.TB) Input {
		in := writeChart(t, "", `"ok"`)
		in.Values = nested(150)
		return in
	}, "values nest more than 100 levels deep (MaxValuesDepth)"},
	{"values files in all", func(t testing.TB) Input {
		twelveMiB := "v: " + strings.Repeat("x", 12<<20) + "\n"
		return chartWithValues(t, map[string]string{"a.yaml": twelveMiB, "b.yaml": twelveMiB, "c.yaml": twelveMiB}, "a.yaml", "b.yaml", "c.yaml")
	}, "chart/c.yaml: the values pass 33554432 bytes (MaxValuesBytes)"},
	{"valuesFrom with the values files", func(t testing.TB) Input {
		twelveMiB := "v: " + strings.Repeat("x", 12<<20) + "\n"
		in := chartWithValues(t, map[string]string{"a.yaml": twelveMiB, "b.yaml": twelveMiB}, "a.yaml", "b.yaml")
		in.ValuesFrom = []ValuesSource{{Name: "Secret shop/big key values.yaml", YAML: []byte(twelveMiB), Sensitive: true}}
		return in
	}, "Secret shop/big key values.yaml: the values pass 33554432 bytes (MaxValuesBytes)"},
	{"deep valuesFrom", func(t testing.TB) Input {
		in := writeChart(t, "", `"ok"`)
		in.ValuesFrom = []ValuesSource{{Name: "ConfigMap shop/deep key values.yaml",
			YAML: []byte("x: " + strings.Repeat("{a: ", 150) + "1" + strings.Repeat("}", 150))}}
		return in
	}, "values nest more than 100 levels deep (MaxValuesDepth)"},
}

func TestValuesAreBounded(t *testing.T) {
	for _, tc := range valuesBombs {
		t.Run(tc.name, func(t *testing.T) {
			if memcap.Run(t, renderCap) {
				return
			}
			_, err := New().Render(context.Background(), tc.in(t))
			if !errors.Is(err, manifest.ErrLimit) || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("error = %v, want %v naming %q", err, manifest.ErrLimit, tc.names)
			}
		})
	}
	ok := writeChart(t, "", `"ok"`)
	ok.Values = nested(90)
	if _, err := New().Render(context.Background(), ok); err != nil {
		t.Errorf("values 90 levels deep: %v", err)
	}
}
