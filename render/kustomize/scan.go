package kustomize

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/manifest"
)

// Sentinel errors, for errors.Is.
var (
	// ErrRemote means a kustomization refers to something outside the repository (a Git
	// base, an HTTP file). Krusty would fetch it itself, through the network and a git
	// process, so Landfall refuses it before the build starts.
	ErrRemote = errors.New("remote references are not allowed: vendor the base into the repository")
	// ErrCycle means kustomizations refer to each other in a loop.
	ErrCycle = errors.New("kustomization cycle")
	// ErrHelm means a kustomization inflates Helm charts, which needs a helm process.
	ErrHelm = errors.New("helmCharts in a kustomization are not supported: point the environment at the chart instead")
)

// fileNames are the names krusty recognises, in its order.
var fileNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// FindFile returns the name of the kustomization file in dir, or "" when there is none.
func FindFile(fsys *confine.FS, dir string) (string, error) {
	for _, n := range fileNames {
		st, err := fsys.Stat(path.Join(dir, n))
		if err == nil && !st.IsDir() {
			return n, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", nil
}

// scanner walks the graph of kustomizations before krusty does, to refuse what krusty
// would fetch from the network, and to name cycles plainly.
type scanner struct {
	fsys     *confine.FS
	maxNodes int
	done     map[string]cost // kustomizations scanned, with what building each costs
	openAPI  bool            // some kustomization sets a custom OpenAPI schema
}

func (s *scanner) scan(dir string, stack []string) (cost, error) {
	for _, d := range stack {
		if d == dir {
			return cost{}, fmt.Errorf("%s: %w", strings.Join(append(stack, dir), " -> "), ErrCycle)
		}
	}
	if c, ok := s.done[dir]; ok {
		return c, nil
	}
	name, err := FindFile(s.fsys, dir)
	if err != nil || name == "" {
		return cost{}, err // krusty reports a directory without a kustomization in its own words
	}
	file := path.Join(dir, name)
	k, err := s.read(file)
	if err != nil {
		return cost{}, err
	}
	if len(k.OpenAPI) > 0 {
		s.openAPI = true
	}
	if err := checkFields(file, k); err != nil {
		return cost{}, err
	}
	c := cost{instances: 1, bytes: s.size(file)}
	for _, ref := range fileRefs(k) {
		if p, err := confine.Clean(path.Join(dir, ref)); err == nil && ref != "" {
			c.bytes = sat(c.bytes + s.size(p))
		}
	}
	for _, ref := range append(append(append([]string{}, k.Resources...), k.Bases...), k.Components...) {
		sub, err := s.follow(file, dir, ref, append(stack, dir))
		if err != nil {
			return cost{}, err
		}
		c = c.add(sub)
	}
	s.done[dir] = c
	return c, nil
}

// cost is what building a kustomization takes, every base and component counted as often
// as it is reached: krusty builds each reference anew, so a base reached through two
// overlays, each reached through two more, is built 2ⁿ times.
type cost struct {
	instances int64 // kustomizations built
	bytes     int64 // bytes of the files they read
}

func (c cost) add(o cost) cost {
	return cost{instances: sat(c.instances + o.instances), bytes: sat(c.bytes + o.bytes)}
}

// sat saturates a cost far above every limit, so no sum overflows.
func sat(n int64) int64 { return min(n, 1<<50) }

// MaxKustomizations bounds the kustomizations one build instantiates, each base and
// component counted once per reference that reaches it.
const MaxKustomizations = 10_000

// check refuses a build whose cost passes the bounds, before krusty starts it.
func (c cost) check(dir string, maxBytes int64) error {
	switch {
	case c.instances > MaxKustomizations:
		return fmt.Errorf("%s: the build reaches more than %d kustomizations, counting each base and component once per reference (MaxKustomizations): %w",
			dir, MaxKustomizations, manifest.ErrLimit)
	case maxBytes > 0 && c.bytes > maxBytes:
		return fmt.Errorf("%s: the build reads more than %d bytes, counting each base's files once per reference (the render's output limit): %w",
			dir, maxBytes, manifest.ErrLimit)
	}
	return nil
}

// size is the size of the file at p, or 0 when it is not a file (krusty will say).
func (s *scanner) size(p string) int64 {
	st, err := s.fsys.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	return st.Size()
}

func (s *scanner) read(file string) (*types.Kustomization, error) {
	data, err := s.fsys.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if err := manifest.CheckAliases(file, data, s.maxNodes); err != nil {
		return nil, err
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &k, nil
}

// follow descends into a resource, base or component that is a directory; a file costs
// its size.
func (s *scanner) follow(file, dir, ref string, stack []string) (cost, error) {
	if looksRemote(ref) {
		return cost{}, fmt.Errorf("%s: %q: %w", file, ref, ErrRemote)
	}
	if path.IsAbs(ref) {
		return cost{}, fmt.Errorf("%s: %q: %w", file, ref, confine.ErrAbsolute)
	}
	target, err := confine.Clean(path.Join(dir, ref))
	if err != nil {
		return cost{}, fmt.Errorf("%s: %q: %w", file, ref, confine.ErrEscapes)
	}
	st, err := s.fsys.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		// Krusty would now try the name as a Git URL.
		return cost{}, fmt.Errorf("%s: %q is not a file or directory in the checkout: %w", file, ref, fs.ErrNotExist)
	}
	if err != nil {
		return cost{}, fmt.Errorf("%s: %q: %w", file, ref, err)
	}
	if !st.IsDir() {
		return cost{bytes: st.Size()}, nil
	}
	// Identify directories by their real path, so a symlink loop is a cycle too.
	real, err := s.fsys.Real(target)
	if err != nil {
		return cost{}, fmt.Errorf("%s: %q: %w", file, ref, err)
	}
	return s.scan(real, stack)
}

// checkFields refuses remote file references and Helm inflation anywhere in a kustomization.
func checkFields(file string, k *types.Kustomization) error {
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 || k.HelmGlobals != nil {
		return fmt.Errorf("%s: %w", file, ErrHelm)
	}
	for _, ref := range fileRefs(k) {
		if looksRemote(ref) {
			return fmt.Errorf("%s: %q: %w", file, ref, ErrRemote)
		}
	}
	return nil
}

// fileRefs lists every field krusty may load as a file or directory.
func fileRefs(k *types.Kustomization) []string {
	refs := append(append(append([]string{}, k.Crds...), k.Configurations...), k.Generators...)
	refs = append(append(refs, k.Transformers...), k.Validators...)
	refs = append(refs, k.OpenAPI["path"])
	for _, p := range append(append([]types.Patch{}, k.Patches...), k.PatchesJson6902...) {
		refs = append(refs, p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		if !strings.Contains(string(p), "\n") {
			refs = append(refs, string(p))
		}
	}
	for _, r := range k.Replacements {
		refs = append(refs, r.Path)
	}
	srcs := make([]types.KvPairSources, 0, len(k.ConfigMapGenerator)+len(k.SecretGenerator))
	for _, g := range k.ConfigMapGenerator {
		srcs = append(srcs, g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		srcs = append(srcs, g.KvPairSources)
	}
	for _, src := range srcs {
		for _, f := range src.FileSources {
			_, p, found := strings.Cut(f, "=")
			if !found {
				p = f
			}
			refs = append(refs, p)
		}
		refs = append(append(refs, src.EnvSources...), src.EnvSource)
	}
	return refs
}

// gitUser matches the "user@" of SCP-style Git addresses (git@host:org/repo).
var gitUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// looksRemote is deliberately broader than krusty's own URL parsing: anything with a scheme,
// a go-getter "git::" prefix, a GitHub shorthand or an SCP-style user counts as remote.
func looksRemote(ref string) bool {
	l := strings.ToLower(strings.TrimSpace(ref))
	return strings.Contains(l, "://") || strings.HasPrefix(l, "git::") ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") ||
		gitUser.MatchString(l)
}
