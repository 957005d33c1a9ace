package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runHealth(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newHealthCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

const healthStream = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
---
# an empty document, as Helm often leaves
---
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: shop, generation: 2}
  spec: {replicas: 2}
  status: {observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: data, namespace: shop}
  status: {phase: Lost}
`

func TestHealthCommand(t *testing.T) {
	want := "ConfigMap/settings Healthy\n" +
		"Deployment/web Progressing 1 of 2 updated replicas available\n" +
		"PersistentVolumeClaim/data Degraded the bound volume is lost\n"

	out, err := runHealth(t, healthStream, "-f", "-")
	if err != nil || out != want {
		t.Errorf("stdin: got %q, %v; want %q", out, err, want)
	}

	file := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(file, []byte(healthStream), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runHealth(t, "", "-f", file)
	if err != nil || out != want {
		t.Errorf("file: got %q, %v; want %q", out, err, want)
	}
}

func TestHealthCommandUnreadable(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		errPart     string
	}{
		{"missing file", "", []string{"-f", filepath.Join(t.TempDir(), "nope.yaml")}, "no such file"},
		{"bad yaml", "kind: [unclosed\n", []string{"-f", "-"}, "document 1"},
		{"no kind", "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nmetadata: {name: x}\n", []string{"-f", "-"}, "document 2"},
		{"no flag", "", nil, "filename"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runHealth(t, tt.stdin, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.errPart)
			}
		})
	}
}

// TestHealthCommandRules: a rule for a kind wins over the built-in rules; a rules file that
// does not compile, or has a field no rule has, is refused naming what is wrong, by
// `landfall health` and by the controller at start, before it reaches any cluster.
func TestHealthCommandRules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "- {group: apps, kind: Deployment, current: 'status.availableReplicas >= 1'}\n")
	out, err := runHealth(t, healthStream, "-f", "-", "--rules", good)
	if err != nil || !strings.Contains(out, "Deployment/web Healthy health rule: current is true\n") ||
		!strings.Contains(out, "PersistentVolumeClaim/data Degraded") {
		t.Fatalf("with rules: got %q, %v", out, err)
	}
	for _, tc := range []struct{ name, content, want string }{
		{"does not compile", "- {kind: Widget, current: 'status.phase ==='}\n", "health rule 0 (Widget): current: ERROR"},
		{"unknown field", "- {kind: Widget, current: 'true', healthy: 'true'}\n", `unknown field "healthy"`},
		{"not a list", "kind: Widget\n", "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(tc.name+".yaml", tc.content)
			if _, err := runHealth(t, healthStream, "-f", "-", "--rules", path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("landfall health: err = %v, want %q", err, tc.want)
			}
			cmd := newControllerCmd()
			cmd.SetArgs([]string{"--health-rules", path, "--kubeconfig", filepath.Join(dir, "none")})
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("landfall controller: err = %v, want %q", err, tc.want)
			}
		})
	}
}
