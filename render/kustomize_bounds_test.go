package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/sandbox"
	"github.com/landfall-dev/landfall/test/memcap"
)

// fanOut writes a kustomization in app whose every level reaches the next twice, through
// two overlays with their own name suffix, down to a leaf of leaf: 2^levels leaves.
func fanOut(tb testing.TB, levels int, leaf map[string]string) Input {
	root := tb.TempDir()
	files := map[string]string{}
	for i := range levels {
		files[fmt.Sprintf("l%d/kustomization.yaml", i)] = "resources:\n- a\n- b\n"
		for _, side := range []string{"a", "b"} {
			files[fmt.Sprintf("l%d/%s/kustomization.yaml", i, side)] = fmt.Sprintf("nameSuffix: -%s\nresources:\n- ../../l%d\n", side, i+1)
		}
	}
	for name, content := range leaf {
		files[fmt.Sprintf("l%d/%s", levels, name)] = content
	}
	writeFiles(tb, root, files)
	return Input{Root: root, Path: "l0", Namespace: "shop", Revision: "r1"}
}

func configMap(size int) map[string]string {
	return map[string]string{
		"kustomization.yaml": "resources:\n- cm.yaml\n",
		"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: " + strings.Repeat("x", size) + "\n",
	}
}

var kustomizeBombs = []struct {
	name  string
	input func(testing.TB) Input
	names string
}{
	// 65,536 copies of one small ConfigMap.
	{"fan-out", func(tb testing.TB) Input { return fanOut(tb, 16, configMap(10)) },
		"more than 10000 kustomizations, counting each base and component once per reference (MaxKustomizations)"},
	// 512 copies of a ConfigMap generated from a 1 MiB file.
	{"generator", func(tb testing.TB) Input {
		return fanOut(tb, 9, map[string]string{
			"kustomization.yaml": "configMapGenerator:\n- name: big\n  files:\n  - big.txt\n",
			"big.txt":            strings.Repeat("x", 1<<20),
		})
	}, "reads more than 268435456 bytes, counting each base's files once per reference"},
	// 512 copies of a 1 MiB ConfigMap.
	{"large base", func(tb testing.TB) Input { return fanOut(tb, 9, configMap(1<<20)) },
		"reads more than 268435456 bytes"},
}

// Kustomizations that multiply their bases are refused before krusty builds any copy.
func TestKustomizeMultiplicationIsBoundedBeforeTheBuild(t *testing.T) {
	for _, tc := range kustomizeBombs {
		t.Run(tc.name, func(t *testing.T) {
			if memcap.Run(t, renderCap) {
				return
			}
			_, err := New().Render(context.Background(), tc.input(t))
			if !errors.Is(err, manifest.ErrLimit) || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("error = %v, want %v naming %q", err, manifest.ErrLimit, tc.names)
			}
		})
	}
	res, err := New().Render(context.Background(), fanOut(t, 3, configMap(10)))
	if err != nil || len(res.Objects) != 8 {
		t.Fatalf("a fan-out of 8: %v, %v", err, res)
	}
}

// patchFanOut writes a kustomization of n small ConfigMaps and one patch of size bytes that
// targets them all: the files are small, what krusty builds from them is n × size.
func patchFanOut(tb testing.TB, n, size int) Input {
	var cms strings.Builder
	for i := range n {
		fmt.Fprintf(&cms, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n", i)
	}
	root := tb.TempDir()
	writeFiles(tb, root, map[string]string{
		"app/kustomization.yaml": "resources:\n- cms.yaml\npatches:\n- path: patch.yaml\n  target:\n    kind: ConfigMap\n",
		"app/cms.yaml":           cms.String(),
		"app/patch.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: any\ndata:\n  v: " + strings.Repeat("x", size) + "\n",
	})
	return Input{Root: root, Path: "app", Namespace: "shop", Revision: "r1"}
}

// A patch that fans out over every object multiplies while krusty builds, where no count of
// the files can see it: the render child's bounds (its memory cap and its timeout, whichever
// comes first: kustomize patches slower than it allocates) fail that render alone, the limit
// named.
func TestKustomizePatchFanOutIsBoundedInTheSandbox(t *testing.T) {
	if memcap.Run(t, renderCap) {
		return
	}
	// 2,000 copies of a 1 MiB patch: 2 GiB built, against a 256 MiB cap and a 5 s timeout.
	e := sandboxed(t, sandbox.Config{MaxMemory: 256 << 20, Timeout: 5 * time.Second})
	_, err := e.Render(context.Background(), patchFanOut(t, 2000, 1<<20))
	named := err != nil && (strings.Contains(err.Error(), "(the memory limit)") || strings.Contains(err.Error(), "(the timeout)"))
	if !errors.Is(err, manifest.ErrLimit) || !named {
		t.Fatalf("error = %v, want %v naming the memory limit or the timeout", err, manifest.ErrLimit)
	}
	// The same shape at a size that fits renders whole.
	res, err := e.Render(context.Background(), patchFanOut(t, 20, 10))
	if err != nil || len(res.Objects) != 20 {
		t.Fatalf("a patch over 20 ConfigMaps: %v, %v", err, res)
	}
}
