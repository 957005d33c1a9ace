package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// maxDependencyNodes bounds the walk of the dependency graph: a fleet with more
// environments reachable from one is refused rather than walked without end.
const maxDependencyNodes = 1000

// depNode is one environment of one Application: what a dependency names.
type depNode struct{ namespace, name, env string }

// label names a node as messages do: app:env, with the namespace when it is not from.
func (n depNode) label(from string) string { return n.appLabel(from) + ":" + n.env }

// appLabel names the node's Application: its name, with the namespace when it is not from.
func (n depNode) appLabel(from string) string {
	if n.namespace != from {
		return n.namespace + "/" + n.name
	}
	return n.name
}

// dependenciesOf is what env depends on: its own list, else the Application's.
func dependenciesOf(app *landfallv1.Application, env *landfallv1.Environment) []landfallv1.Dependency {
	if len(env.DependsOn) > 0 {
		return env.DependsOn
	}
	return app.Spec.DependsOn
}

// nodesOf resolves env's dependencies: the dependent's namespace and environment name
// stand in for those a dependency leaves out.
func nodesOf(app *landfallv1.Application, env *landfallv1.Environment) []depNode {
	deps := dependenciesOf(app, env)
	out := make([]depNode, 0, len(deps))
	for _, d := range deps {
		out = append(out, depNode{firstNonEmpty(d.Namespace, app.Namespace), d.Name, firstNonEmpty(d.Environment, env.Name)})
	}
	return out
}

