package helm

import (
	"encoding/json"
	"fmt"
	"path"

	"sigs.k8s.io/yaml"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/manifest"
)

// values merges the values files (relative to the chart, in order) and then the inline
// values as if they were one more file, later ones winning: `helm template -f a -f b -f inline`.
func values(fsys *confine.FS, dir string, files []string, inline map[string]any, maxNodes int) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range files {
		if path.IsAbs(f) {
			return nil, fmt.Errorf("values file %s: %w", f, confine.ErrAbsolute)
		}
		rel, err := confine.Clean(path.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, confine.ErrEscapes)
		}
		data, err := fsys.ReadFile(rel)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
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
		m := map[string]any{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("inline values: %w", err)
		}
		out = merge(out, m)
	}
	return out, nil
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
