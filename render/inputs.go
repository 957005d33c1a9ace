package render

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/landfall-dev/landfall/render/confine"
)

// Inputs is what shaped one render, without its objects: its Input but the checkout and
// the revision, what it read in the checkout, and what the destination said of the scope
// of each kind it rendered. A few hundred bytes: a caller keeps one per environment and
// asks Unchanged, instead of rendering again (or keeping every render in a cache), whether
// a new commit changed anything the render used. The zero Inputs matches nothing.
type Inputs struct {
	key   [sha256.Size]byte
	files confine.Summary
	kinds []schema.GroupVersionKind
	scope [sha256.Size]byte
	ok    bool
}

// Unchanged reports whether in renders exactly what the render that returned prev did:
// the same values, keys, policy and destination version, a checkout that holds the same
// content wherever that render read, and the same scope for each kind it rendered. It
// reads those files again, bounded as a render's reads are, and renders nothing.
func (e *Engine) Unchanged(in Input, prev Inputs) bool {
	if !prev.ok {
		return false
	}
	appPath, err := checkInput(&in)
	if err != nil {
		return false
	}
	if key, err := inputsKey(appPath, in); err != nil || key != prev.key || scopeSum(in.Scope, prev.kinds) != prev.scope {
		return false
	}
	fsys, err := confine.Open(in.Root, confine.Limits{MaxFileBytes: e.limits.MaxFileBytes, MaxTotalBytes: e.limits.MaxReadBytes})
	if err != nil {
		return false
	}
	defer fsys.Close()
	return prev.files.Unchanged(fsys)
}

// inputsOf describes the render r of in, whose finished objects are objs.
func inputsOf(appPath string, in Input, r *rawRender, objs []*unstructured.Unstructured) (Inputs, error) {
	key, err := inputsKey(appPath, in)
	if err != nil {
		return Inputs{}, err
	}
	var kinds []schema.GroupVersionKind
	for _, o := range objs {
		if gvk := o.GroupVersionKind(); !slices.Contains(kinds, gvk) {
			kinds = append(kinds, gvk)
		}
	}
	return Inputs{key: key, files: r.deps.Summary(), kinds: kinds, scope: scopeSum(in.Scope, kinds), ok: true}, nil
}

// inputsKey digests the render cache's key and what finishing a render depends on besides
// the destination's scope: the policy, and whether namespaces are settled at all.
func inputsKey(appPath string, in Input) ([sha256.Size]byte, error) {
	key, err := inputKey(appPath, in)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	data, err := json.Marshal([]any{key, in.Policy, in.Unscoped})
	if err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("%w: policy: %w", ErrInput, err)
	}
	return sha256.Sum256(data), nil
}

// scopeSum digests what scope says of each kind: a CRD installed since the render can turn
// a kind the render defaulted as namespaced into a cluster-scoped one.
func scopeSum(scope ScopeFunc, kinds []schema.GroupVersionKind) [sha256.Size]byte {
	h := sha256.New()
	for _, gvk := range kinds {
		namespaced, known := false, false
		if scope != nil {
			namespaced, known = scope(gvk)
		}
		fmt.Fprintf(h, "%s\x00%t\x00%t\x00", gvk, namespaced, known)
	}
	return [sha256.Size]byte(h.Sum(nil))
}
