package health

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Bounds of user health rules: an expression is read, compiled and run within them.
const (
	// MaxExpressionLength is the longest expression compiled, in bytes.
	MaxExpressionLength = 4096
	// CostLimit bounds one evaluation, in CEL's cost units (about one per field read or
	// comparison, more for list and string work); the apiserver's validation rules use the
	// same per-call limit. An expression that exceeds it fails: health Unknown.
	CostLimit = 1_000_000
)

// Rule judges one kind of object with CEL expressions. Each sees the object's top-level
// fields apiVersion, kind, metadata, spec and status as variables (an absent one reads as
// an empty map, so has(status.phase) works on a new object), and the whole object as self
// (self.data of a ConfigMap), and must give a bool.
type Rule struct {
	Group, Kind string
	// Current is true when the object is healthy; InProgress while it moves towards its
	// spec; Failed when it has failed. InProgress and Failed may be empty.
	Current, InProgress, Failed string
}

// ruleVariables are the object's fields an expression may read.
var ruleVariables = []string{"apiVersion", "kind", "metadata", "spec", "status"}

// compiledRule is a Rule ready to run: its expressions in the order they are tried.
type compiledRule struct {
	checks []ruleCheck
}

type ruleCheck struct {
	field  string // inProgress, failed or current, as users spell them
	status Status
	text   string
	prog   cel.Program
}

// Rules are compiled health rules by kind, layered over the rules of a base set (an
// Application's over the controller's). The nil Rules adds nothing to the built-in rules.
type Rules struct {
	byKind map[schema.GroupKind]*compiledRule
	base   *Rules
}

// celEnv is built once: every rule shares it.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	opts := []cel.EnvOption{cel.ParserExpressionSizeLimit(MaxExpressionLength)}
	for _, v := range append([]string{"self"}, ruleVariables...) {
		opts = append(opts, cel.Variable(v, cel.DynType))
	}
	return cel.NewEnv(opts...)
})

// CompileRules compiles rules. Every expression that does not compile, or does not give a
// bool, is named in the error by its rule's index, kind and field; a kind given twice is
// refused too.
func CompileRules(rules []Rule) (*Rules, error) {
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("health rules: %w", err)
	}
	out := &Rules{byKind: map[schema.GroupKind]*compiledRule{}}
	var errs []error
	for i, r := range rules {
		gk := schema.GroupKind{Group: r.Group, Kind: r.Kind}
		where := fmt.Sprintf("health rule %d (%s)", i, kindLabel(gk))
		if _, dup := out.byKind[gk]; dup {
			errs = append(errs, fmt.Errorf("%s: the kind has a rule already", where))
			continue
		}
		cr := &compiledRule{}
		for _, c := range []struct {
			field, text string
			status      Status
		}{{"inProgress", r.InProgress, Progressing}, {"failed", r.Failed, Degraded}, {"current", r.Current, Healthy}} {
			if strings.TrimSpace(c.text) == "" {
				if c.field == "current" {
					errs = append(errs, fmt.Errorf("%s: current is required", where))
				}
				continue
			}
			prog, err := compile(env, c.text)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", where, c.field, err))
				continue
			}
			cr.checks = append(cr.checks, ruleCheck{field: c.field, status: c.status, text: c.text, prog: prog})
		}
		out.byKind[gk] = cr
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func compile(env *cel.Env, text string) (cel.Program, error) {
	if len(text) > MaxExpressionLength {
		return nil, fmt.Errorf("the expression is %d bytes long; the limit is %d", len(text), MaxExpressionLength)
	}
	ast, iss := env.Compile(text)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if t := ast.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return nil, fmt.Errorf("the expression gives %s, not a bool", t)
	}
	return env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
}

// Over layers r over base: r's rule for a kind wins, base's applies to the kinds r lacks.
func (r *Rules) Over(base *Rules) *Rules {
	switch {
	case r == nil:
		return base
	case base == nil:
		return r
	}
	return &Rules{byKind: r.byKind, base: base.Over(r.base)}
}

func (r *Rules) lookup(gk schema.GroupKind) *compiledRule {
	for s := r; s != nil; s = s.base {
		if cr, ok := s.byKind[gk]; ok {
			return cr
		}
	}
	return nil
}

// Has reports whether a rule judges the kind.
func (r *Rules) Has(gk schema.GroupKind) bool { return r.lookup(gk) != nil }

// Of returns the health of one live object: by its kind's rule when there is one, else as
// the package-level Of judges it. An object being deleted is Progressing either way.
func (r *Rules) Of(obj *unstructured.Unstructured) Result {
	if obj == nil || obj.GetDeletionTimestamp() != nil {
		return Of(obj)
	}
	cr := r.lookup(obj.GroupVersionKind().GroupKind())
	if cr == nil {
		return Of(obj)
	}
	return cr.judge(obj)
}

// NewObjectHealth judges obj with r and names it.
func (r *Rules) NewObjectHealth(obj *unstructured.Unstructured) ObjectHealth {
	oh := NewObjectHealth(obj)
	if r != nil {
		oh.Result = r.Of(obj)
	}
	return oh
}

// judge tries the rule's expressions in order; the first that is true decides. An error,
// or a value that is not a bool, is Unknown: a broken rule never passes an object.
func (cr *compiledRule) judge(obj *unstructured.Unstructured) Result {
	vars := make(map[string]any, len(ruleVariables)+1)
	vars["self"] = obj.Object
	for _, v := range ruleVariables {
		if val, ok := obj.Object[v]; ok && val != nil {
			vars[v] = val
		} else {
			vars[v] = map[string]any{}
		}
	}
	for _, c := range cr.checks {
		val, _, err := c.prog.Eval(vars)
		if err != nil {
			return Result{Status: Unknown, Message: fmt.Sprintf("health rule %s failed: %s", c.field, err.Error())}
		}
		b, ok := val.Value().(bool)
		if !ok {
			return Result{Status: Unknown, Message: fmt.Sprintf("health rule %s gave %s, not a bool", c.field, val.Type().TypeName())}
		}
		if b {
			msg := "health rule: " + c.field + " is true"
			if rc, ok := findCondition(conditions(obj), "Ready"); ok && rc.text() != "" {
				msg += " (Ready: " + rc.text() + ")"
			}
			return Result{Status: c.status, Message: msg}
		}
	}
	return Result{Status: Progressing, Message: "health rule: no expression is true yet"}
}

func kindLabel(gk schema.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}
