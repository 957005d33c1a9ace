package rollout

import (
	"testing"
	"time"

	"github.com/landfall-dev/landfall/health"
)

// TestStepWaitsForApproval: a step that requires approval, healthy and past its pause,
// waits (Paused, no deadline) until the step is approved; an approval of another step or
// none moves nothing, health still fails it while it waits, and the approved step moves on.
func TestStepWaitsForApproval(t *testing.T) {
	policy := canary
	policy.Steps = []Step{{Weight: 25, Pause: time.Minute, RequireApproval: true}, {Weight: 50}}
	p := inStep(0, 25, PhasePaused, t0, t0)
	later := at(time.Hour) // far past the pause and the health timeout: approval has no deadline
	for _, approved := range [][]int{nil, {1}} {
		d, err := Plan(Input{Policy: policy, Progress: p, Desired: "new", Health: health.Healthy, ApprovedSteps: approved, Now: later})
		if err != nil {
			t.Fatal(err)
		}
		a := d.Action
		if a.Kind != ActionWait || a.Reason != ReasonAwaitingApproval || !a.Until.IsZero() || d.Progress.Phase != PhasePaused {
			t.Errorf("approved %v: %s %s until %v (%s), want a Wait for approval", approved, a.Kind, a.Reason, a.Until, d.Progress.Phase)
		}
	}
	d, _ := Plan(Input{Policy: policy, Progress: p, Desired: "new", Health: health.Degraded, Now: later})
	if d.Action.Kind != ActionRollback {
		t.Errorf("degraded while waiting for approval: %s, want Rollback", d.Action.Kind)
	}
	d, _ = Plan(Input{Policy: policy, Progress: p, Desired: "new", Health: health.Healthy, ApprovedSteps: []int{0}, Now: later})
	if d.Action.Kind != ActionApply || d.Action.Weight != 50 {
		t.Errorf("approved: %s at %d%%, want Apply at 50%%", d.Action.Kind, d.Action.Weight)
	}
}
