package helm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/manifest"
)

// ErrRemoteDependency means Chart.yaml lists a dependency that is not vendored in charts/.
var ErrRemoteDependency = errors.New("dependency is not vendored in charts/ (remote dependencies are not fetched)")

var utf8BOM = []byte("\xEF\xBB\xBF")

// loadChart reads a chart directory through the confined filesystem (Helm's own loader
// follows symlinks anywhere) and hands the files to Helm's in-memory loader.
func loadChart(fsys *confine.FS, dir string, maxNodes int) (*chart.Chart, error) {
	rules := ignore.Empty()
	if data, err := fsys.ReadFile(path.Join(dir, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(dir, ignore.HelmIgnore), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	rules.AddDefaults()
	w := walker{fsys: fsys, top: dir, rules: rules, maxNodes: maxNodes, seen: map[string]bool{}, archives: newArchiveBudget()}
	if err := w.walk(""); err != nil {
		return nil, err
	}
	ch, err := loader.LoadFiles(w.files)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", dir, err)
	}
	return ch, nil
}

type walker struct {
	fsys     *confine.FS
	top      string
	rules    *ignore.Rules
	maxNodes int
	seen     map[string]bool // real paths of the folders visited: a symlink loop is walked once
	archives *archiveBudget
	files    []*loader.BufferedFile
}

// walk adds the files below top/rel that .helmignore keeps, in lexical order.
func (w *walker) walk(rel string) error {
	real, err := w.fsys.Real(path.Join(w.top, rel))
	if err != nil {
		return err
	}
	if w.seen[real] {
		return nil
	}
	w.seen[real] = true
	entries, err := w.fsys.ReadDir(path.Join(w.top, rel))
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := path.Join(rel, e.Name())
		full := path.Join(w.top, name)
		st, err := w.fsys.Stat(full) // follows symlinks, within the checkout only
		if err != nil {
			return err
		}
		if w.rules.Ignore(name, st) {
			continue
		}
		if st.IsDir() {
			if err := w.walk(name); err != nil {
				return err
			}
			continue
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file", full)
		}
		data, err := w.fsys.ReadFile(full)
		if err != nil {
			return err
		}
		if isArchiveDependency(name) {
			if err := w.archives.check(full, data, 1); err != nil {
				return err
			}
		}
		if isYAML(name) && !strings.HasPrefix(name, "templates/") {
			if err := manifest.CheckAliases(full, data, w.maxNodes); err != nil {
				return err
			}
		}
		w.files = append(w.files, &loader.BufferedFile{Name: name, Data: bytes.TrimPrefix(data, utf8BOM)})
	}
	return nil
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// checkDependencies refuses a chart whose declared dependencies are not all vendored.
func checkDependencies(dir string, ch *chart.Chart) error {
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	var missing []string
	for _, d := range ch.Metadata.Dependencies {
		if !have[d.Name] {
			missing = append(missing, fmt.Sprintf("%s (%s)", d.Name, d.Repository))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("chart %s: %s: %w", dir, strings.Join(missing, ", "), ErrRemoteDependency)
	}
	return nil
}
