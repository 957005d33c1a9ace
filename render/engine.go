package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/helm"
	"github.com/landfall-dev/landfall/render/kustomize"
	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/render/plain"
)

// ErrInput means the Input itself is unusable (no root, no namespace, a bad path).
var ErrInput = errors.New("invalid render input")

// Engine detects the renderer, renders, checks namespaces and caches. It is safe for
// concurrent use; create one per process so the cache is shared.
type Engine struct {
	limits   Limits
	cache    *cache
	isolator Isolator // nil renders in this process

	renders, hits atomic.Uint64
}

var _ Renderer = (*Engine)(nil)

// Option configures an Engine.
type Option func(*Engine)

// WithLimits sets the limits of each render; zero fields keep the defaults.
func WithLimits(l Limits) Option { return func(e *Engine) { e.limits = l.withDefaults() } }

// WithCacheSize sets how many renders the cache keeps (least recently used go first); 0
// turns the cache off.
func WithCacheSize(n int) Option { return func(e *Engine) { e.cache = newCache(n) } }

// New returns an Engine with DefaultLimits and a cache of 1024 renders unless told otherwise.
func New(opts ...Option) *Engine {
	e := &Engine{limits: DefaultLimits(), cache: newCache(1024)}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Stats counts what an Engine has done since it was created.
type Stats struct {
	Renders uint64 // Kustomize, Helm or plain renders actually run
	Hits    uint64 // renders answered from the cache
}

// Stats returns the counters.
func (e *Engine) Stats() Stats { return Stats{Renders: e.renders.Load(), Hits: e.hits.Load()} }

// Render renders in, or answers from the cache. In this process rendering cannot be
// interrupted and ctx is checked before it starts; with an Isolator, ending ctx kills the render.
func (e *Engine) Render(ctx context.Context, in Input) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	appPath, err := checkInput(&in)
	if err != nil {
		return nil, err
	}
	fsys, err := confine.Open(in.Root, confine.Limits{MaxFileBytes: e.limits.MaxFileBytes, MaxTotalBytes: e.limits.MaxReadBytes})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	defer fsys.Close()
	key, err := inputKey(appPath, in)
	if err != nil {
		return nil, err
	}
	r, cached := e.cache.get(key, in.Revision, fsys)
	if cached {
		e.hits.Add(1)
	} else {
		if e.isolator != nil {
			r, err = e.renderIsolated(ctx, appPath, in)
		} else {
			r, err = e.renderRaw(fsys, appPath, in)
		}
		if err != nil {
			return nil, err
		}
		e.renders.Add(1)
		e.cache.put(key, in.Revision, r)
	}
	res, err := finish(r, in, cached)
	if err != nil {
		return nil, err
	}
	if res.Inputs, err = inputsOf(appPath, in, r, res.Objects); err != nil {
		return nil, err
	}
	return res, nil
}

func checkInput(in *Input) (string, error) {
	if in.Root == "" {
		return "", fmt.Errorf("%w: no checkout root", ErrInput)
	}
	if in.Namespace == "" && !in.Unscoped {
		return "", fmt.Errorf("%w: no target namespace", ErrInput)
	}
	if errs := validation.IsDNS1123Label(in.Namespace); in.Namespace != "" && len(errs) > 0 {
		return "", fmt.Errorf("%w: target namespace %q: %s", ErrInput, in.Namespace, errs[0])
	}
	p, err := confine.Clean(in.Path)
	if err != nil {
		return "", fmt.Errorf("%w: app path: %w", ErrInput, err)
	}
	if in.ReleaseName == "" {
		in.ReleaseName = path.Base(p)
	}
	return p, nil
}

