package v1alpha1_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/landfall-dev/landfall/test/cluster"
)

// TestCRDValidation installs the generated CRDs into a real apiserver and proves the apiserver
// itself accepts the design's examples and refuses bad specs with a readable message.
func TestCRDValidation(t *testing.T) {
	env, err := cluster.NewEnvtest()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	examples := readYAML(t, "testdata/design-examples.yaml")
	for _, obj := range examples {
		obj.SetNamespace("default")
		if err := c.Create(ctx, obj); err != nil {
			t.Errorf("design example %s/%s refused: %v", obj.GetKind(), obj.GetName(), err)
		}
	}

	tests := []struct {
		name    string
		kind    string
		mutate  func(spec map[string]any)
		message string
	}{
		{"no repositoryRef", "Application", func(s map[string]any) { delete(s, "repositoryRef") }, "spec.repositoryRef: Required value"},
		{"no environments", "Application", func(s map[string]any) { s["environments"] = []any{} }, "spec.environments: Invalid value"},
		{"path escapes", "Application", func(s map[string]any) { s["path"] = "apps/../../etc" }, "path must be relative and must not contain '..'"},
		{"weight 0", "Application", setWeights(0, 50), "spec.rollout.steps[0].weight: Invalid value: 0: spec.rollout.steps[0].weight in body should be greater than or equal to 1"},
		{"weight 150", "Application", setWeights(25, 150), "should be less than or equal to 100"},
		{"weights descending", "Application", setWeights(50, 25), "step weights must be strictly ascending"},
		{"weights repeated", "Application", setWeights(50, 50), "step weights must be strictly ascending"},
		{"canary without steps", "Application", func(s map[string]any) { delete(s["rollout"].(map[string]any), "steps") }, "a Canary rollout needs steps"},
		{"bakeTime on the last environment", "Application", func(s map[string]any) {
			envs := s["environments"].([]any)
			envs[len(envs)-1].(map[string]any)["bakeTime"] = "10m"
		}, "set it on the environment that bakes (staging), not on the last one"},
		{"depends on itself", "Application", func(s map[string]any) {
			s["dependsOn"] = []any{map[string]any{"name": "depends-on-itself"}}
		}, "an Application cannot depend on itself"},
		{"health rule without current", "Application", func(s map[string]any) {
			s["healthCheckExprs"] = []any{map[string]any{"kind": "Database", "failed": "true"}}
		}, "spec.healthCheckExprs[0].current: Required value"},
		{"bad window kind", "Application", func(s map[string]any) {
			s["syncWindows"] = []any{map[string]any{"kind": "maybe", "schedule": "0 18 * * 5", "duration": "1h"}}
		}, `Unsupported value: "maybe"`},
		{"both branch and tag", "Repository", func(s map[string]any) { s["ref"] = map[string]any{"branch": "main", "tag": "v1"} }, "exactly one of branch, tag, semver or commit must be set"},
		{"no ref", "Repository", func(s map[string]any) { s["ref"] = map[string]any{} }, "exactly one of branch, tag, semver or commit must be set"},
		{"negative interval", "Repository", func(s map[string]any) { s["interval"] = "-1m" }, "interval must be at least 1s"},
		{"short commit", "Repository", func(s map[string]any) { s["ref"] = map[string]any{"commit": "abc"} }, "spec.ref.commit in body should match"},
		{"file URL", "Repository", func(s map[string]any) { s["url"] = "file:///etc" }, "spec.url in body should match"},
		{"chart on a branch", "Repository", func(s map[string]any) { s["chart"] = "shop" }, "a chart's ref is a version (tag) or a semver range (semver)"},
		{"artifact on a branch", "Repository", func(s map[string]any) { s["url"] = "oci://registry.example/config" }, "an OCI artifact's ref is a tag, a semver range or a digest"},
		{"digest on Git", "Repository", func(s map[string]any) { s["ref"] = map[string]any{"digest": "sha256:" + strings.Repeat("a", 64)} }, "ref.digest pins an OCI artifact"},
		{"chart over ssh", "Repository", func(s map[string]any) {
			s["chart"], s["url"], s["ref"] = "shop", "ssh://git@git.example.com/charts", map[string]any{"semver": "1.x"}
		}, "a chart repository URL is https:// (its index.yaml) or oci://"},
		{"maxPreviews 0", "Preview", func(s map[string]any) { s["maxPreviews"] = 0 }, "should be greater than or equal to 1"},
		{"no refs", "Preview", func(s map[string]any) { s["refs"] = []any{} }, "spec.refs: Invalid value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := exampleOf(t, examples, tc.kind)
			obj.SetName(strings.ReplaceAll(tc.name, " ", "-"))
			spec := obj.Object["spec"].(map[string]any)
			tc.mutate(spec)
			err := c.Create(ctx, obj)
			if err == nil {
				t.Fatalf("apiserver accepted %s %q", tc.kind, tc.name)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("message %q does not say %q", err.Error(), tc.message)
			}
		})
	}
}

func setWeights(a, b int) func(map[string]any) {
	return func(s map[string]any) {
		s["rollout"].(map[string]any)["steps"] = []any{map[string]any{"weight": a}, map[string]any{"weight": b}}
	}
}

func exampleOf(t *testing.T, examples []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	for _, e := range examples {
		if e.GetKind() == kind {
			obj := e.DeepCopy()
			// The example was created above: keep only what a user would write.
			for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"} {
				unstructured.RemoveNestedField(obj.Object, "metadata", f)
			}
			unstructured.RemoveNestedField(obj.Object, "status")
			return obj
		}
	}
	t.Fatalf("no example of kind %s", kind)
	return nil
}

func readYAML(t *testing.T, path string) []*unstructured.Unstructured {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		out = append(out, obj)
	}
}
