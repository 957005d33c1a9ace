package helm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/manifest"
)

// renderChart writes a chart of the given files into a temporary checkout and renders it.
func renderChart(t *testing.T, files map[string]string, inline map[string]any) error {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, "chart", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := confine.Open(root, confine.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	_, err = Render(fsys, "chart", Options{ReleaseName: "r", Namespace: "ns", Values: inline},
		manifest.Limits{MaxObjects: 100, MaxBytes: 1 << 20, MaxNodes: 10000})
	return err
}

const chartYAML = "apiVersion: v2\nname: c\nversion: 0.1.0\n"

// A value that breaks the chart's rules is named by its path and the rule, never quoted:
// it may be a password, and the message goes to the Ready condition, an Event and the log.
func TestSchemaErrorsDoNotQuoteValues(t *testing.T) {
	schema := `{"type": "object", "properties": {
	  "password": {"type": "string", "pattern": "^[a-z]+$"},
	  "pin": {"type": "integer", "maximum": 10},
	  "tier": {"enum": ["gold", "silver"]}}}`
	err := renderChart(t, map[string]string{"Chart.yaml": chartYAML, "values.schema.json": schema,
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"},
		map[string]any{"password": "Hunter2-Secret", "pin": 4242, "tier": "platinum-secret"})
	if err == nil {
		t.Fatal("values against the schema rendered")
	}
	msg := err.Error()
	for _, v := range []string{"Hunter2-Secret", "4242", "4,242", "platinum-secret"} {
		if strings.Contains(msg, v) {
			t.Errorf("the message quotes the value %q:\n%s", v, msg)
		}
	}
	for _, want := range []string{"/password", "^[a-z]+$", "/pin", "maximum", "10", "/tier"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q (path and rule):\n%s", want, msg)
		}
	}
}

// fail and required carry the chart author's words; values printed into them are masked.
func TestFailMessagesDoNotQuoteValues(t *testing.T) {
	for name, tpl := range map[string]string{
		"fail":     `{{ fail (printf "password %s is too weak" .Values.password) }}`,
		"required": `{{ required (printf "db.host is required (password %s)" .Values.password) .Values.db.host }}`,
	} {
		t.Run(name, func(t *testing.T) {
			err := renderChart(t, map[string]string{"Chart.yaml": chartYAML, "templates/cm.yaml": tpl},
				map[string]any{"password": "Hunter2-Secret", "db": map[string]any{}})
			if err == nil {
				t.Fatal("rendered")
			}
			if strings.Contains(err.Error(), "Hunter2-Secret") {
				t.Fatalf("the message quotes the value:\n%v", err)
			}
			if !strings.Contains(err.Error(), "is too weak") && !strings.Contains(err.Error(), "is required") {
				t.Fatalf("the author's words are lost:\n%v", err)
			}
		})
	}
}

// Booleans and numbers are not masked: the author's "must be true" stays readable.
func TestFailMessagesKeepBooleans(t *testing.T) {
	err := renderChart(t, map[string]string{"Chart.yaml": chartYAML,
		"templates/cm.yaml": `{{ if .Values.on }}{{ fail "tls.enabled must be true when on is true" }}{{ end }}`},
		map[string]any{"on": true, "replicas": 1000})
	if err == nil || !strings.Contains(err.Error(), "must be true when on is true") {
		t.Fatalf("err = %v", err)
	}
}
