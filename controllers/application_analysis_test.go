package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
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
			if got := nextMeasurement(app, st, now); !got.Equal(tc.want) {
				t.Errorf("nextMeasurement = %s, want %s", got, tc.want)
			}
		})
	}
	if got := nextMeasurement(&landfallv1.Application{}, &landfallv1.EnvironmentStatus{}, now); !got.IsZero() {
		t.Errorf("without analysis: nextMeasurement = %s, want zero", got)
	}
}
