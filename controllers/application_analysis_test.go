package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/rollout"
)

// A step waiting for analysis must come back when a metric is due, not when its wait ends.
func TestNextMeasurement(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { m := metav1.NewTime(now.Add(d)); return &m }
	limit := 0.1
	metric := func(name string, interval time.Duration) landfallv1.AnalysisMetric {
		return landfallv1.AnalysisMetric{Name: name, Max: &limit, Interval: &metav1.Duration{Duration: interval},
			Prometheus: landfallv1.PrometheusQuery{Address: "http://prometheus:9090", Query: "up"}}
	}
	app := &landfallv1.Application{Spec: landfallv1.ApplicationSpec{Rollout: &landfallv1.RolloutSpec{
		Analysis: []landfallv1.AnalysisMetric{metric("slow", 30*time.Second), metric("fast", 5*time.Second)}}}}
	measured := []landfallv1.AnalysisStatus{
		{Name: "slow", LastMeasuredAt: at(-10 * time.Second)},
		{Name: "fast", LastMeasuredAt: at(-time.Second)},
	}
	for _, tc := range []struct {
		name     string
		phase    landfallv1.RolloutPhase
		analysis []landfallv1.AnalysisStatus
		want     time.Time
	}{
		{"analyzing: the earliest due metric", landfallv1.RolloutAnalyzing, measured, now.Add(4 * time.Second)},
		{"paused: measured during the pause too", landfallv1.RolloutPaused, measured, now.Add(4 * time.Second)},
		{"never measured: due now", landfallv1.RolloutProgressing, nil, now},
		{"baking: analysis gates nothing", landfallv1.RolloutBaking, measured, time.Time{}},
		{"rolled back: analysis gates nothing", landfallv1.RolloutRolledBack, measured, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &landfallv1.EnvironmentStatus{Rollout: &landfallv1.RolloutStatus{Phase: tc.phase, Analysis: tc.analysis}}
			if got := nextMeasurement(app.Spec.Rollout, st, now); !got.Equal(tc.want) {
				t.Errorf("nextMeasurement = %s, want %s", got, tc.want)
			}
		})
	}
	if got := nextMeasurement(nil, &landfallv1.EnvironmentStatus{}, now); !got.IsZero() {
		t.Errorf("without analysis: nextMeasurement = %s, want zero", got)
	}
}

// TestRolloutPerEnvironment: an environment's own rollout replaces the Application's
// whole; one without keeps the Application's.
func TestRolloutPerEnvironment(t *testing.T) {
	canary := &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutCanary, Steps: []landfallv1.CanaryStep{{Weight: 25, RequireApproval: true}}}
	app := &landfallv1.Application{Spec: landfallv1.ApplicationSpec{Rollout: canary, Environments: []landfallv1.Environment{
		{Name: "staging", Rollout: &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutRolling}}, {Name: "production"}}}}
	if p := policyOf(app, &app.Spec.Environments[0]); p.Strategy != rollout.Rolling || len(p.Steps) != 0 {
		t.Errorf("staging: %+v, want its own Rolling", p)
	}
	if p := policyOf(app, &app.Spec.Environments[1]); p.Strategy != rollout.Canary || len(p.Steps) != 1 || !p.Steps[0].RequireApproval {
		t.Errorf("production: %+v, want the Application's Canary with its approval step", p)
	}
}

// TestAnalysisQueryVariables: a query names the environment's namespace, name and
// Application; an unknown variable or a broken template is refused with the syntax.
func TestAnalysisQueryVariables(t *testing.T) {
	app := &landfallv1.Application{}
	app.Name = "payments"
	env := &landfallv1.Environment{Name: "staging", Namespace: "shop-staging"}
	got, err := expandQuery(`sum(rate(x{namespace="{{ .Namespace }}",env="{{.Environment}}",app="{{ .Application }}"}[2m]))`, app, env)
	if want := `sum(rate(x{namespace="shop-staging",env="staging",app="payments"}[2m]))`; err != nil || got != want {
		t.Errorf("expandQuery = %q, %v; want %q", got, err, want)
	}
	if got, err := expandQuery(`up{job="x"}`, app, env); err != nil || got != `up{job="x"}` {
		t.Errorf("a query without variables: %q, %v", got, err)
	}
	for _, bad := range []string{`x{namespace="{{ .Cluster }}"}`, `x{namespace="{{ .Namespace }"}`} {
		env.Rollout = &landfallv1.RolloutSpec{Analysis: []landfallv1.AnalysisMetric{{Name: "errors",
			Prometheus: landfallv1.PrometheusQuery{Query: bad}}}}
		if err := checkQueries(app, env); err == nil || !strings.Contains(err.Error(), "{{ .Namespace }}") {
			t.Errorf("query %q: %v, want an error naming the variables", bad, err)
		}
	}
}
