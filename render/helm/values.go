package helm

import (
	"encoding/json"
	"fmt"
	"path"

	"sigs.k8s.io/yaml"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/manifest"
)

// Bounds of one render's values, files and inline values together, checked before each
// is parsed (size) and once they are merged (depth). A values file also has the alias
// bound of every YAML file, and `--set` its own (setvalues.go).
const (
	// MaxValuesBytes bounds the bytes of all values files and inline values.
	MaxValuesBytes = 32 << 20
	// MaxValuesDepth bounds how deeply values nest.
	MaxValuesDepth = 100
)

// values merges the values files (relative to the chart, in order) and then the inline
// values as if they were one more file, later ones winning: `helm template -f a -f b -f inline`.
func values(fsys *confine.FS, dir string, files []string, inline map[string]any, maxNodes int) (map[string]any, error) {
	// Every file is read, and the total checked, before any is parsed.
	datas := make([][]byte, len(files))
	total := 0
	for i, f := range files {
		if path.IsAbs(f) {
			return nil, fmt.Errorf("values file %s: %w", f, confine.ErrAbsolute)
		}
		rel, err := confine.Clean(path.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, confine.ErrEscapes)
		}
		if datas[i], err = fsys.ReadFile(rel); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		if total += len(datas[i]); total > MaxValuesBytes {
			return nil, fmt.Errorf("values file %s: the values pass %d bytes (MaxValuesBytes): %w", rel, MaxValuesBytes, manifest.ErrLimit)
		}
	}
	out := map[string]any{}
	for i, data := range datas {
		rel := path.Join(dir, files[i])
		if err := manifest.CheckAliases(rel, data, maxNodes); err != nil {
			return nil, err
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("values file %s: %w", rel, err)
		}
		out = merge(out, m)
	}
	if len(inline) > 0 {
		// A JSON round trip gives inline values the same number types as values files, and
		// a private copy Helm may change.
		data, err := json.Marshal(inline)
		if err != nil {
			return nil, fmt.Errorf("inline values: %w", err)
		}
		if total += len(data); total > MaxValuesBytes {
			return nil, fmt.Errorf("inline values: the values pass %d bytes (MaxValuesBytes): %w", MaxValuesBytes, manifest.ErrLimit)
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("inline values: %w", err)
		}
		out = merge(out, m)
	}
	if deeper(out, MaxValuesDepth) {
		return nil, fmt.Errorf("values nest more than %d levels deep (MaxValuesDepth): %w", MaxValuesDepth, manifest.ErrLimit)
	}
	return out, nil
}

// deeper reports whether v nests more than left levels of maps and lists.
func deeper(v any, left int) bool {
	if left < 0 {
		return true
	}
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if deeper(e, left-1) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if deeper(e, left-1) {
				return true
			}
		}
	}
	return false
}

// merge returns base with over laid on top: maps merge key by key, anything else replaces.
func merge(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if vm, ok := v.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = merge(bm, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
