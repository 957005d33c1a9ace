package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/helm"
	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/sandbox"
	"github.com/landfall-dev/landfall/test/memcap"
)

func TestMain(m *testing.M) {
	sandbox.Main(ServeIsolated) // the render children of these tests are this test binary
	os.Exit(m.Run())
}

func sandboxed(t *testing.T, cfg sandbox.Config) *Engine {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Command = []string{exe}
	r, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return New(WithIsolator(r))
}

// writeChart writes a chart whose one template is a ConfigMap with value body.
func writeChart(t testing.TB, defines, body string) Input {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"chart/Chart.yaml":               "apiVersion: v2\nname: hostile\nversion: 0.1.0\n",
		"chart/templates/_defines.tpl":   defines,
		"chart/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hostile\ndata:\n  v: {{ " + body + " | quote }}\n",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Input{Root: root, Path: "chart", Namespace: "shop", Revision: "r1"}
}

// doubling defines x0 … x<n>, each twice the one before, from 1 MiB: x12 is 4 GiB.
func doubling(n int) string {
	var b strings.Builder
	b.WriteString(`{{- define "x0" }}{{ repeat 1048576 "x" }}{{ end }}` + "\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{{- define "x%d" }}{{ include "x%d" . }}{{ include "x%d" . }}{{ end }}`+"\n", i, i-1, i-1)
	}
	return b.String()
}

// The budget of the process that asks for a hostile render: the render's own memory is the
// child's, capped by Sandbox.MaxMemory.
var renderCap = memcap.Limits{AddressSpace: 3 << 30, PeakRSS: 256 << 20}

func TestHostileChartsAreBoundedInTheSandbox(t *testing.T) {
	// The memory cases get a timeout no loaded machine reaches first: they prove the
	// memory cap, the endless loop proves the timeout.
	const memoryCase = 5 * time.Minute
	cases := []struct {
		name, defines, body string
		timeout             time.Duration
		names               string
	}{
		{"repeat", "", `repeat 600000000 "x"`, memoryCase, "the render needed more than 256 MiB of memory (the memory limit)"},
		{"nested include", doubling(12), `include "x12" .`, memoryCase, "the render needed more than 256 MiB of memory (the memory limit)"},
		{"until", "", `until 200000000 | len`, memoryCase, "the render needed more than 256 MiB of memory (the memory limit)"},
		{"endless loop", "", `range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}{{ "x"`,
			3 * time.Second, "the render did not finish within 3s (the timeout)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if memcap.Run(t, renderCap) {
				return
			}
			e := sandboxed(t, sandbox.Config{MaxMemory: 256 << 20, Timeout: tc.timeout})
			_, err := e.Render(context.Background(), writeChart(t, tc.defines, tc.body))
			if !errors.Is(err, manifest.ErrLimit) || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("error = %v, want %v naming %q", err, manifest.ErrLimit, tc.names)
			}
		})
	}
}

func TestSandboxRendersLikeThisProcess(t *testing.T) {
	box := sandboxed(t, sandbox.Config{})
	for _, in := range []Input{helmInput("values-production.yaml"), badInput("plain/app"), badInput("kustomize/overlays/production")} {
		in.Policy = Policy{AllowClusterScoped: true, AllowedNamespaces: []string{"*"}}
		want, err := New().Render(context.Background(), in)
		if err != nil {
			t.Fatalf("%s in this process: %v", in.Path, err)
		}
		got, err := box.Render(context.Background(), in)
		if err != nil {
			t.Fatalf("%s in the sandbox: %v", in.Path, err)
		}
		if got.Digest != want.Digest || fmt.Sprint(got.Files) != fmt.Sprint(want.Files) || got.Kind != want.Kind ||
			fmt.Sprint(got.SkippedHooks) != fmt.Sprint(want.SkippedHooks) {
			t.Errorf("%s: sandbox %s %v %v, this process %s %v %v", in.Path, got.Digest, got.Files, got.SkippedHooks,
				want.Digest, want.Files, want.SkippedHooks)
		}
		again, err := box.Render(context.Background(), in)
		if err != nil || !again.Cached {
			t.Errorf("%s: second sandboxed render cached=%v, %v; want it from the cache", in.Path, again != nil && again.Cached, err)
		}
	}
	// Errors keep what callers match on.
	for _, c := range []badCase{
		{"values file climbing out", helmInput("../../../../etc/passwd"), confine.ErrEscapes, "../../../../etc/passwd"},
		{"helm remote dependency", badInput("bad/remote-dependency"), helm.ErrRemoteDependency, "postgresql"},
		{"plain billion laughs", badInput("bad/bomb/plain"), manifest.ErrAliasBomb, "bad/bomb/plain/laughs.yaml"},
	} {
		_, err := box.Render(context.Background(), c.in)
		if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.wantMsg) {
			t.Errorf("%s: error = %v, want %v naming %q", c.name, err, c.wantErr, c.wantMsg)
		}
	}
}
