package v1alpha1_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// Argo CD's applications.argoproj.io owns app/apps, and other tools take the plain ones:
// Landfall's short names carry an lf prefix so `kubectl get lfapp` is never ambiguous, and
// every kind is in the landfall category so `kubectl get landfall` lists them all.
func TestCRDNamesDoNotCollide(t *testing.T) {
	taken := []string{"app", "apps", "repo", "repos", "preview", "previews", "application", "applications", "notification", "notifications", "alert", "provider"}
	files, err := filepath.Glob("../../charts/landfall/crds/*.yaml")
	if err != nil || len(files) != 5 {
		t.Fatalf("want the 5 generated CRDs, found %v (%v)", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatal(err)
		}
		names := crd.Spec.Names
		if len(names.ShortNames) == 0 {
			t.Errorf("%s has no short name", names.Kind)
		}
		for _, s := range names.ShortNames {
			if slices.Contains(taken, s) {
				t.Errorf("%s short name %q collides with another project's kind", names.Kind, s)
			}
		}
		if !slices.Contains(names.Categories, "landfall") {
			t.Errorf("%s is not in the landfall category: %v", names.Kind, names.Categories)
		}
	}
}
