package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/decrypt"
	"github.com/landfall-dev/landfall/render/helm"
	"github.com/landfall-dev/landfall/render/kustomize"
	"github.com/landfall-dev/landfall/render/manifest"
)

// Helm's template engine and Kustomize build strings and lists as large as a chart or a
// kustomization asks for (`repeat`, `until`, nested `include`, generators), and no Go
// program can stop a goroutine that allocates. With an Isolator each render runs in a
// child process whose memory and time are capped (package sandbox): an input over the
// budget fails that render with manifest.ErrLimit, and the caller lives on.

// Isolator runs ServeIsolated in another process: request in, answer out, at most
// maxOutput bytes. An error over a limit names it and has a method LimitExceeded
// returning true. *sandbox.Runner implements it.
type Isolator interface {
	Run(ctx context.Context, request []byte, maxOutput int64) ([]byte, error)
}

// WithIsolator renders in other processes; see Isolator.
func WithIsolator(iso Isolator) Option { return func(e *Engine) { e.isolator = iso } }

// sandboxRequest is what the parent sends; Input without its functions.
type sandboxRequest struct {
	AppPath, Root, Namespace, ReleaseName, KubeVersion string
	ValuesFiles, APIVersions                           []string
	Values                                             map[string]any
	ValuesFrom                                         []ValuesSource
	Limits                                             Limits
	// AgeKeys are the decryption identities. They cross only this pipe: never the child's
	// arguments, environment or a file.
	AgeKeys []string
}

type sandboxResponse struct {
	Kind         Kind
	Objects      []json.RawMessage
	SkippedHooks []string
	Deps         confine.Deps
	Decrypted    []string
	Sensitive    []string
	Error        string
	Is           []string // the sentinel errors Error matches, by name
}

// sandboxSentinels are the errors a render reports that callers match with errors.Is.
var sandboxSentinels = map[string]error{
	"input": ErrInput, "limit": manifest.ErrLimit, "alias": manifest.ErrAliasBomb,
	"remote": kustomize.ErrRemote, "cycle": kustomize.ErrCycle, "helm": kustomize.ErrHelm,
	"absolute": confine.ErrAbsolute, "escapes": confine.ErrEscapes, "large": confine.ErrTooLarge,
	"dependency": helm.ErrRemoteDependency, "archive": helm.ErrArchive,
	"nokeys": decrypt.ErrNoKeys, "wrongkey": decrypt.ErrWrongKey, "tampered": decrypt.ErrTampered,
	"malformed": decrypt.ErrMalformed, "valuesmap": helm.ErrNotValuesMap,
}

func (e *Engine) renderIsolated(ctx context.Context, appPath string, in Input) (*rawRender, error) {
	req, err := json.Marshal(sandboxRequest{AppPath: appPath, Root: in.Root, Namespace: in.Namespace,
		ReleaseName: in.ReleaseName, KubeVersion: in.KubeVersion, ValuesFiles: in.ValuesFiles,
		APIVersions: in.APIVersions, Values: in.Values, ValuesFrom: in.ValuesFrom, Limits: e.limits, AgeKeys: in.Decryption.Identities()})
	if err != nil {
		return nil, fmt.Errorf("%w: values: %w", ErrInput, err)
	}
	// The answer holds the objects as JSON, a little larger than their YAML.
	out, err := e.isolator.Run(ctx, req, 2*e.limits.MaxOutputBytes+1<<20)
	if err != nil {
		var lim interface{ LimitExceeded() bool }
		if errors.As(err, &lim) && lim.LimitExceeded() {
			return nil, fmt.Errorf("%w: the render %w", manifest.ErrLimit, err)
		}
		return nil, fmt.Errorf("render in a child process: %w", err)
	}
	return decodeResponse(out)
}

func decodeResponse(data []byte) (*rawRender, error) {
	var resp sandboxResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("render sandbox: reading its answer: %w", err)
	}
	if resp.Error != "" {
		e := &sandboxError{msg: resp.Error}
		for _, name := range resp.Is {
			if s, ok := sandboxSentinels[name]; ok {
				e.is = append(e.is, s)
			}
		}
		return nil, e
	}
	r := &rawRender{kind: resp.Kind, skippedHooks: resp.SkippedHooks, deps: resp.Deps,
		decrypted: resp.Decrypted, sensitive: resp.Sensitive}
	for _, raw := range resp.Objects {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("render sandbox: reading its answer: %w", err)
		}
		r.objects = append(r.objects, u)
	}
	return r, nil
}

// sandboxError is a child's error with the sentinels it matched.
type sandboxError struct {
	msg string
	is  []error
}

func (e *sandboxError) Error() string        { return e.msg }
func (e *sandboxError) Is(target error) bool { return slices.Contains(e.is, target) }

// ServeIsolated is the child's side of an Isolator: it reads one request from in, renders
// and writes the answer to out.
func ServeIsolated(in io.Reader, out io.Writer) error {
	var req sandboxRequest
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return fmt.Errorf("reading the render request: %w", err)
	}
	return json.NewEncoder(out).Encode(renderChild(req))
}

func renderChild(req sandboxRequest) sandboxResponse {
	in := Input{Root: req.Root, Path: req.AppPath, Namespace: req.Namespace, ReleaseName: req.ReleaseName,
		ValuesFiles: req.ValuesFiles, ValuesFrom: req.ValuesFrom, Values: req.Values, KubeVersion: req.KubeVersion, APIVersions: req.APIVersions}
	lim := req.Limits.withDefaults()
	r, err := func() (*rawRender, error) {
		keys, err := decrypt.Parse(req.AgeKeys...)
		if err != nil {
			return nil, err
		}
		in.Decryption = keys
		fsys, err := confine.Open(in.Root, confine.Limits{MaxFileBytes: lim.MaxFileBytes, MaxTotalBytes: lim.MaxReadBytes})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInput, err)
		}
		defer fsys.Close()
		return (&Engine{limits: lim}).renderRaw(fsys, req.AppPath, in)
	}()
	if err != nil {
		resp := sandboxResponse{Error: err.Error()}
		for name, s := range sandboxSentinels {
			if errors.Is(err, s) {
				resp.Is = append(resp.Is, name)
			}
		}
		return resp
	}
	resp := sandboxResponse{Kind: r.kind, SkippedHooks: r.skippedHooks, Deps: r.deps,
		Decrypted: r.decrypted, Sensitive: r.sensitive}
	for _, o := range r.objects {
		raw, err := o.MarshalJSON()
		if err != nil {
			return sandboxResponse{Error: err.Error()}
		}
		resp.Objects = append(resp.Objects, raw)
	}
	return resp
}
