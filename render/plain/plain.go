// Package plain reads a folder of Kubernetes manifests: every .yaml, .yml and .json file
// below it, recursively, in lexical order of their paths. Hidden files and folders (a name
// starting with ".") and other files are ignored. The path may also name a single file.
package plain

import (
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/manifest"
)

// Render decodes the manifests at p (checkout-relative).
func Render(fsys *confine.FS, p string, lim manifest.Limits) ([]*unstructured.Unstructured, error) {
	st, err := fsys.Stat(p)
	if err != nil {
		return nil, err
	}
	files := []string{p}
	if st.IsDir() {
		files = nil
		if err := list(fsys, p, &files, map[string]bool{}); err != nil {
			return nil, err
		}
	}
	dec := manifest.NewDecoder(lim)
	for _, f := range files {
		data, err := fsys.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := dec.Decode(f, data); err != nil {
			return nil, err
		}
	}
	return dec.Objects(), nil
}

// list appends the manifest files below dir, depth first in lexical order. seen holds the
// real paths of the folders visited, so a symlink loop is walked once.
func list(fsys *confine.FS, dir string, out *[]string, seen map[string]bool) error {
	real, err := fsys.Real(dir)
	if err != nil {
		return err
	}
	if seen[real] {
		return nil
	}
	seen[real] = true
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := path.Join(dir, name)
		st, err := fsys.Stat(full) // follows symlinks, within the checkout only
		if err != nil {
			return err
		}
		switch {
		case st.IsDir():
			if err := list(fsys, full, out, seen); err != nil {
				return err
			}
		case isManifest(name):
			*out = append(*out, full)
		}
	}
	return nil
}

func isManifest(name string) bool {
	switch path.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
