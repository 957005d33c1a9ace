// Package helm renders a chart from the checkout with Helm's template engine, client-side
// only: nothing is fetched and no cluster is contacted.
//
// The chart is read through the confined filesystem (.helmignore honoured); dependencies must
// be vendored in charts/ (directories or archives), remote ones are refused. Values files are
// relative to the chart and may not leave the checkout. `lookup` returns nothing and
// `getHostByName` returns "" without any DNS query (the engine runs with no client and DNS
// off). values.schema.json is checked offline: a $ref to another document is an error, and
// its references are bounded (schemabounds.go). Vendored archives are walked within bounds
// before Helm loads them (archive.go).
// CRDs from crds/ are included.
//
// Hooks: objects with a "helm.sh/hook" annotation, test hooks included, are not rendered as
// part of the release. Landfall applies a release as one declarative set with server-side
// apply and has no install/upgrade lifecycle to run them in; they are reported in
// Output.SkippedHooks so the caller can say so.
package helm

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/manifest"
)

// HookAnnotation marks a Helm hook.
const HookAnnotation = "helm.sh/hook"

// Options are the release inputs.
type Options struct {
	ReleaseName string
	Namespace   string
	ValuesFiles []string       // relative to the chart directory
	ValuesFrom  []ValuesSource // values from outside the checkout, after the files
	Values      map[string]any // inline values, applied last
	KubeVersion string         // e.g. "v1.31.2"; empty means DefaultKubeVersion
	APIVersions []string       // extra "group/version" or "group/version/Kind" entries
}

// Output is a rendered release.
type Output struct {
	Objects      []*unstructured.Unstructured
	SkippedHooks []string // "Kind/name (events) from template", sorted
}

// Render renders the chart in dir (checkout-relative).
func Render(fsys *confine.FS, dir string, opts Options, lim manifest.Limits) (*Output, error) {
	if err := chartutil.ValidateReleaseName(opts.ReleaseName); err != nil {
		return nil, fmt.Errorf("release name %q: %w", opts.ReleaseName, err)
	}
	ch, err := loadChart(fsys, dir, lim.MaxNodes)
	if err != nil {
		return nil, err
	}
	if err := checkDependencies(dir, ch); err != nil {
		return nil, err
	}
	vals, err := values(fsys, dir, opts, lim.MaxNodes)
	if err != nil {
		return nil, err
	}
	files, err := renderTemplates(dir, ch, vals, opts)
	if err != nil {
		return nil, err
	}
	return collectObjects(ch, files, lim)
}

func renderTemplates(dir string, ch *chart.Chart, vals map[string]any, opts Options) (map[string]string, error) {
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return nil, fmt.Errorf("chart %s: dependencies: %w", dir, err)
	}
	caps, err := capabilities(opts.KubeVersion, opts.APIVersions)
	if err != nil {
		return nil, err
	}
	if r := ch.Metadata.KubeVersion; r != "" && !chartutil.IsCompatibleRange(r, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart %s requires kubeVersion %s, not %s", dir, r, caps.KubeVersion.String())
	}
	rel := chartutil.ReleaseOptions{Name: opts.ReleaseName, Namespace: opts.Namespace, Revision: 1, IsInstall: true}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, rel, caps, true)
	if err != nil {
		return nil, fmt.Errorf("chart %s: values: %w", dir, err)
	}
	if v, ok := top["Values"].(chartutil.Values); ok {
		if err := validate(ch, v); err != nil {
			return nil, fmt.Errorf("chart %s: %w", dir, err)
		}
	}
	// The zero Engine has no cluster client, so lookup returns an empty map, and DNS is
	// off, so getHostByName returns "".
	var e engine.Engine
	files, err := e.Render(ch, top)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", dir, maskValues(err, top["Values"]))
	}
	return files, nil
}

// collectObjects decodes the rendered templates and the CRDs, setting hooks aside.
func collectObjects(ch *chart.Chart, files map[string]string, lim manifest.Limits) (*Output, error) {
	dec := manifest.NewDecoder(lim)
	for _, crd := range ch.CRDObjects() {
		if err := dec.Decode(crd.Filename, crd.File.Data); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") || strings.HasSuffix(n, "NOTES.txt") || strings.TrimSpace(files[n]) == "" {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	out := &Output{}
	for _, n := range names {
		before := len(dec.Objects())
		if err := dec.Decode(n, []byte(files[n])); err != nil {
			return nil, err
		}
		for _, o := range dec.Objects()[before:] {
			if ev, ok := o.GetAnnotations()[HookAnnotation]; ok {
				out.SkippedHooks = append(out.SkippedHooks, fmt.Sprintf("%s/%s (%s) from %s", o.GetKind(), o.GetName(), ev, n))
			}
		}
	}
	for _, o := range dec.Objects() {
		if _, ok := o.GetAnnotations()[HookAnnotation]; !ok {
			out.Objects = append(out.Objects, o)
		}
	}
	sort.Strings(out.SkippedHooks)
	return out, nil
}

func capabilities(kubeVersion string, apiVersions []string) (*chartutil.Capabilities, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	if kubeVersion == "" {
		kubeVersion = DefaultKubeVersion
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("kubernetes version %q: %w", kubeVersion, err)
	}
	caps.KubeVersion = *kv
	// Clone: the default set is shared package state.
	caps.APIVersions = append(slices.Clone(caps.APIVersions), apiVersions...)
	return caps, nil
}

// DefaultKubeVersion is the Kubernetes version charts see when the destination's is not
// known: the minor version of the Kubernetes libraries Landfall is built with (a test keeps
// it in step with go.mod).
const DefaultKubeVersion = "v1.37.0"