// dependencyKeys are the Applications ("<namespace>/<name>") app depends on in any
// environment: the index the watch maps a changed Application to its dependents with.
func dependencyKeys(app *landfallv1.Application) []string {
	seen := map[string]bool{}
	var keys []string
	for i := range app.Spec.Environments {
		for _, n := range nodesOf(app, &app.Spec.Environments[i]) {
			if k := n.namespace + "/" + n.name; !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// lookupFunc reads an Application; ok is false when there is none.
type lookupFunc func(namespace, name string) (app *landfallv1.Application, ok bool, err error)

var errTooManyDependencies = fmt.Errorf("more than %d environments are reachable through dependsOn", maxDependencyNodes)

// findCycle walks the dependency graph from start depth first and returns the first cycle
// it meets (its first node repeated at its end), or nil. Missing Applications and
// environments end a path: they are waited for, not a cycle.
func findCycle(start depNode, lookup lookupFunc) ([]depNode, error) {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[depNode]int{}
	var path []depNode
	var visit func(n depNode) ([]depNode, error)
	visit = func(n depNode) ([]depNode, error) {
		switch state[n] {
		case onPath:
			for i, p := range path {
				if p == n {
					return append(append([]depNode{}, path[i:]...), n), nil
				}
			}
		case done:
			return nil, nil
		}
		if len(state) >= maxDependencyNodes {
			return nil, errTooManyDependencies
		}
		state[n] = onPath
		path = append(path, n)
		next, err := edges(n, lookup)
		if err != nil {
			return nil, err
		}
		for _, m := range next {
			if c, err := visit(m); c != nil || err != nil {
				return c, err
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil, nil
	}
	return visit(start)
}

// edges are the environments node depends on.
func edges(n depNode, lookup lookupFunc) ([]depNode, error) {
	app, ok, err := lookup(n.namespace, n.name)
	if err != nil || !ok {
		return nil, err
	}
	for i := range app.Spec.Environments {
		if env := &app.Spec.Environments[i]; env.Name == n.env {
			return nodesOf(app, env), nil
		}
	}
	return nil, nil
}

// cycleMessage names a cycle as a chain of app:env.
func cycleMessage(cycle []depNode, from string) string {
	labels := make([]string, len(cycle))
	for i, n := range cycle {
		labels[i] = n.label(from)
	}
	return "dependency cycle: " + strings.Join(labels, " → ") + "; remove a dependsOn to break it"
}

// dependencyState says whether environment env of dep is Healthy at its current revision
// and, when it is not, what it is doing instead.
func dependencyState(dep *landfallv1.Application, env string) (ready bool, state string) {
	if dep.Status.ObservedGeneration != dep.Generation {
		return false, fmt.Sprintf("has not acted on its spec yet (generation %d, observed %d)", dep.Generation, dep.Status.ObservedGeneration)
	}
	if !hasEnvironment(dep, env) {
		return false, "has no environment " + env
	}
	st := findEnvironmentStatus(dep.Status.Environments, env)
	if st == nil || st.Revision == "" || st.Rollout == nil {
		return false, "has not deployed environment " + env + " yet"
	}
	ro := st.Rollout
	switch {
	case ro.Phase == landfallv1.RolloutRolledBack:
		return false, fmt.Sprintf("environment %s: revision %s failed and was rolled back", env, ro.Revision)
	case ro.Phase == landfallv1.RolloutFailed:
		return false, fmt.Sprintf("environment %s: revision %s failed", env, ro.Revision)
	case ro.Phase != landfallv1.RolloutCompleted && ro.Phase != landfallv1.RolloutBaking, ro.Revision != st.Revision:
		return false, fmt.Sprintf("environment %s is rolling out %s (%s)", env, ro.Revision, ro.Phase)
	case st.DesiredRevision != "" && st.DesiredRevision != st.Revision:
		return false, fmt.Sprintf("environment %s is moving to %s", env, st.DesiredRevision)
	case st.Health != landfallv1.HealthHealthy:
		return false, fmt.Sprintf("environment %s is %s at %s", env, healthOrUnknown(st.Health), st.Revision)
	}
	return true, fmt.Sprintf("environment %s is Healthy at %s", env, st.Revision)
}

func healthOrUnknown(h landfallv1.Health) landfallv1.Health {
	if h == "" {
		return landfallv1.HealthUnknown
	}
	return h
}

func hasEnvironment(app *landfallv1.Application, env string) bool {
	for _, e := range app.Spec.Environments {
		if e.Name == env {
			return true
		}
	}
	return false
}

func findEnvironmentStatus(list []landfallv1.EnvironmentStatus, name string) *landfallv1.EnvironmentStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// dependencyGate holds a new revision of an environment until every environment it
// depends on is Healthy at its current revision. Like an approval it returns the revision
// to plan with — desired once the dependencies are ready, else what the environment runs
// now, kept and healed — and held says why it waits. A pin is a person's decision and is
// not held. A cycle, and a dependency the tenant policy forbids, hold it Stalled.
func (r *ApplicationReconciler) dependencyGate(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	st *landfallv1.EnvironmentStatus, desired string, ten *tenant) (plan string, held *envOutcome) {
	nodes := nodesOf(app, env)
	if len(nodes) == 0 {
		return desired, nil
	}
	current := ""
	if st.Rollout != nil {
		current = st.Rollout.Revision
	}
	if st.PinnedRevision != "" {
		return desired, nil
	}
	if out := r.dependencyRefusal(ctx, app, env, nodes, ten); out != nil {
		return current, out
	}
	if desired == current {
		return desired, nil
	}
	var waits []string
	for _, n := range nodes {
		dep, ok, err := r.lookupApplication(ctx)(n.namespace, n.name)
		switch {
		case err != nil:
			waits = append(waits, "Application "+n.appLabel(app.Namespace)+" cannot be read: "+err.Error())
		case !ok:
			waits = append(waits, "Application "+n.appLabel(app.Namespace)+" not found")
		default:
			if ready, state := dependencyState(dep, n.env); !ready {
				waits = append(waits, "Application "+n.appLabel(app.Namespace)+" "+state)
			}
		}
	}
	if len(waits) == 0 {
		return desired, nil
	}
	msg := fmt.Sprintf("revision %s waits for its dependencies: %s", desired, strings.Join(waits, "; "))
	return current, &envOutcome{blocked: true, reason: landfallv1.ReasonDependencyNotReady, message: msg}
}

// dependencyRefusal refuses dependencies the user must change: one in a namespace the
// tenant may not read, and a cycle. Both are Stalled, with an Event.
func (r *ApplicationReconciler) dependencyRefusal(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	nodes []depNode, ten *tenant) *envOutcome {
	var reason string
	var err error
	if err = ten.checkDependencies(app.Namespace, nodes); err != nil {
		reason = landfallv1.ReasonPolicyViolation
	} else {
		start := depNode{app.Namespace, app.Name, env.Name}
		lookup := r.lookupApplication(ctx)
		self := func(ns, name string) (*landfallv1.Application, bool, error) {
			if ns == app.Namespace && name == app.Name {
				return app, true, nil // the spec being reconciled, not the cache's copy
			}
			return lookup(ns, name)
		}
		cycle, cerr := findCycle(start, self)
		switch {
		case cerr != nil:
			reason, err = landfallv1.ReasonDependencyCycle, cerr
		case cycle != nil:
			reason, err = landfallv1.ReasonDependencyCycle, errors.New(cycleMessage(cycle, app.Namespace))
		}
	}
	if err == nil {
		return nil
	}
	r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, reason, "Sync", "environment %s: %s", env.Name, err.Error())
	out := failed(reason, err, true)
	out.blocked, out.err = true, nil
	return &out
}

// lookupApplication reads Applications from the cache: the watch that wakes a dependent
// runs after the cache holds the change.
func (r *ApplicationReconciler) lookupApplication(ctx context.Context) lookupFunc {
	return func(namespace, name string) (*landfallv1.Application, bool, error) {
		app := &landfallv1.Application{}
		err := r.Get(ctx, objectKey(namespace, name), app)
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading Application %s/%s: %w", namespace, name, err)
		}
		return app, true, nil
	}
}
