// Package analysis judges a rollout by metrics: a small Provider interface that runs one
// query (Prometheus here), and a pure assessment that turns measurements into a verdict.
// The assessment state is plain counts, so the controller can record it in status and
// continue after a restart.
package analysis

import (
	"errors"
	"fmt"
	"time"
)

// DefaultInterval applies when Metric.Interval is zero.
const DefaultInterval = 30 * time.Second

// ErrInvalid is wrapped by every error about a metric definition.
var ErrInvalid = errors.New("invalid analysis metric")

// Metric is one query with a threshold. A measurement succeeds when the value is at least
// Min and at most Max (whichever are set).
type Metric struct {
	Name  string
	Query string
	Min   *float64
	Max   *float64
	// Interval between measurements.
	Interval time.Duration
	// FailureLimit is how many failed measurements in a row are tolerated; one more fails
	// the analysis. 0 fails on the first.
	FailureLimit int32
	// InconclusiveLimit is how many inconclusive measurements in a row are tolerated
	// (errors, no data, NaN, several series); one more fails the analysis. 0 means the
	// default: FailureLimit+1, and at least 3.
	InconclusiveLimit int32
}

// Validate checks the definition; the error says what to fix.
func (m Metric) Validate() error {
	switch {
	case m.Name == "":
		return fmt.Errorf("%w: a metric needs a name", ErrInvalid)
	case m.Query == "":
		return fmt.Errorf("%w: metric %s: empty query", ErrInvalid, m.Name)
	case m.Min == nil && m.Max == nil:
		return fmt.Errorf("%w: metric %s: set min or max", ErrInvalid, m.Name)
	case m.Min != nil && m.Max != nil && *m.Min > *m.Max:
		return fmt.Errorf("%w: metric %s: min %g is above max %g", ErrInvalid, m.Name, *m.Min, *m.Max)
	case m.Interval < 0:
		return fmt.Errorf("%w: metric %s: negative interval", ErrInvalid, m.Name)
	case m.FailureLimit < 0 || m.InconclusiveLimit < 0:
		return fmt.Errorf("%w: metric %s: negative limit", ErrInvalid, m.Name)
	}
	return nil
}

func (m Metric) interval() time.Duration {
	if m.Interval == 0 {
		return DefaultInterval
	}
	return m.Interval
}

func (m Metric) inconclusiveLimit() int32 {
	if m.InconclusiveLimit > 0 {
		return m.InconclusiveLimit
	}
	return max(m.FailureLimit+1, 3)
}

// passes reports whether a (finite) value meets the thresholds, and if not, which.
func (m Metric) passes(v float64) (bool, string) {
	if m.Min != nil && v < *m.Min {
		return false, fmt.Sprintf("%g is below the minimum %g", v, *m.Min)
	}
	if m.Max != nil && v > *m.Max {
		return false, fmt.Sprintf("%g is above the maximum %g", v, *m.Max)
	}
	return true, ""
}
