package render

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/test/testbin"
)

// TestParity renders each Kustomize and Helm fixture with Landfall and with the official
// CLIs (built from their Go modules by hack/testbin.sh) and compares the sorted objects.
// Both sides get the same namespace defaulting, which the CLIs do not do themselves; Helm
// runs with --no-hooks, which matches Landfall's policy of leaving hooks out. The plain
// fixture has no official tool to compare with; its golden file covers it.
func TestParity(t *testing.T) {
	for _, f := range fixtures() {
		if f.kind == KindPlain {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			ours, err := New().Render(context.Background(), f.in)
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			if f.kind == KindKustomize {
				out = runCLI(t, testbin.Require(t, "kustomize"), "build", filepath.Join(f.in.Root, f.in.Path))
			} else {
				out = runCLI(t, testbin.Require(t, "helm"), helmArgs(t, f.in)...)
			}
			theirs := decodeCLI(t, out, f.in)
			if diff := cmp.Diff(asJSON(t, theirs), asJSON(t, ours.Objects)); diff != "" {
				t.Errorf("Landfall differs from the official CLI (-cli +landfall):\n%s", diff)
			}
		})
	}
}

func helmArgs(t *testing.T, in Input) []string {
	chart := filepath.Join(in.Root, in.Path)
	args := []string{"template", in.ReleaseName, chart, "--namespace", in.Namespace,
		"--include-crds", "--no-hooks", "--kube-version", in.KubeVersion}
	for _, f := range in.ValuesFiles {
		args = append(args, "--values", filepath.Join(chart, f))
	}
	if len(in.Values) > 0 {
		// Inline values merge like one more values file (--set-json would replace maps).
		j, err := json.Marshal(in.Values)
		if err != nil {
			t.Fatal(err)
		}
		inline := filepath.Join(t.TempDir(), "inline.json")
		if err := os.WriteFile(inline, j, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--values", inline)
	}
	return args
}

func runCLI(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, stderr.String())
	}
	return stdout.Bytes()
}

func decodeCLI(t *testing.T, out []byte, in Input) []*unstructured.Unstructured {
	t.Helper()
	dec := manifest.NewDecoder(manifest.Limits{})
	if err := dec.Decode("cli output", out); err != nil {
		t.Fatal(err)
	}
	objs := dec.Objects()
	if _, err := settleNamespaces(objs, in); err != nil {
		t.Fatal(err)
	}
	sortObjects(objs)
	return objs
}

func asJSON(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	out := make([]string, len(objs))
	for i, o := range objs {
		data, err := json.MarshalIndent(o.Object, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(data)
	}
	return out
}
