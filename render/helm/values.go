package helm

import (
	"encoding/json"
	"errors"
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

// ValuesSource is one layer of values from outside the checkout (an Application's
// valuesFrom): YAML read from a ConfigMap or Secret, parsed here, within the render's
// bounds, like a values file.
type ValuesSource struct {
	Name      string // names the layer in errors: "Secret shop/db key values.yaml"
	YAML      []byte // a YAML map of values
	Sensitive bool   // from a Secret: its string values are masked out of every message

	file bool // a values file of the checkout
}

// ValuesTooLargeError is values past MaxValuesBytes. It is raised before any layer is
// parsed, so it holds nothing of their content: there is nothing to mask in it, and the
// layers need not be parsed to find out what to mask (parsing a Secret's 12 MiB of values
// for that cost a render 110 MB).
type ValuesTooLargeError struct{ msg string }

func (e *ValuesTooLargeError) Error() string { return e.msg + ": " + manifest.ErrLimit.Error() }
func (e *ValuesTooLargeError) Unwrap() error { return manifest.ErrLimit }

// values merges the values files (relative to the chart, in order), the valuesFrom layers
// (in order) and then the inline values as if they were more files, later ones winning:
// `helm template -f a -f b -f from1 -f inline`.
func values(fsys *confine.FS, dir string, opts Options, maxNodes int) (map[string]any, error) {
	layers, err := readValuesFiles(fsys, dir, opts.ValuesFiles)
	if err != nil {
		return nil, err
	}
	layers = append(layers, opts.ValuesFrom...)
	if len(opts.Values) > 0 {
		// A JSON round trip gives inline values the same number types as values files, and
		// a private copy Helm may change.
		data, err := json.Marshal(opts.Values)
		if err != nil {
			return nil, fmt.Errorf("inline values: %w", err)
		}
		layers = append(layers, ValuesSource{Name: "inline values", YAML: data, file: true})
	}
	total := 0
	for _, l := range layers {
		if total += len(l.YAML); total > MaxValuesBytes {
			return nil, &ValuesTooLargeError{fmt.Sprintf("%s: the values pass %d bytes (MaxValuesBytes)", l.Name, MaxValuesBytes)}
		}
	}
	out := map[string]any{}
	for _, l := range layers {
		m, err := parseValues(l, maxNodes)
		if err != nil {
			return nil, err
		}
		out = merge(out, m)
	}
	if deeper(out, MaxValuesDepth) {
		return nil, fmt.Errorf("values nest more than %d levels deep (MaxValuesDepth): %w", MaxValuesDepth, manifest.ErrLimit)
	}
	return out, nil
}

// readValuesFiles reads every values file, and checks their total, before any is parsed.
func readValuesFiles(fsys *confine.FS, dir string, files []string) ([]ValuesSource, error) {
	out := make([]ValuesSource, len(files))
	total := 0
	for i, f := range files {
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
		if total += len(data); total > MaxValuesBytes {
			return nil, &ValuesTooLargeError{fmt.Sprintf("values file %s: the values pass %d bytes (MaxValuesBytes)", rel, MaxValuesBytes)}
		}
		out[i] = ValuesSource{Name: "values file " + path.Join(dir, f), YAML: data, file: true}
	}
	return out, nil
}

// parseValues parses one layer. A Secret's parse error is not passed on: YAML errors can
// quote the text they stop at. "inline values" is a file here: Helm's own input.
func parseValues(l ValuesSource, maxNodes int) (map[string]any, error) {
	if err := manifest.CheckAliases(l.Name, l.YAML, maxNodes); err != nil {
		return nil, err
	}
	m := map[string]any{}
	err := yaml.Unmarshal(l.YAML, &m)
	switch {
	case err == nil:
		return m, nil
	case l.file:
		return nil, fmt.Errorf("%s: %w", l.Name, err)
	case l.Sensitive:
		return nil, fmt.Errorf("%s: %w", l.Name, ErrNotValuesMap)
	}
	return nil, fmt.Errorf("%s: %w: %w", l.Name, ErrNotValuesMap, err)
}

// ErrNotValuesMap is a valuesFrom layer that is not a YAML map.
var ErrNotValuesMap = errors.New("not a YAML map of values")

// SensitiveValues parses the sensitive layers and returns their string values, to be
// masked out of messages. A layer that does not parse has none: the render refuses it.
func SensitiveValues(layers []ValuesSource, maxNodes int) []string {
	var out []string
	for _, l := range layers {
		if !l.Sensitive {
			continue
		}
		if m, err := parseValues(l, maxNodes); err == nil {
			out = append(out, leafValues(m)...)
		}
	}
	return out
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