// inputKey digests everything but the checkout that changes what a render produces.
func inputKey(appPath string, in Input) (string, error) {
	// The keys' digest: a render made with one set of keys is never served to another (a
	// rotated-out key must fail, not hit the cache).
	data, err := json.Marshal([]any{appPath, in.Namespace, in.ReleaseName, in.ValuesFiles,
		in.Values, in.KubeVersion, in.APIVersions, in.Decryption.Digest()})
	if err != nil {
		return "", fmt.Errorf("%w: values: %w", ErrInput, err)
	}
	h := sha256.New()
	h.Write(data)
	// valuesFrom's bytes go into the hash as they are, length-prefixed: marshalling them
	// with the rest cost their size again (base64) and its buffer's doublings.
	for _, v := range in.ValuesFrom {
		fmt.Fprintf(h, "\x00%d:%s%t%d:", len(v.Name), v.Name, v.Sensitive, len(v.YAML))
		h.Write(v.YAML)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// rawRender is what the cache keeps: the render before namespaces are checked, with what it
// read.
type rawRender struct {
	kind         Kind
	objects      []*unstructured.Unstructured
	skippedHooks []string
	deps         confine.Deps
	decrypted    []string // SOPS-encrypted files opened
	sensitive    []string // their clear values
}

func (e *Engine) renderRaw(fsys *confine.FS, appPath string, in Input) (*rawRender, error) {
	d := &decryptor{keys: in.Decryption}
	fsys.SetTransform(d.open)
	r, err := e.renderFiles(fsys, appPath, in)
	files, values := d.result()
	if tooLarge := (*helm.ValuesTooLargeError)(nil); errors.As(err, &tooLarge) {
		return nil, redact(err, values) // raised before any values were parsed
	}
	values = append(values, helm.SensitiveValues(in.ValuesFrom, e.limits.MaxYAMLNodes)...)
	if err != nil {
		return nil, redact(err, values)
	}
	r.decrypted, r.sensitive = files, values
	return r, nil
}

func (e *Engine) renderFiles(fsys *confine.FS, appPath string, in Input) (*rawRender, error) {
	kind, err := detect(fsys, appPath)
	if err != nil {
		return nil, err
	}
	lim := manifest.Limits{MaxObjects: e.limits.MaxObjects, MaxBytes: e.limits.MaxOutputBytes, MaxNodes: e.limits.MaxYAMLNodes}
	r := &rawRender{kind: kind}
	switch kind {
	case KindKustomize:
		r.objects, err = kustomize.Render(fsys, appPath, lim)
	case KindHelm:
		var out *helm.Output
		out, err = helm.Render(fsys, appPath, helm.Options{
			ReleaseName: in.ReleaseName, Namespace: releaseNamespace(in.Namespace),
			ValuesFiles: in.ValuesFiles, ValuesFrom: in.ValuesFrom, Values: in.Values,
			KubeVersion: in.KubeVersion, APIVersions: in.APIVersions,
		}, lim)
		if out != nil {
			r.objects, r.skippedHooks = out.Objects, out.SkippedHooks
		}
	default:
		r.objects, err = plain.Render(fsys, appPath, lim)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, appPath, fsys.Relative(err))
	}
	r.deps = fsys.Deps()
	return r, nil
}

// Detect tells which renderer Render would use for path in the checkout at root, reading
// no further than the folder's file names: a caller gathers what only one kind needs
// (a Helm chart's .Capabilities) before it renders. A path it cannot read is an error.
func Detect(root, p string) (Kind, error) {
	clean, err := confine.Clean(p)
	if err != nil {
		return "", fmt.Errorf("%w: app path: %w", ErrInput, err)
	}
	fsys, err := confine.Open(root, confine.Limits{})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInput, err)
	}
	defer fsys.Close()
	return detect(fsys, clean)
}

// detect picks the renderer for the folder (or file) at p.
func detect(fsys *confine.FS, p string) (Kind, error) {
	st, err := fsys.Stat(p)
	if err != nil {
		return "", fmt.Errorf("app path: %w", err)
	}
	if !st.IsDir() {
		return KindPlain, nil
	}
	name, err := kustomize.FindFile(fsys, p)
	if err != nil {
		return "", err
	}
	if name != "" {
		return KindKustomize, nil
	}
	if st, err := fsys.Stat(path.Join(p, "Chart.yaml")); err == nil && !st.IsDir() {
		return KindHelm, nil
	}
	return KindPlain, nil
}

// finish gives the caller its own copies, with namespaces settled, sorted and digested.
func finish(r *rawRender, in Input, cached bool) (*Result, error) {
	objs := make([]*unstructured.Unstructured, len(r.objects))
	for i, o := range r.objects {
		objs[i] = o.DeepCopy()
	}
	warnings, err := settleNamespaces(objs, in)
	if err != nil {
		return nil, err
	}
	sortObjects(objs)
	if err := checkDuplicates(objs); err != nil {
		return nil, err
	}
	d, err := digest(objs)
	if err != nil {
		return nil, err
	}
	return &Result{
		Objects: objs, Kind: r.kind, Files: r.deps.Files(),
		SkippedHooks: append([]string(nil), r.skippedHooks...), Digest: d, Cached: cached,
		Warnings: warnings, Decrypted: slices.Clone(r.decrypted), Sensitive: slices.Clone(r.sensitive),
	}, nil
}

// releaseNamespace is Helm's .Release.Namespace: helm template says "default" when it is
// given none.
func releaseNamespace(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
