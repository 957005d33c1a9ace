package render

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeFiles writes files (path relative to root → content).
func writeFiles(tb testing.TB, root string, files map[string]string) {
	tb.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// monorepo writes n Kustomize apps sharing one base: apps/app-NNN/{kustomization,config}.
func monorepo(tb testing.TB, root string, n int) {
	tb.Helper()
	files := map[string]string{
		"platform/base/kustomization.yaml": "resources:\n- deployment.yaml\n",
		"platform/base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: app
        image: registry.example.com/app:1.0.0
`,
	}
	for i := range n {
		dir := appDir(i)
		files[dir+"/kustomization.yaml"] = fmt.Sprintf(`resources:
- ../../platform/base
namePrefix: app-%03d-
configMapGenerator:
- name: config
  files: [config.properties]
`, i)
		files[dir+"/config.properties"] = fmt.Sprintf("app=%d\nversion=1\n", i)
	}
	writeFiles(tb, root, files)
}

func appDir(i int) string { return fmt.Sprintf("apps/app-%03d", i) }

// renderAll renders every app of the monorepo at one revision.
func renderAll(tb testing.TB, e *Engine, root, rev string, n int) map[string]string {
	tb.Helper()
	digests := make(map[string]string, n)
	for i := range n {
		res, err := e.Render(tb.Context(), Input{Root: root, Path: appDir(i), Namespace: "apps", Revision: rev})
		if err != nil {
			tb.Fatal(err)
		}
		digests[appDir(i)] = res.Digest
	}
	return digests
}

func TestMonorepoCommitRerendersOnlyTouchedApps(t *testing.T) {
	const n = 200
	e := New()
	commit1 := filepath.Join(t.TempDir(), "commit1")
	monorepo(t, commit1, n)
	first := renderAll(t, e, commit1, "c1", n)
	if s := e.Stats(); s.Renders != n {
		t.Fatalf("first commit: %d renders, want %d", s.Renders, n)
	}

	// The next commit is a new checkout in which one app changed.
	commit2 := filepath.Join(t.TempDir(), "commit2")
	monorepo(t, commit2, n)
	writeFiles(t, commit2, map[string]string{appDir(42) + "/config.properties": "app=42\nversion=2\n"})
	before := e.Stats()
	second := renderAll(t, e, commit2, "c2", n)
	after := e.Stats()
	if got := after.Renders - before.Renders; got != 1 {
		t.Errorf("commit touching one app ran %d renders, want 1", got)
	}
	if got := after.Hits - before.Hits; got != n-1 {
		t.Errorf("commit touching one app had %d cache hits, want %d", got, n-1)
	}
	for app, d := range second {
		if changed := d != first[app]; changed != (app == appDir(42)) {
			t.Errorf("%s: output changed = %v", app, changed)
		}
	}

	// Touching the shared base changes every app.
	writeFiles(t, commit2, map[string]string{"platform/base/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n"})
	before = e.Stats()
	renderAll(t, e, commit2, "c3", n)
	if got := e.Stats().Renders - before.Renders; got != n {
		t.Errorf("commit touching the shared base ran %d renders, want %d", got, n)
	}
}
