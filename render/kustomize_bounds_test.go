package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/render/manifest"
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
