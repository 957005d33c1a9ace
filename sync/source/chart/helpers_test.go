package chart_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// writeChart writes a chart with one ConfigMap into root and returns its folder. With
// depRepo set, it depends on the chart lib (^1.0.0) from that repository.
func writeChart(t testing.TB, root, name, version, configMap, depRepo string) string {
	t.Helper()
	dir := filepath.Join(root, name+"-"+version)
	meta := fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)
	if depRepo != "" {
		meta += fmt.Sprintf("dependencies:\n- name: lib\n  version: ^1.0.0\n  repository: %s\n", depRepo)
	}
	files := map[string]string{
		"Chart.yaml":        meta,
		"values.yaml":       "greeting: hello\n",
		"templates/cm.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  greeting: {{ .Values.greeting | quote }}\n", configMap),
	}
	for n, data := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// packNoVendor packages a chart whose dependencies are not in charts/, as `helm package`
// would not (it refuses) but other tools do.
func packNoVendor(t testing.TB, dir string) []byte {
	t.Helper()
	ch, err := loader.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	p, err := chartutil.Save(ch, out)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var digestLine = regexp.MustCompile(`digest: [0-9a-f]{64}`)

// replaceDigest gives every entry of an index the digest of other bytes.
func replaceDigest(t *testing.T, index string) string {
	t.Helper()
	sum := sha256.Sum256([]byte("another archive"))
	out := digestLine.ReplaceAllString(index, "digest: "+hex.EncodeToString(sum[:]))
	if out == index {
		t.Fatal("the index has no digest to replace")
	}
	return out
}
