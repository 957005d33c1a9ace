package render

import (
	"context"

	"github.com/landfall-dev/landfall/render/decrypt"
	"github.com/landfall-dev/landfall/render/helm"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Renderer renders one application environment. *Engine implements it.
type Renderer interface {
	Render(ctx context.Context, in Input) (*Result, error)
	// Unchanged reports, without rendering, whether in renders what the render that
	// returned prev (its Result.Inputs) did.
	Unchanged(in Input, prev Inputs) bool
}

// Input is one application environment at one revision.
type Input struct {
	Root        string   // checkout root; nothing outside it is read
	Path        string   // app path relative to Root (the environment's overlay path when it has one)
	Namespace   string   // target namespace of the environment; required unless Unscoped
	ReleaseName string   // Helm release name; empty means the base name of Path
	ValuesFiles []string // Helm values files, relative to the chart folder, applied in order
	// ValuesFrom are Helm values from outside the checkout (an Application's valuesFrom),
	// merged after ValuesFiles and before Values, in order. The string values of a
	// Sensitive one are masked like decrypted ones (Result.Sensitive).
	ValuesFrom  []ValuesSource
	Values      map[string]any // Helm inline values (JSON-compatible), merged like one more values file
	Revision    string         // identifies the checkout content (the commit); empty means unknown
	KubeVersion string         // destination Kubernetes version ("v1.31.2"); empty means a default
	APIVersions []string       // destination API versions, for Helm's .Capabilities.APIVersions
	Policy      Policy         // what the environment may deploy
	Scope       ScopeFunc      // optional: the destination's knowledge of which kinds are namespaced
	// Decryption opens the SOPS-encrypted files the render reads (Secret manifests,
	// Kustomize generator sources, Helm values files), in memory. Nil refuses them.
	Decryption *decrypt.Keys
	// Unscoped renders as kustomize build and helm template do, for a look at a folder
	// outside any environment: objects keep the namespace they name (none, when they name
	// none) and what Policy would refuse comes back as Result.Warnings instead of an error.
	Unscoped bool
}

// ValuesSource is one layer of Input.ValuesFrom.
type ValuesSource = helm.ValuesSource

// ErrNotValuesMap is a ValuesFrom layer that does not hold a YAML map of values.
var ErrNotValuesMap = helm.ErrNotValuesMap

// Policy says where an environment may deploy; the zero value allows only its own namespace.
type Policy struct {
	AllowClusterScoped bool     // allow cluster-scoped objects (ClusterRole, CRD, …)
	AllowedNamespaces  []string // other namespaces objects may name; "*" allows any
}

// ScopeFunc reports whether a kind is namespaced, and whether it knows at all.
type ScopeFunc func(gvk schema.GroupVersionKind) (namespaced, known bool)

// Kind is the kind of renderer used for an application.
type Kind string

// The renderers.
const (
	KindKustomize Kind = "kustomize"
	KindHelm      Kind = "helm"
	KindPlain     Kind = "plain"
)

// Result is a complete render: it is never partial.
type Result struct {
	Objects      []*unstructured.Unstructured // sorted; the caller's own copies
	Kind         Kind
	Files        []string // checkout-relative files the render read, sorted
	SkippedHooks []string // Helm hooks left out ("Job/migrate (pre-upgrade) from chart/templates/job.yaml")
	Digest       string   // "sha256:…" of the objects, to tell renders apart cheaply
	Cached       bool     // answered from the cache, without running Kustomize or Helm
	Warnings     []string // Unscoped only: what an environment would refuse
	// Decrypted lists the checkout-relative SOPS-encrypted files the render opened. When
	// it is not empty, Objects hold clear secrets: keep them in memory, or seal them.
	Decrypted []string
	// Sensitive are the clear values of those files and the string values of Sensitive
	// ValuesFrom layers, for masking messages about the objects (an apiserver refusal
	// quotes the value it refuses). Never show them.
	Sensitive []string
	// Inputs is what shaped this render, for Renderer.Unchanged.
	Inputs Inputs
}

// Limits bound one render. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	MaxObjects     int   // objects rendered
	MaxFileBytes   int64 // one file read from the checkout
	MaxReadBytes   int64 // all files read from the checkout
	MaxOutputBytes int64 // YAML rendered
	MaxYAMLNodes   int   // nodes in one YAML document after alias expansion
}

// DefaultLimits are generous for real applications and stop runaway ones.
func DefaultLimits() Limits {
	return Limits{
		MaxObjects:     10_000,
		MaxFileBytes:   16 << 20,
		MaxReadBytes:   256 << 20,
		MaxOutputBytes: 256 << 20,
		MaxYAMLNodes:   1_000_000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxObjects <= 0 {
		l.MaxObjects = d.MaxObjects
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxReadBytes <= 0 {
		l.MaxReadBytes = d.MaxReadBytes
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxYAMLNodes <= 0 {
		l.MaxYAMLNodes = d.MaxYAMLNodes
	}
	return l
}
