package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/landfall-dev/landfall/test/cluster"
)

// createResources applies examples/deploy, adjusted for a laptop: the local Git server, and
// minutes turned into seconds so the story fits in a few minutes.
func (w *world) createResources(ctx context.Context) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "landfall-system"}}
	if err := w.c.Create(ctx, ns); err != nil {
		return "", err
	}
	// The age key that opens the example's SOPS files: the demo-only one committed beside it.
	ageKey, err := os.ReadFile(filepath.Join(cluster.RepoRoot(), "examples", "demo-only.agekey"))
	if err != nil {
		return "", err
	}
	secrets := []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "shop-age", Namespace: "landfall-system"},
			Data: map[string][]byte{"identity.agekey": ageKey}},
		{ObjectMeta: metav1.ObjectMeta{Name: "shop-config-git", Namespace: "landfall-system"},
			StringData: map[string]string{"username": w.git.Username, "password": w.git.Password}},
		{ObjectMeta: metav1.ObjectMeta{Name: "shop-config-webhook", Namespace: "landfall-system"},
			StringData: map[string]string{"token": webhookToken}},
	}
	for _, s := range secrets {
		if err := w.c.Create(ctx, s); err != nil {
			return "", err
		}
	}
	objs, err := readDeploy()
	if err != nil {
		return "", err
	}
	var names []string
	for _, o := range objs {
		if err := localize(o, w.git.URL); err != nil {
			return "", err
		}
		if err := w.c.Create(ctx, o); err != nil {
			return "", fmt.Errorf("creating %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	return fmt.Sprintf("%v (bake 5s, canary pauses 3s, health timeout 2m, no analysis: no Prometheus here, no step approvals)", names), nil
}

func readDeploy() ([]*unstructured.Unstructured, error) {
	dir := filepath.Join(cluster.RepoRoot(), "examples", "deploy")
	var out []*unstructured.Unstructured
	for _, f := range []string{"repository.yaml", "shop.yaml", "payments.yaml", "previews.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(u.Object) > 0 {
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// localize points the Repository at the local server and shortens every wait.
func localize(o *unstructured.Unstructured, url string) error {
	spec, _, _ := unstructured.NestedMap(o.Object, "spec")
	switch o.GetKind() {
	case "Repository":
		spec["url"], spec["insecure"], spec["interval"] = url, true, "30s"
	case "Application":
		delete(spec, "syncWindows") // the demo may run on a Friday evening
		if envs, ok := spec["environments"].([]any); ok {
			for _, e := range envs {
				if m := e.(map[string]any); m["bakeTime"] != nil {
					m["bakeTime"] = "5s"
				}
			}
		}
		shorten(spec["rollout"])
		if envs, ok := spec["environments"].([]any); ok {
			for _, e := range envs {
				shorten(e.(map[string]any)["rollout"])
			}
		}
	}
	return unstructured.SetNestedMap(o.Object, spec, "spec")
}

// shorten turns a rollout's waits into seconds and drops what the demo cannot serve: the
// analysis (no Prometheus) and a step's approval (nobody to approve). The health timeout
// leaves room for an autoscaler, which reads a new pod's metrics only half a minute after it
// is ready.
func shorten(rollout any) {
	r, ok := rollout.(map[string]any)
	if !ok {
		return
	}
	r["healthTimeout"] = "2m"
	delete(r, "analysis")
	if steps, ok := r["steps"].([]any); ok {
		for _, s := range steps {
			s.(map[string]any)["pause"] = "3s"
			delete(s.(map[string]any), "requireApproval")
		}
	}
}
