package render

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/test/memcap"
)

// chartWithSchema writes a chart whose values.schema.json is schema.
func chartWithSchema(t testing.TB, schema string) Input {
	t.Helper()
	in := writeChart(t, "", `"ok"`)
	if err := os.WriteFile(filepath.Join(in.Root, "chart/values.schema.json"), []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestSchemaReferencesStayInTheDocument(t *testing.T) {
	var asked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		asked.Add(1)
		_, _ = w.Write([]byte(`{"type": "object"}`))
	}))
	t.Cleanup(srv.Close)
	for _, ref := range []string{srv.URL + "/schema.json", "file:///etc/passwd", "../../outside.json", "other.json#/x"} {
		t.Run(ref, func(t *testing.T) {
			in := chartWithSchema(t, `{"properties": {"a": {"$ref": "`+ref+`"}}}`)
			expectRefused(t, New(), badCase{ref, in, nil, "references to other schema documents are not allowed"})
		})
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("a schema reference reached the network %d times", n)
	}
	// A recursive schema is fine: each reference back counts once.
	tree := `{"$defs": {"node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
		"properties": {"tree": {"$ref": "#/$defs/node"}}}`
	if _, err := New().Render(context.Background(), chartWithSchema(t, tree)); err != nil {
		t.Errorf("a recursive schema: %v", err)
	}
}

// doublingSchema defines d0 … dn, each referring twice to the next: 2ⁿ schemas expanded.
func doublingSchema(n int) string {
	var defs []string
	for i := range n {
		defs = append(defs, fmt.Sprintf(`"d%d": {"allOf": [{"$ref": "#/$defs/d%d"}, {"$ref": "#/$defs/d%d"}]}`, i, i+1, i+1))
	}
	defs = append(defs, fmt.Sprintf(`"d%d": {"type": "object"}`, n))
	return `{"$defs": {` + strings.Join(defs, ",") + `}, "$ref": "#/$defs/d0"}`
}

// chainSchema defines d0 … dn, each referring to the next.
func chainSchema(n int) string {
	var defs []string
	for i := range n {
		defs = append(defs, fmt.Sprintf(`"d%d": {"$ref": "#/$defs/d%d"}`, i, i+1))
	}
	defs = append(defs, fmt.Sprintf(`"d%d": {"type": "object"}`, n))
	return `{"$defs": {` + strings.Join(defs, ",") + `}, "$ref": "#/$defs/d0"}`
}

var schemaBombs = []struct{ name, schema, names string }{
	{"doubling", doublingSchema(60), "more than 100000 schemas (MaxSchemaNodes)"},
	{"chain", chainSchema(100), "chains of more than 32 $ref (MaxSchemaRefDepth)"},
}

// Schemas whose references ask for exponential or endlessly deep work are refused before
// they are compiled.
func TestSchemaReferencesAreBounded(t *testing.T) {
	for _, tc := range schemaBombs {
		t.Run(tc.name, func(t *testing.T) {
			if memcap.Run(t, renderCap) {
				return
			}
			_, err := New().Render(context.Background(), chartWithSchema(t, tc.schema))
			if !errors.Is(err, manifest.ErrLimit) || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("error = %v, want %v naming %q", err, manifest.ErrLimit, tc.names)
			}
		})
	}
	if _, err := New().Render(context.Background(), chartWithSchema(t, chainSchema(20))); err != nil {
		t.Errorf("a chain of 20 references: %v", err)
	}
}
