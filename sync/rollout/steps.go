package rollout

import (
	"fmt"
	"slices"
	"time"

	"github.com/landfall-dev/landfall/health"
)

// advance moves a rollout through its steps: fail on Degraded or failed analysis, wait
// for health within the timeout, pause while healthy, wait for a conclusive analysis,
// then apply the next step or promote after the last.
func advance(in Input, pinned bool) Decision {
	p := in.Progress
	steps := in.Policy.steps(p.Revision, p.Stable, pinned)
	i := min(p.Step, len(steps)-1) // the policy may have lost steps mid-rollout
	cur := steps[i]
	if d, failed := checkFailure(in, pinned); failed {
		return d
	}
	if d, waiting := waitForHealth(in, pinned, fmt.Sprintf("step %d (%d%%)", i, cur.Weight)); waiting {
		return d
	}
	next := p
	next.Step, next.Weight = i, cur.Weight
	if next.HealthySince.IsZero() {
		next.HealthySince = in.Now
	}
	if pauseEnd := next.HealthySince.Add(cur.Pause); in.Now.Before(pauseEnd) {
		next.Phase = PhasePaused
		return wait(next, pauseEnd, ReasonPaused, "step %d (%d%%) healthy; paused until %s", i, cur.Weight, stamp(pauseEnd))
	}
	if in.Analysis == VerdictInconclusive {
		deadline := next.HealthySince.Add(cur.Pause).Add(in.Policy.healthTimeout())
		if !in.Now.Before(deadline) {
			return fail(in, pinned, ReasonAnalysisFailed, "analysis stayed inconclusive until %s", stamp(deadline))
		}
		next.Phase = PhaseAnalyzing
		return wait(next, deadline, ReasonAnalysisPending, "step %d (%d%%) waits for a conclusive analysis", i, cur.Weight)
	}
	if cur.RequireApproval && !slices.Contains(in.ApprovedSteps, i) {
		next.Phase = PhasePaused
		return wait(next, time.Time{}, ReasonAwaitingApproval, "step %d (%d%%) of %s waits for approval", i, cur.Weight, p.Revision)
	}
	if i+1 < len(steps) {
		s := steps[i+1]
		next.Step, next.Weight, next.Phase = i+1, s.Weight, PhaseProgressing
		next.StepStartedAt, next.HealthySince = in.Now, time.Time{}
		return Decision{
			Action: Action{Kind: ActionApply, Revision: p.Revision, Step: i + 1, Weight: s.Weight, Reason: ReasonNextStep,
				Message: fmt.Sprintf("step %d (%d%%) passed; moving %s to %d%%", i, cur.Weight, p.Revision, s.Weight)},
			Progress: next,
		}
	}
	next.Phase, next.StepStartedAt, next.HealthySince = PhaseBaking, in.Now, in.Now
	next.LastHealthyRevision = p.Revision
	return Decision{
		Action: Action{Kind: ActionPromote, Revision: p.Revision, Reason: ReasonHealthy,
			Message: fmt.Sprintf("revision %s is rolled out and healthy", p.Revision)},
		Progress: next,
	}
}

// bake keeps a promoted revision under watch for the bake time: it still fails on
// Degraded or failed analysis, and the bake restarts whenever health regresses.
func bake(in Input, pinned bool) Decision {
	p := in.Progress
	if d, failed := checkFailure(in, pinned); failed {
		return d
	}
	if d, waiting := waitForHealth(in, pinned, "bake"); waiting {
		return d
	}
	next := p
	if next.HealthySince.IsZero() {
		next.HealthySince = in.Now
	}
	if end := next.HealthySince.Add(in.Policy.BakeTime); in.Now.Before(end) {
		return wait(next, end, ReasonBaking, "revision %s baking until %s", p.Revision, stamp(end))
	}
	next.Phase = PhaseCompleted
	return Decision{
		Action: Action{Kind: ActionBakeComplete, Revision: p.Revision, Reason: ReasonBaked,
			Message: fmt.Sprintf("revision %s stayed healthy for %s", p.Revision, in.Policy.BakeTime)},
		Progress: next,
	}
}

// checkFailure fails the rollout on a Degraded health or a failed analysis.
func checkFailure(in Input, pinned bool) (Decision, bool) {
	switch {
	case in.Health == health.Degraded:
		return fail(in, pinned, ReasonDegraded, "revision %s is Degraded", in.Progress.Revision), true
	case in.Analysis == VerdictFail:
		return fail(in, pinned, ReasonAnalysisFailed, "analysis failed for revision %s", in.Progress.Revision), true
	}
	return Decision{}, false
}

// waitForHealth waits while health is not settled. Healthy and Suspended are settled:
// a suspended object is paused on purpose and will not change by waiting. A regression
// from healthy restarts the clock, and the wait ends in failure at the health timeout.
func waitForHealth(in Input, pinned bool, what string) (Decision, bool) {
	if in.Health == health.Healthy || in.Health == health.Suspended {
		return Decision{}, false
	}
	next := in.Progress
	if !next.HealthySince.IsZero() {
		next.HealthySince, next.StepStartedAt = time.Time{}, in.Now
	}
	deadline := next.StepStartedAt.Add(in.Policy.healthTimeout())
	if !in.Now.Before(deadline) {
		return fail(in, pinned, ReasonHealthTimeout, "revision %s not healthy (%s) by %s",
			in.Progress.Revision, orUnknown(in.Health), stamp(deadline)), true
	}
	if next.Phase != PhaseBaking {
		next.Phase = PhaseProgressing
	}
	return wait(next, deadline, ReasonWaitingForHealth, "%s waits for health (%s) until %s",
		what, orUnknown(in.Health), stamp(deadline)), true
}

// fail ends the rollout of the current revision: it is marked failed, and rolled back to
// the stable revision when the policy allows and there is one. A pinned revision is the
// user's explicit choice and is never rolled back from.
func fail(in Input, pinned bool, reason Reason, format string, args ...any) Decision {
	p := in.Progress
	msg := fmt.Sprintf(format, args...)
	next := p
	next.FailedRevisions = appendFailed(p.FailedRevisions, p.Revision)
	next.LastHealthyRevision = p.Stable // the revision proved unhealthy, even if promoted
	next.HealthySince = time.Time{}
	if in.Policy.AutoRollback && !pinned && p.Stable != "" && p.Stable != p.Revision {
		next.Phase = PhaseRolledBack
		return Decision{
			Action:   Action{Kind: ActionRollback, Revision: p.Stable, Reason: reason, Message: msg + "; rolling back to " + p.Stable},
			Progress: next,
		}
	}
	next.Phase = PhaseFailed
	switch {
	case pinned:
		msg += "; it is pinned, so it is not rolled back"
	case !in.Policy.AutoRollback:
		msg += "; auto-rollback is off"
	default:
		msg += "; no healthy revision to roll back to"
	}
	return Decision{
		Action:   Action{Kind: ActionFail, Revision: p.Revision, Reason: reason, Message: msg},
		Progress: next,
	}
}

func appendFailed(failed []string, rev string) []string {
	out := append(slices.Clone(failed), rev)
	if len(out) > MaxFailedRevisions {
		out = out[len(out)-MaxFailedRevisions:]
	}
	return out
}

func wait(next Progress, until time.Time, reason Reason, format string, args ...any) Decision {
	return Decision{
		Action:   Action{Kind: ActionWait, Revision: next.Revision, Until: until, Reason: reason, Message: fmt.Sprintf(format, args...)},
		Progress: next,
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func orUnknown(s health.Status) health.Status {
	if s == "" {
		return health.Unknown
	}
	return s
}
