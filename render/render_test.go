package render

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// repo is the checkout root of the fixtures; testdata/outside is outside it on purpose.
const repo = "testdata/repo"

type fixture struct {
	name      string
	in        Input
	kind      Kind
	skipHooks []string
}

func fixtures() []fixture {
	return []fixture{
		{name: "kustomize-staging", kind: KindKustomize, in: Input{
			Root: repo, Path: "kustomize/overlays/staging", Namespace: "shop-staging", Revision: "r1"}},
		{name: "kustomize-production", kind: KindKustomize, in: Input{
			Root: repo, Path: "kustomize/overlays/production", Namespace: "shop-prod", Revision: "r1"}},
		{name: "helm-staging", kind: KindHelm, in: Input{
			Root: repo, Path: "helm/shop", Namespace: "shop-staging", ReleaseName: "shop",
			ValuesFiles: []string{"values-staging.yaml"},
			Values:      map[string]any{"config": map[string]any{"FEATURE_X": "on"}},
			KubeVersion: "v1.37.0", Revision: "r1", Policy: Policy{AllowClusterScoped: true}},
			skipHooks: []string{
				"Job/shop-migrate (pre-install,pre-upgrade) from shop/templates/hooks/migrate-job.yaml",
				"Pod/shop-test (test) from shop/templates/tests/test-connection.yaml",
			}},
		{name: "helm-production", kind: KindHelm, in: Input{
			Root: repo, Path: "helm/shop", Namespace: "shop-prod", ReleaseName: "storefront",
			ValuesFiles: []string{"values-production.yaml"}, Values: map[string]any{"replicaCount": 7},
			KubeVersion: "v1.33.1", Revision: "r1", Policy: Policy{AllowClusterScoped: true}},
			skipHooks: []string{
				"Job/storefront-shop-migrate (pre-install,pre-upgrade) from shop/templates/hooks/migrate-job.yaml",
				"Pod/storefront-shop-test (test) from shop/templates/tests/test-connection.yaml",
			}},
		{name: "plain", kind: KindPlain, in: Input{
			Root: repo, Path: "plain/app", Namespace: "shop-plain", Revision: "r1"}},
	}
}

func TestRenderFixtures(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			res, err := New().Render(context.Background(), f.in)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if res.Kind != f.kind {
				t.Errorf("kind = %s, want %s", res.Kind, f.kind)
			}
			if !slices.Equal(res.SkippedHooks, f.skipHooks) {
				t.Errorf("skipped hooks = %q, want %q", res.SkippedHooks, f.skipHooks)
			}
			if len(res.Files) == 0 || res.Digest == "" {
				t.Errorf("files %v and digest %q should be set", res.Files, res.Digest)
			}
			var got bytes.Buffer
			if err := WriteYAML(&got, res.Objects); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", f.name+".yaml")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./render -run TestRenderFixtures -update)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("render differs from %s (rerun with -update if intended):\n%s", golden, got.String())
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			a, err := New().Render(context.Background(), f.in)
			if err != nil {
				t.Fatal(err)
			}
			b, err := New().Render(context.Background(), f.in)
			if err != nil {
				t.Fatal(err)
			}
			if a.Digest != b.Digest {
				t.Errorf("two renders differ: %s vs %s", a.Digest, b.Digest)
			}
		})
	}
}

func TestPlainSkipsHiddenAndOtherFiles(t *testing.T) {
	res, err := New().Render(context.Background(), Input{Root: repo, Path: "plain/app", Namespace: "shop-plain"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		if o.GetName() == "hidden-draft-must-not-render" {
			t.Errorf("hidden file .draft.yaml was rendered")
		}
	}
	if slices.Contains(res.Files, "plain/app/README.md") {
		t.Errorf("README.md was read: %v", res.Files)
	}
	if len(res.Objects) != 6 {
		t.Errorf("got %d objects, want 6 (Namespace, Deployment, CronJob, ConfigMap, Service, Secret from a List)", len(res.Objects))
	}
}
