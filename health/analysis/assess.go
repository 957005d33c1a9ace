package analysis

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Verdict is the outcome of an analysis. The values match rollout.Verdict.
type Verdict string

// Verdicts.
const (
	// None: no metrics are configured; nothing is gated.
	None Verdict = "None"
	// Pass: the last measurement of every metric succeeded.
	Pass Verdict = "Pass"
	// Fail: a metric failed, or stayed inconclusive, beyond its limit. Final.
	Fail Verdict = "Fail"
	// Inconclusive: not decided yet — not measured, or the last measurement failed
	// within the limit or could not be judged.
	Inconclusive Verdict = "Inconclusive"
)

// State is the assessment of one metric so far: counts that serialise as they are.
type State struct {
	Name                    string    `json:"name"`
	Successes               int32     `json:"successes,omitempty"`
	Failures                int32     `json:"failures,omitempty"`
	Inconclusive            int32     `json:"inconclusive,omitempty"`
	ConsecutiveFailures     int32     `json:"consecutiveFailures,omitempty"`
	ConsecutiveInconclusive int32     `json:"consecutiveInconclusive,omitempty"`
	LastValue               string    `json:"lastValue,omitempty"`
	LastMeasuredAt          time.Time `json:"lastMeasuredAt,omitzero"`
	Message                 string    `json:"message,omitempty"`
}

// Verdict derives the metric's verdict from its counts.
func (s State) Verdict(m Metric) Verdict {
	switch {
	case s.ConsecutiveFailures > m.FailureLimit:
		return Fail
	case s.ConsecutiveInconclusive > m.inconclusiveLimit():
		return Fail
	case s.Successes+s.Failures+s.Inconclusive == 0:
		return Inconclusive
	case s.ConsecutiveFailures == 0 && s.ConsecutiveInconclusive == 0:
		return Pass
	default:
		return Inconclusive
	}
}

// Due reports whether the metric should be measured at now, and when it next is.
func (s State) Due(m Metric, now time.Time) (bool, time.Time) {
	if s.LastMeasuredAt.IsZero() {
		return true, now
	}
	next := s.LastMeasuredAt.Add(m.interval())
	return !now.Before(next), next
}

// Assess adds one measurement — the provider's value and error — to the state. An error,
// NaN or an infinite value is inconclusive: it neither passes nor fails the metric but
// counts towards the inconclusive limit. A failed metric stays failed: later
// measurements are ignored.
func Assess(m Metric, s State, value float64, err error, now time.Time) State {
	s.Name = m.Name
	if s.Verdict(m) == Fail {
		return s
	}
	s.LastMeasuredAt = now
	s.LastValue = ""
	switch {
	case err != nil:
		s.Message = "inconclusive: " + err.Error()
		s.Inconclusive++
		s.ConsecutiveInconclusive++
		return s
	case math.IsNaN(value) || math.IsInf(value, 0):
		s.LastValue = strconv.FormatFloat(value, 'g', -1, 64)
		s.Message = fmt.Sprintf("inconclusive: the query returned %s", s.LastValue)
		s.Inconclusive++
		s.ConsecutiveInconclusive++
		return s
	}
	s.LastValue = strconv.FormatFloat(value, 'g', -1, 64)
	s.ConsecutiveInconclusive = 0
	if ok, why := m.passes(value); !ok {
		s.Failures++
		s.ConsecutiveFailures++
		s.Message = fmt.Sprintf("failed %d of %d tolerated in a row: %s", s.ConsecutiveFailures, m.FailureLimit, why)
		return s
	}
	s.Successes++
	s.ConsecutiveFailures = 0
	s.Message = "passed: " + s.LastValue
	return s
}

// Measure queries the provider for the metric and assesses the result.
func Measure(ctx context.Context, p Provider, m Metric, s State, now time.Time) State {
	v, err := p.Query(ctx, m.Query)
	return Assess(m, s, v, err, now)
}

// Overall combines the metrics: None without metrics, Fail if any failed, Pass if all
// passed, else Inconclusive. A metric without a state has not been measured.
func Overall(metrics []Metric, states []State) Verdict {
	if len(metrics) == 0 {
		return None
	}
	byName := make(map[string]State, len(states))
	for _, s := range states {
		byName[s.Name] = s
	}
	out := Pass
	for _, m := range metrics {
		switch byName[m.Name].Verdict(m) {
		case Fail:
			return Fail
		case Inconclusive:
			out = Inconclusive
		}
	}
	return out
}
