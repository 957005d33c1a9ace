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
