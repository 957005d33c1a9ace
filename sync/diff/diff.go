package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Options tune a comparison.
type Options struct {
	// Ignore removes these paths from both sides before comparing, for fields another
	// controller owns — /spec/replicas when a HorizontalPodAutoscaler scales the object.
	Ignore []Pointer
	// Context is the number of unchanged lines around each change; 0 means 3.
	Context int
	// Color adds ANSI colours for terminals.
	Color bool
}

// Result is the outcome of a comparison.
type Result struct {
	// Changed is true when the normalised objects differ.
	Changed bool
	// Text is a unified diff of the normalised, Secret-masked YAML; empty when unchanged.
	Text string
}

// Equal reports whether live and desired are the same once normalised and stripped of
// the ignored paths. Objects that cannot be normalised are not equal.
func Equal(live, desired *unstructured.Unstructured, ignore ...Pointer) bool {
	a, errA := Normalize(content(live), ignore...)
	b, errB := Normalize(content(desired), ignore...)
	if errA != nil || errB != nil {
		return false
	}
	return sameJSON(a, b)
}

// Diff compares a live object with its desired state (the server-side apply dry-run
// result). Either may be nil: a nil live object is one to create, a nil desired one an
// object to delete.
func Diff(live, desired *unstructured.Unstructured, opts Options) (Result, error) {
	return DiffMaps(content(live), content(desired), opts)
}

// DiffMaps is Diff for objects held as plain maps. A map whose kind is Secret is masked
// just the same.
func DiffMaps(live, desired map[string]any, opts Options) (Result, error) {
	ref := reference(desired, live)
	a, err := Normalize(live, opts.Ignore...)
	if err != nil {
		return Result{}, fmt.Errorf("normalising live %s: %w", ref, err)
	}
	b, err := Normalize(desired, opts.Ignore...)
	if err != nil {
		return Result{}, fmt.Errorf("normalising desired %s: %w", ref, err)
	}
	if sameJSON(a, b) {
		return Result{}, nil
	}
	maskSecrets(a, b)
	text, err := unified(a, b, ref, opts)
	if err != nil {
		return Result{}, fmt.Errorf("diffing %s: %w", ref, err)
	}
	return Result{Changed: true, Text: text}, nil
}

func content(u *unstructured.Unstructured) map[string]any {
	if u == nil {
		return nil
	}
	return u.Object
}

func sameJSON(a, b map[string]any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// reference names the object as Kind namespace/name for diff headers and errors; the
// first object that has a kind is used.
func reference(objs ...map[string]any) string {
	for _, o := range objs {
		if o == nil {
			continue
		}
		u := unstructured.Unstructured{Object: o}
		if u.GetNamespace() == "" {
			return u.GetKind() + " " + u.GetName()
		}
		return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
	}
	return "object"
}

func unified(live, desired map[string]any, ref string, opts Options) (string, error) {
	a, err := yamlLines(live)
	if err != nil {
		return "", err
	}
	b, err := yamlLines(desired)
	if err != nil {
		return "", err
	}
	ctx := opts.Context
	if ctx <= 0 {
		ctx = 3
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: a, B: b, FromFile: "live " + ref, ToFile: "desired " + ref, Context: ctx,
	})
	if err != nil {
		return "", err
	}
	if opts.Color {
		text = colorize(text)
	}
	return text, nil
}

func yamlLines(obj map[string]any) ([]string, error) {
	if obj == nil {
		return nil, nil
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	// Split after each newline; the text ends in one, so the last piece is empty.
	lines := strings.SplitAfter(string(out), "\n")
	return lines[:len(lines)-1], nil
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
)

// colorize paints a unified diff line by line: headers bold, hunks cyan, removals red,
// additions green.
func colorize(text string) string {
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		body := strings.TrimSuffix(l, "\n")
		color := ""
		switch {
		case strings.HasPrefix(body, "--- "), strings.HasPrefix(body, "+++ "):
			color = ansiBold
		case strings.HasPrefix(body, "@@"):
			color = ansiCyan
		case strings.HasPrefix(body, "-"):
			color = ansiRed
		case strings.HasPrefix(body, "+"):
			color = ansiGreen
		}
		if color == "" {
			b.WriteString(l)
			continue
		}
		b.WriteString(color + body + ansiReset + l[len(body):])
	}
	return b.String()
}
