// Package kustomize builds a kustomization in-process with krusty, reading only through a
// filesystem confined to the checkout.
//
// Before krusty runs, the graph of kustomizations is scanned: references that krusty would
// fetch by itself (Git bases, HTTP files) are refused, as are helmCharts (they run a helm
// process); cycles are reported with the chain; and a build that would instantiate more
// than MaxKustomizations kustomizations, or read more than the render's output limit,
// counting each base once per reference that reaches it, is refused before it starts. Krusty then runs with builtin plugins only
// and the root-only load restriction, so a kustomization reads files only below its own
// directory and reaches other directories only as bases or components.
package kustomize

import (
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/openapi"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/manifest"
)

// buildMu serialises krusty runs: krusty keeps its OpenAPI schema in package variables and
// is not safe for concurrent builds.
var buildMu sync.Mutex

// Render builds the kustomization in dir (checkout-relative) and decodes the result.
func Render(fsys *confine.FS, dir string, lim manifest.Limits) ([]*unstructured.Unstructured, error) {
	real, err := fsys.Real(dir)
	if err != nil {
		return nil, err
	}
	s := &scanner{fsys: fsys, maxNodes: lim.MaxNodes, done: map[string]cost{}}
	c, err := s.scan(real, nil)
	if err == nil {
		err = c.check(dir, lim.MaxBytes)
	}
	if err != nil {
		return nil, fsys.Relative(err)
	}
	out, err := build(fsys, real, lim.MaxNodes, s.openAPI)
	if err != nil {
		return nil, fsys.Relative(err)
	}
	dec := manifest.NewDecoder(lim)
	if err := dec.Decode("kustomize build "+dir, out); err != nil {
		return nil, err
	}
	return dec.Objects(), nil
}

func build(fsys *confine.FS, dir string, maxNodes int, customSchema bool) ([]byte, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if customSchema {
		// A custom schema stays in krusty's package state; drop it so it cannot leak into
		// the next application's build. The default schema is parsed again on next use.
		defer openapi.ResetOpenAPI()
	}
	var refusal error
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(confinedFS{fsys: fsys, maxNodes: maxNodes, refusal: &refusal}, fsys.Abs(dir))
	if refusal != nil {
		// Krusty formats errors into strings; the refusal itself says more, and keeps its type.
		return nil, refusal
	}
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}
