package chart

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/landfall-dev/landfall/render/helm"
	"github.com/landfall-dev/landfall/sync/source"
)

// layOut writes the chart of rev, with the dependencies it does not vendor, into a new
// directory of this process's cache and records it.
func (c *Client) layOut(ctx context.Context, repo repository, spec Spec, rev source.Revision) (string, error) {
	if co, ok := c.Cached(rev); ok {
		return co.Dir, nil
	}
	files, err := c.chartFiles(ctx, repo, spec.Chart, rev)
	if err != nil {
		return "", err
	}
	deps, err := c.dependencies(ctx, spec, files)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Join(c.opts.CacheDir, "tmp"), "tree-*")
	if err != nil {
		return "", fmt.Errorf("chart cache: %w", err)
	}
	for _, f := range files {
		if err := writeFile(tmp, f.Name, f.Data); err != nil {
			_ = os.RemoveAll(tmp)
			return "", err
		}
	}
	for name, data := range deps {
		if err := writeFile(tmp, path.Join("charts", name), data); err != nil {
			_ = os.RemoveAll(tmp)
			return "", err
		}
	}
	return c.keep(tmp, rev.Digest)
}

// chartFiles fetches one archive and reads its files: walked within the vendored-archive
// bounds first, then read by Helm's loader (which bounds each file and the whole).
func (c *Client) chartFiles(ctx context.Context, repo repository, name string, rev source.Revision) ([]*loader.BufferedFile, error) {
	data, err := c.blob(ctx, repo, name, rev)
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("chart %s %s", name, rev.Ref)
	if err := helm.CheckArchive(label, data); err != nil {
		return nil, err
	}
	files, err := loader.LoadArchiveFiles(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return files, nil
}

// dependencies fetches the archives of the dependencies the chart declares and does not
// vendor, from the same host as the chart's repository, named as charts/ wants them.
// Versions come from Chart.lock when the chart has one, else from Chart.yaml's range.
func (c *Client) dependencies(ctx context.Context, spec Spec, files []*loader.BufferedFile) (map[string][]byte, error) {
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", spec.Chart, err)
	}
	vendored := map[string]bool{}
	for _, d := range ch.Dependencies() {
		vendored[d.Name()] = true
	}
	locked := map[string]string{}
	if ch.Lock != nil {
		for _, d := range ch.Lock.Dependencies {
			locked[d.Name] = d.Version
		}
	}
	out := map[string][]byte{}
	for _, d := range ch.Metadata.Dependencies {
		if vendored[d.Name] || !c.sameHost(spec.URL, d.Repository) {
			// Vendored, or from elsewhere: the render refuses what is missing, naming it.
			continue
		}
		if len(out) >= MaxDependencies {
			return nil, fmt.Errorf("chart %s: more than %d dependencies to fetch", spec.Chart, MaxDependencies)
		}
		data, version, err := c.dependency(ctx, spec, d, locked[d.Name])
		if err != nil {
			return nil, fmt.Errorf("chart %s: dependency %s: %w", spec.Chart, d.Name, err)
		}
		out[fmt.Sprintf("%s-%s.tgz", d.Name, version)] = data
	}
	return out, nil
}

func (c *Client) dependency(ctx context.Context, spec Spec, d *chart.Dependency, locked string) ([]byte, string, error) {
	dep := spec
	dep.URL, dep.Chart, dep.Version = strings.TrimSuffix(d.Repository, "/"), d.Name, d.Version
	if locked != "" {
		dep.Version = locked
	}
	repo, err := c.open(dep)
	if err != nil {
		return nil, "", err
	}
	rev, err := repo.resolve(ctx, dep.Chart, dep.Version)
	if err != nil {
		return nil, "", err
	}
	data, err := c.blob(ctx, repo, dep.Chart, rev)
	if err != nil {
		return nil, "", err
	}
	return data, rev.Ref, nil
}

// sameHost reports whether a dependency's repository is on the scheme and host of the
// chart's own, so that its credentials may go there.
func (c *Client) sameHost(repoURL, depURL string) bool {
	a, err1 := url.Parse(repoURL)
	b, err2 := url.Parse(depURL)
	return err1 == nil && err2 == nil && a.Host != "" && a.Scheme == b.Scheme && a.Host == b.Host
}

// writeFile writes one file below dir. Names come from Helm's loader after the archive
// walk refused names that climb or are absolute; they are checked again here.
func writeFile(dir, name string, data []byte) error {
	clean := path.Clean("/" + name)[1:]
	if clean == "" || clean != name {
		return fmt.Errorf("chart file %q: %w: its name leaves the chart", name, helm.ErrArchive)
	}
	full := filepath.Join(dir, filepath.FromSlash(clean))
	if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	if err := os.WriteFile(full, data, 0o600); err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	return nil
}
