package controllers

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/health"
)

// maxCachedRules bounds the compiled rules kept; past it the cache starts over.
const maxCachedRules = 1024

// healthRules compiles each Application's healthCheckExprs once per generation, layered
// over the controller's global rules.
type healthRules struct {
	global *health.Rules
	mu     sync.Mutex
	byApp  map[rulesKey]compiledRules
}

type rulesKey struct {
	uid        types.UID
	generation int64
}

type compiledRules struct {
	rules *health.Rules
	err   error
}

// of returns the rules that judge app's objects: its own, then the global ones, then the
// built-in rules and kstatus. An expression that does not compile is an error naming it.
func (h *healthRules) of(app *landfallv1.Application) (*health.Rules, error) {
	var global *health.Rules
	if h != nil {
		global = h.global
	}
	if len(app.Spec.HealthCheckExprs) == 0 || h == nil {
		return global, nil
	}
	key := rulesKey{app.UID, app.Generation}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.byApp[key]; ok {
		return c.rules, c.err
	}
	own, err := health.CompileRules(HealthRulesOf(app.Spec.HealthCheckExprs))
	c := compiledRules{err: err}
	if err != nil {
		c.err = fmt.Errorf("spec.healthCheckExprs: %w", err)
	} else {
		c.rules = own.Over(global)
	}
	if h.byApp == nil || len(h.byApp) >= maxCachedRules {
		h.byApp = map[rulesKey]compiledRules{}
	}
	h.byApp[key] = c
	return c.rules, c.err
}

// HealthRulesOf translates the API's health expressions for the health package.
func HealthRulesOf(exprs []landfallv1.HealthCheckExpr) []health.Rule {
	out := make([]health.Rule, 0, len(exprs))
	for _, e := range exprs {
		out = append(out, health.Rule{Group: e.Group, Kind: e.Kind, Current: e.Current, InProgress: e.InProgress, Failed: e.Failed})
	}
	return out
}
