package analysis

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func f(v float64) *float64 { return &v }

// m is a measurement fed to Assess: a value, or an error.
type m struct {
	v   float64
	err error
}

var (
	good = m{v: 0.001}
	bad  = m{v: 0.5}
	nan  = m{v: math.NaN()}
	inf  = m{v: math.Inf(1)}
	down = m{err: errors.New("connection refused")}
)

func TestAssess(t *testing.T) {
	errorRate := Metric{Name: "error-rate", Query: "q", Max: f(0.01), FailureLimit: 1}
	strict := Metric{Name: "error-rate", Query: "q", Max: f(0.01)}
	successRate := Metric{Name: "success", Query: "q", Min: f(0.99)}
	band := Metric{Name: "latency", Query: "q", Min: f(0.1), Max: f(0.3)}
	tests := []struct {
		name     string
		metric   Metric
		measures []m
		want     Verdict
		message  string
	}{
		{"nothing measured yet", errorRate, nil, Inconclusive, ""},
		{"a good value passes", errorRate, []m{good}, Pass, "passed: 0.001"},
		{"a bad value within the limit is not yet a failure", errorRate, []m{bad}, Inconclusive, "failed 1 of 1 tolerated"},
		{"bad values beyond the limit fail", errorRate, []m{bad, bad}, Fail, "failed 2 of 1"},
		{"failures must be consecutive", errorRate, []m{bad, good, bad, good}, Pass, ""},
		{"failure limit 0 fails at once", strict, []m{bad}, Fail, "above the maximum 0.01"},
		{"a failure is final", strict, []m{bad, good, good}, Fail, "above the maximum"},
		{"minimum threshold", successRate, []m{{v: 0.95}}, Fail, "below the minimum 0.99"},
		{"value within a band", band, []m{{v: 0.2}}, Pass, ""},
		{"value above a band", band, []m{{v: 0.31}}, Fail, "above the maximum 0.3"},
		{"an error is inconclusive, never success", errorRate, []m{down}, Inconclusive, "connection refused"},
		{"NaN is inconclusive", errorRate, []m{nan}, Inconclusive, "returned NaN"},
		{"infinity is inconclusive", errorRate, []m{inf}, Inconclusive, "returned +Inf"},
		{"inconclusive after a pass is no longer a pass", errorRate, []m{good, down}, Inconclusive, ""},
		{"three inconclusive in a row are tolerated", strict, []m{down, nan, down}, Inconclusive, ""},
		{"a fourth inconclusive in a row fails", strict, []m{down, nan, down, down}, Fail, ""},
		{"a conclusive value resets the inconclusive run", strict, []m{down, down, down, good, down, down, down}, Inconclusive, ""},
		{"the default inconclusive limit follows a larger failure limit", Metric{Name: "x", Query: "q", Max: f(1), FailureLimit: 4}, []m{down, down, down, down, down}, Inconclusive, ""},
		{"an explicit inconclusive limit", Metric{Name: "x", Query: "q", Max: f(1), InconclusiveLimit: 1}, []m{down, down}, Fail, ""},
		{"inconclusive does not reset a failure run", errorRate, []m{bad, down, bad}, Fail, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s State
			for i, x := range tt.measures {
				s = Assess(tt.metric, s, x.v, x.err, t0.Add(time.Duration(i)*time.Minute))
			}
			if got := s.Verdict(tt.metric); got != tt.want {
				t.Errorf("verdict %s, want %s (state %+v)", got, tt.want, s)
			}
			if !strings.Contains(s.Message, tt.message) {
				t.Errorf("message %q, want it to contain %q", s.Message, tt.message)
			}
		})
	}
}

func TestAssessCounts(t *testing.T) {
	metric := Metric{Name: "error-rate", Query: "q", Max: f(0.01), FailureLimit: 5}
	var s State
	for i, x := range []m{good, bad, down, bad, nan, good} {
		s = Assess(metric, s, x.v, x.err, t0.Add(time.Duration(i)*time.Minute))
	}
	want := State{
		Name: "error-rate", Successes: 2, Failures: 2, Inconclusive: 2,
		LastValue: "0.001", LastMeasuredAt: t0.Add(5 * time.Minute), Message: "passed: 0.001",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("state\n got %+v\nwant %+v", s, want)
	}
}

