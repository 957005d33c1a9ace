// Package rollout plans progressive delivery. Plan is a pure state machine: given the
// policy, the recorded progress, the observed health and analysis verdict and the current
// time, it returns the one next action and the progress to record once that action is
// done. The controller calls it on every reconcile, performs the action, records the
// progress in status and requeues — so a rollout never blocks a worker and resumes where
// it stopped after a restart.
package rollout

import (
	"errors"
	"fmt"
	"time"
)

// Strategy is how a new revision replaces the old one.
type Strategy string

// Strategies.
const (
	// Rolling applies the whole revision at once and waits for it to become healthy.
	Rolling Strategy = "Rolling"
	// Canary moves the revision in through weighted steps, each healthy (and passing
	// analysis) for its pause before the next.
	Canary Strategy = "Canary"
)

// DefaultHealthTimeout applies when Policy.HealthTimeout is zero.
const DefaultHealthTimeout = 5 * time.Minute

// Step is one step of a Canary rollout.
type Step struct {
	// Weight is the share of replicas on the new revision, 1–100.
	Weight int32
	// Pause is how long the step must stay healthy before the next one.
	Pause time.Duration
	// RequireApproval holds the rollout at the step, after its pause and analysis, until
	// Input.ApprovedSteps names it.
	RequireApproval bool
}

// Policy is the rollout policy of one environment, translated from the Application spec.
type Policy struct {
	Strategy Strategy // empty means Rolling
	Steps    []Step   // Canary only; weights ascend
	// HealthTimeout bounds every wait for health: after a step is applied, after health
	// regresses, and while analysis stays inconclusive after a pause.
	HealthTimeout time.Duration
	// AutoRollback rolls back to the last healthy revision when a revision fails.
	AutoRollback bool
	// BakeTime is how long a promoted revision stays healthy before the next environment
	// may take it.
	BakeTime time.Duration
}

// ErrInvalid is wrapped by every error about a policy or input the planner cannot use.
var ErrInvalid = errors.New("invalid rollout input")

// Validate checks the policy; the error says what to fix.
func (p Policy) Validate() error {
	switch p.Strategy {
	case "", Rolling:
		if len(p.Steps) > 0 {
			return fmt.Errorf("%w: steps are only for the Canary strategy", ErrInvalid)
		}
	case Canary:
		if len(p.Steps) == 0 {
			return fmt.Errorf("%w: the Canary strategy needs at least one step", ErrInvalid)
		}
	default:
		return fmt.Errorf("%w: unknown strategy %q (want Rolling or Canary)", ErrInvalid, p.Strategy)
	}
	prev := int32(0)
	for i, s := range p.Steps {
		if s.Weight < 1 || s.Weight > 100 {
			return fmt.Errorf("%w: step %d: weight %d is not between 1 and 100", ErrInvalid, i, s.Weight)
		}
		if s.Weight <= prev {
			return fmt.Errorf("%w: step %d: weight %d does not ascend from %d", ErrInvalid, i, s.Weight, prev)
		}
		if s.Pause < 0 {
			return fmt.Errorf("%w: step %d: negative pause %s", ErrInvalid, i, s.Pause)
		}
		prev = s.Weight
	}
	if p.HealthTimeout < 0 || p.BakeTime < 0 {
		return fmt.Errorf("%w: negative healthTimeout or bakeTime", ErrInvalid)
	}
	return nil
}

func (p Policy) healthTimeout() time.Duration {
	if p.HealthTimeout == 0 {
		return DefaultHealthTimeout
	}
	return p.HealthTimeout
}

// fullStep is the whole revision at once: Rolling's only step and Canary's last.
var fullStep = Step{Weight: 100}

// steps returns the steps a rollout of revision goes through. A canary needs a stable
// revision to split traffic with, so a first rollout, a rollout of the stable revision
// itself, and a pinned (manual) revision go in whole. A Canary ends at weight 100.
func (p Policy) steps(revision, stable string, pinned bool) []Step {
	if p.Strategy != Canary || pinned || stable == "" || stable == revision {
		return []Step{fullStep}
	}
	out := append([]Step(nil), p.Steps...)
	if out[len(out)-1].Weight < 100 {
		out = append(out, fullStep)
	}
	return out
}
