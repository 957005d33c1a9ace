package controllers

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// graph builds Applications in namespace "team" with one environment, staging, each
// depending on the names given (another namespace as "ns/name").
func graph(edges map[string][]string) lookupFunc {
	apps := map[string]*landfallv1.Application{}
	for name, deps := range edges {
		ns, n := "team", name
		if i := strings.IndexByte(name, '/'); i >= 0 {
			ns, n = name[:i], name[i+1:]
		}
		app := &landfallv1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n}}
		for _, d := range deps {
			dep := landfallv1.Dependency{Name: d}
			if i := strings.IndexByte(d, '/'); i >= 0 {
				dep = landfallv1.Dependency{Namespace: d[:i], Name: d[i+1:]}
			}
			app.Spec.DependsOn = append(app.Spec.DependsOn, dep)
		}
		app.Spec.Environments = []landfallv1.Environment{{Name: "staging", Namespace: "x"}}
		apps[ns+"/"+n] = app
	}
	return func(ns, name string) (*landfallv1.Application, bool, error) {
		a, ok := apps[ns+"/"+name]
		return a, ok, nil
	}
}

func TestFindCycle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edges map[string][]string
		start string
		want  string // the cycle message, "" for none
	}{
		{"none", map[string][]string{"orders": {"database"}, "database": nil}, "orders", ""},
		{"missing dependency is no cycle", map[string][]string{"orders": {"ghost"}}, "orders", ""},
		{"diamond is no cycle", map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": nil}, "a", ""},
		{"two", map[string][]string{"a": {"b"}, "b": {"a"}}, "a", "a:staging → b:staging → a:staging"},
		{"self", map[string][]string{"a": {"a"}}, "a", "a:staging → a:staging"},
		{"four", map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"d"}, "d": {"a"}}, "a", "a:staging → b:staging → c:staging → d:staging → a:staging"},
		{"reached, not through the start", map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"b"}}, "a", "b:staging → c:staging → b:staging"},
		{"across namespaces", map[string][]string{"a": {"other/b"}, "other/b": {"team/a"}}, "a", "a:staging → other/b:staging → a:staging"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cycle, err := findCycle(depNode{"team", tc.start, "staging"}, graph(tc.edges))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if cycle != nil {
				got = strings.TrimSuffix(strings.TrimPrefix(cycleMessage(cycle, "team"), "dependency cycle: "), "; remove a dependsOn to break it")
			}
			if got != tc.want {
				t.Fatalf("cycle = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFindCycleBounded: a chain longer than the bound is refused, not walked to its end.
func TestFindCycleBounded(t *testing.T) {
	edges := map[string][]string{}
	for i := range maxDependencyNodes + 10 {
		edges[name(i)] = []string{name(i + 1)}
	}
	if _, err := findCycle(depNode{"team", name(0), "staging"}, graph(edges)); err == nil {
		t.Fatal("a chain past the bound was walked to its end")
	}
}

func name(i int) string { return fmt.Sprintf("app-%d", i) }

func TestDependencyState(t *testing.T) {
	const rev, next = "main@sha1:1111", "main@sha1:2222"
	app := func(mutate func(a *landfallv1.Application)) *landfallv1.Application {
		a := &landfallv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "database", Generation: 2}}
		a.Spec.Environments = []landfallv1.Environment{{Name: "staging"}}
		a.Status.ObservedGeneration = 2
		a.Status.Environments = []landfallv1.EnvironmentStatus{{Name: "staging", Revision: rev, DesiredRevision: rev,
			Health: landfallv1.HealthHealthy, Rollout: &landfallv1.RolloutStatus{Revision: rev, Phase: landfallv1.RolloutCompleted}}}
		if mutate != nil {
			mutate(a)
		}
		return a
	}
	env := func(a *landfallv1.Application) *landfallv1.EnvironmentStatus { return &a.Status.Environments[0] }
	for _, tc := range []struct {
		name   string
		app    *landfallv1.Application
		ready  bool
		saying string
	}{
		{"healthy at its revision", app(nil), true, "Healthy at " + rev},
		{"baking is healthy", app(func(a *landfallv1.Application) { env(a).Rollout.Phase = landfallv1.RolloutBaking }), true, "Healthy"},
		{"spec not yet acted on", app(func(a *landfallv1.Application) { a.Generation = 3 }), false, "generation 3, observed 2"},
		{"no such environment", app(func(a *landfallv1.Application) { a.Spec.Environments[0].Name = "prod" }), false, "has no environment staging"},
		{"never deployed", app(func(a *landfallv1.Application) { a.Status.Environments = nil }), false, "has not deployed environment staging yet"},
		{"rolling out", app(func(a *landfallv1.Application) {
			env(a).Rollout = &landfallv1.RolloutStatus{Revision: next, Phase: landfallv1.RolloutProgressing}
		}), false, "rolling out " + next + " (Progressing)"},
		{"rolled back", app(func(a *landfallv1.Application) {
			env(a).Rollout = &landfallv1.RolloutStatus{Revision: next, Phase: landfallv1.RolloutRolledBack}
		}), false, "revision " + next + " failed and was rolled back"},
		{"moving to a newer revision", app(func(a *landfallv1.Application) { env(a).DesiredRevision = next }), false, "moving to " + next},
		{"degraded", app(func(a *landfallv1.Application) { env(a).Health = landfallv1.HealthDegraded }), false, "is Degraded at " + rev},
		{"health not yet read", app(func(a *landfallv1.Application) { env(a).Health = "" }), false, "is Unknown at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready, state := dependencyState(tc.app, "staging")
			if ready != tc.ready || !strings.Contains(state, tc.saying) {
				t.Fatalf("dependencyState = %v, %q; want %v saying %q", ready, state, tc.ready, tc.saying)
			}
		})
	}
}