// TestStateSerialises: the controller records the state in status and reads it back.
func TestStateSerialises(t *testing.T) {
	metric := Metric{Name: "error-rate", Query: "q", Max: f(0.01), FailureLimit: 2}
	var s State
	for i, x := range []m{bad, down, bad} {
		s = Assess(metric, s, x.v, x.err, t0.Add(time.Duration(i)*time.Minute))
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip\n got %+v\nwant %+v\njson %s", back, s, raw)
	}
	// Resuming from the restored state continues the failure run.
	if got := Assess(metric, back, bad.v, nil, t0.Add(time.Hour)).Verdict(metric); got != Fail {
		t.Errorf("after restore and a third bad value: %s, want Fail", got)
	}
	if raw, _ := json.Marshal(State{Name: "x"}); string(raw) != `{"name":"x"}` {
		t.Errorf("empty state serialises as %s", raw)
	}
}

func TestDue(t *testing.T) {
	metric := Metric{Name: "x", Query: "q", Max: f(1), Interval: time.Minute}
	if due, at := (State{}).Due(metric, t0); !due || !at.Equal(t0) {
		t.Errorf("never measured: due=%v at %v", due, at)
	}
	s := State{LastMeasuredAt: t0}
	if due, at := s.Due(metric, t0.Add(59*time.Second)); due || !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("within the interval: due=%v at %v", due, at)
	}
	if due, _ := s.Due(metric, t0.Add(time.Minute)); !due {
		t.Error("not due after the interval")
	}
	if _, at := s.Due(Metric{Name: "x", Query: "q", Max: f(1)}, t0); !at.Equal(t0.Add(DefaultInterval)) {
		t.Errorf("default interval: next at %v", at)
	}
}

func TestOverall(t *testing.T) {
	a := Metric{Name: "a", Query: "q", Max: f(1)}
	b := Metric{Name: "b", Query: "q", Max: f(1)}
	pass := func(n string) State { return State{Name: n, Successes: 1} }
	failed := func(n string) State { return State{Name: n, Failures: 1, ConsecutiveFailures: 1} }
	pending := func(n string) State { return State{Name: n, Inconclusive: 1, ConsecutiveInconclusive: 1} }
	tests := []struct {
		name    string
		metrics []Metric
		states  []State
		want    Verdict
	}{
		{"no metrics", nil, nil, None},
		{"all pass", []Metric{a, b}, []State{pass("a"), pass("b")}, Pass},
		{"one unmeasured", []Metric{a, b}, []State{pass("a")}, Inconclusive},
		{"one inconclusive", []Metric{a, b}, []State{pass("a"), pending("b")}, Inconclusive},
		{"one failed wins", []Metric{a, b}, []State{pending("a"), failed("b")}, Fail},
		{"states of removed metrics are ignored", []Metric{a}, []State{pass("a"), failed("gone")}, Pass},
	}
	for _, tt := range tests {
		if got := Overall(tt.metrics, tt.states); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestMetricValidate(t *testing.T) {
	tests := []struct {
		metric Metric
		want   string
	}{
		{Metric{Query: "q", Max: f(1)}, "needs a name"},
		{Metric{Name: "x", Max: f(1)}, "empty query"},
		{Metric{Name: "x", Query: "q"}, "set min or max"},
		{Metric{Name: "x", Query: "q", Min: f(2), Max: f(1)}, "min 2 is above max 1"},
		{Metric{Name: "x", Query: "q", Max: f(1), Interval: -time.Second}, "negative interval"},
		{Metric{Name: "x", Query: "q", Max: f(1), FailureLimit: -1}, "negative limit"},
	}
	for _, tt := range tests {
		if err := tt.metric.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.metric, err, tt.want)
		}
	}
	if err := (Metric{Name: "x", Query: "q", Min: f(0)}).Validate(); err != nil {
		t.Errorf("valid metric refused: %v", err)
	}
}
