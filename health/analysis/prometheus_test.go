package analysis

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	promtest "github.com/landfall-dev/landfall/test/prometheus"
)

// TestPrometheus queries a real Prometheus that scrapes a loopback target whose gauges
// the test sets. One server serves all subtests: starting it is the slow part.
func TestPrometheus(t *testing.T) {
	target := promtest.NewTarget(t)
	target.Set("landfall_test_error_ratio", 0.001)
	target.Set("landfall_test_other", 1)
	srv := promtest.Start(t, target.Addr)
	prom, err := NewPrometheus(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	metric := Metric{Name: "error-rate", Query: "landfall_test_error_ratio", Max: f(0.01), FailureLimit: 1}
	const wait = 30 * time.Second

	t.Run("a good metric passes", func(t *testing.T) {
		srv.WaitFor(t, metric.Query, wait, func(v float64) bool { return v == 0.001 })
		s := Measure(ctx, prom, metric, State{}, time.Now())
		if s.Verdict(metric) != Pass || s.LastValue != "0.001" {
			t.Errorf("state %+v, want a pass at 0.001", s)
		}
	})

	t.Run("a bad metric fails", func(t *testing.T) {
		target.Set("landfall_test_error_ratio", 0.2)
		srv.WaitFor(t, metric.Query, wait, func(v float64) bool { return v == 0.2 })
		s := Measure(ctx, prom, metric, State{}, time.Now())
		if s.Verdict(metric) != Inconclusive {
			t.Errorf("one failure within the limit: %+v", s)
		}
		s = Measure(ctx, prom, metric, s, time.Now())
		if s.Verdict(metric) != Fail || !strings.Contains(s.Message, "0.2 is above the maximum 0.01") {
			t.Errorf("two failures: %+v, want Fail", s)
		}
	})

	t.Run("NaN is inconclusive", func(t *testing.T) {
		target.Set("landfall_test_error_ratio", math.NaN())
		srv.WaitFor(t, metric.Query, wait, math.IsNaN)
		v, err := prom.Query(ctx, metric.Query)
		if err != nil || !math.IsNaN(v) {
			t.Fatalf("Query = %v, %v; want NaN", v, err)
		}
		s := Measure(ctx, prom, metric, State{}, time.Now())
		if s.Verdict(metric) != Inconclusive || s.Inconclusive != 1 {
			t.Errorf("state %+v, want inconclusive", s)
		}
	})

	t.Run("no data is inconclusive", func(t *testing.T) {
		_, err := prom.Query(ctx, "landfall_test_does_not_exist")
		if !errors.Is(err, ErrNoData) {
			t.Errorf("err = %v, want ErrNoData", err)
		}
		s := Measure(ctx, prom, Metric{Name: "x", Query: "landfall_test_does_not_exist", Max: f(1)}, State{}, time.Now())
		if s.Verdict(metric) != Inconclusive {
			t.Errorf("state %+v, want inconclusive", s)
		}
	})

	t.Run("several series are ambiguous", func(t *testing.T) {
		srv.WaitFor(t, "landfall_test_other", wait, func(v float64) bool { return v == 1 })
		_, err := prom.Query(ctx, `{__name__=~"landfall_test_.*"}`)
		if !errors.Is(err, ErrAmbiguous) {
			t.Errorf("err = %v, want ErrAmbiguous", err)
		}
	})

	t.Run("a scalar result is read", func(t *testing.T) {
		v, err := prom.Query(ctx, "scalar(landfall_test_other) * 3")
		if err != nil || v != 3 {
			t.Errorf("Query = %v, %v; want 3", v, err)
		}
	})

	t.Run("a bad query is inconclusive", func(t *testing.T) {
		_, err := prom.Query(ctx, "sum(")
		if err == nil || !strings.Contains(err.Error(), "prometheus query") {
			t.Errorf("err = %v, want a query error", err)
		}
	})

	t.Run("a range vector is refused", func(t *testing.T) {
		_, err := prom.Query(ctx, "landfall_test_other[1m]")
		if err == nil || !strings.Contains(err.Error(), "want a scalar or an instant vector") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestPrometheusUnreachable(t *testing.T) {
	// A port nothing listens on: ask the kernel for one, then close it.
	addr := closedPort(t)
	prom, err := NewPrometheus("http://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	metric := Metric{Name: "error-rate", Query: "up", Max: f(0.01)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := Measure(ctx, prom, metric, State{}, time.Now())
	if s.Verdict(metric) != Inconclusive || s.Inconclusive != 1 || !strings.Contains(s.Message, "inconclusive") {
		t.Errorf("state %+v, want inconclusive", s)
	}
}

func TestNewPrometheusRejects(t *testing.T) {
	for _, addr := range []string{"", "prometheus:9090", "ftp://host", "http://", "http://admin:hunter2@prometheus:9090", "http://[::1"} {
		_, err := NewPrometheus(addr, nil)
		if err == nil {
			t.Errorf("NewPrometheus(%q) accepted", addr)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}
