package rollout

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/health/analysis"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

var (
	rolling = Policy{Strategy: Rolling, HealthTimeout: 5 * time.Minute, AutoRollback: true, BakeTime: 10 * time.Minute}
	canary  = Policy{
		Strategy:      Canary,
		Steps:         []Step{{Weight: 25, Pause: time.Minute}, {Weight: 50, Pause: time.Minute}},
		HealthTimeout: 5 * time.Minute, AutoRollback: true, BakeTime: 10 * time.Minute,
	}
	noRollback = func(p Policy) Policy { p.AutoRollback = false; return p }
)

// inStep is progress for revision "new" at step i of a canary that started from "old".
func inStep(step int, weight int32, phase Phase, started, healthy time.Time) Progress {
	return Progress{
		Revision: "new", Stable: "old", Step: step, Weight: weight, Phase: phase,
		StepStartedAt: started, HealthySince: healthy, LastHealthyRevision: "old",
	}
}

func TestPlan(t *testing.T) {
	var zero time.Time
	tests := []struct {
		name    string
		in      Input
		want    Action // Message is compared as a substring
		wantP   Progress
		message string
	}{
		// Starting a revision.
		{
			name:  "first rollout goes in whole",
			in:    Input{Policy: canary, Desired: "new", Health: health.Healthy, Now: t0},
			want:  Action{Kind: ActionApply, Revision: "new", Weight: 100, Reason: ReasonNewRevision},
			wantP: Progress{Revision: "new", Weight: 100, Phase: PhaseProgressing, StepStartedAt: t0},
		},
		{
			name:  "canary starts at its first weight against the last healthy revision",
			in:    Input{Policy: canary, Progress: Progress{Revision: "old", Phase: PhaseCompleted, LastHealthyRevision: "old"}, Desired: "new", Now: t0},
			want:  Action{Kind: ActionApply, Revision: "new", Weight: 25, Reason: ReasonNewRevision},
			wantP: inStep(0, 25, PhaseProgressing, t0, zero),
		},
		{
			name:  "rolling applies the whole revision",
			in:    Input{Policy: rolling, Progress: Progress{Revision: "old", Phase: PhaseCompleted, LastHealthyRevision: "old"}, Desired: "new", Now: t0},
			want:  Action{Kind: ActionApply, Revision: "new", Weight: 100, Reason: ReasonNewRevision},
			wantP: inStep(0, 100, PhaseProgressing, t0, zero),
		},
		{
			name:    "a newer revision supersedes one in progress; the rollback target stays",
			in:      Input{Policy: canary, Progress: inStep(1, 50, PhasePaused, at(-time.Minute), at(-30*time.Second)), Desired: "newer", Now: t0},
			want:    Action{Kind: ActionApply, Revision: "newer", Weight: 25, Reason: ReasonNewRevision},
			wantP:   Progress{Revision: "newer", Stable: "old", Weight: 25, Phase: PhaseProgressing, StepStartedAt: t0, LastHealthyRevision: "old"},
			message: "superseding new",
		},
		{
			name:  "going back to the last healthy revision needs no canary",
			in:    Input{Policy: canary, Progress: Progress{Revision: "bad", Phase: PhaseRolledBack, LastHealthyRevision: "old", FailedRevisions: []string{"bad"}}, Desired: "old", Now: t0},
			want:  Action{Kind: ActionApply, Revision: "old", Weight: 100, Reason: ReasonNewRevision},
			wantP: Progress{Revision: "old", Stable: "old", Weight: 100, Phase: PhaseProgressing, StepStartedAt: t0, LastHealthyRevision: "old", FailedRevisions: []string{"bad"}},
		},
		{
			name:    "a failed revision is not retried",
			in:      Input{Policy: canary, Progress: Progress{Revision: "other", Phase: PhaseCompleted, LastHealthyRevision: "other", FailedRevisions: []string{"bad"}}, Desired: "bad", Now: t0},
			want:    Action{Kind: ActionHold, Revision: "bad", Reason: ReasonRevisionFailed},
			wantP:   Progress{Revision: "other", Phase: PhaseCompleted, LastHealthyRevision: "other", FailedRevisions: []string{"bad"}},
			message: "waiting for a newer revision",
		},
		{
			name:  "a pin is applied whole, even a failed revision",
			in:    Input{Policy: canary, Progress: Progress{Revision: "new", Phase: PhaseCompleted, LastHealthyRevision: "new", FailedRevisions: []string{"old"}}, Desired: "new", Pinned: "old", Now: t0},
			want:  Action{Kind: ActionApply, Revision: "old", Weight: 100, Reason: ReasonNewRevision},
			wantP: Progress{Revision: "old", Stable: "new", Weight: 100, Phase: PhaseProgressing, StepStartedAt: t0, LastHealthyRevision: "new", FailedRevisions: []string{"old"}},
		},
		{
			name:  "a recorded revision without a phase starts over",
			in:    Input{Policy: rolling, Progress: Progress{Revision: "new", LastHealthyRevision: "old"}, Desired: "new", Now: t0},
			want:  Action{Kind: ActionApply, Revision: "new", Weight: 100, Reason: ReasonNewRevision},
			wantP: inStep(0, 100, PhaseProgressing, t0, zero),
		},

		// Waiting for health.
		{
			name:    "progressing waits until the health timeout",
			in:      Input{Policy: canary, Progress: inStep(0, 25, PhaseProgressing, at(-time.Minute), zero), Desired: "new", Health: health.Progressing, Now: t0},
			want:    Action{Kind: ActionWait, Revision: "new", Until: at(4 * time.Minute), Reason: ReasonWaitingForHealth},
			wantP:   inStep(0, 25, PhaseProgressing, at(-time.Minute), zero),
			message: "step 0 (25%) waits for health (Progressing)",
		},
		{
			name:    "unknown health waits too",
			in:      Input{Policy: canary, Progress: inStep(0, 25, PhaseProgressing, at(-time.Minute), zero), Desired: "new", Now: t0},
			want:    Action{Kind: ActionWait, Revision: "new", Until: at(4 * time.Minute), Reason: ReasonWaitingForHealth},
			wantP:   inStep(0, 25, PhaseProgressing, at(-time.Minute), zero),
			message: "(Unknown)",
		},
		{
			name:  "the default health timeout is five minutes",
			in:    Input{Policy: Policy{Strategy: Rolling}, Progress: inStep(0, 100, PhaseProgressing, t0, zero), Desired: "new", Health: health.Progressing, Now: at(time.Minute)},
			want:  Action{Kind: ActionWait, Revision: "new", Until: at(5 * time.Minute), Reason: ReasonWaitingForHealth},
			wantP: inStep(0, 100, PhaseProgressing, t0, zero),
		},
		{
			name:    "health timeout rolls back",
			in:      Input{Policy: canary, Progress: inStep(0, 25, PhaseProgressing, at(-5*time.Minute), zero), Desired: "new", Health: health.Progressing, Now: t0},
			want:    Action{Kind: ActionRollback, Revision: "old", Reason: ReasonHealthTimeout},
			wantP:   failedP(inStep(0, 25, PhaseRolledBack, at(-5*time.Minute), zero)),
			message: "rolling back to old",
		},
		{
			name:    "health timeout without auto-rollback fails in place",
			in:      Input{Policy: noRollback(canary), Progress: inStep(0, 25, PhaseProgressing, at(-5*time.Minute), zero), Desired: "new", Health: health.Progressing, Now: t0},
			want:    Action{Kind: ActionFail, Revision: "new", Reason: ReasonHealthTimeout},
			wantP:   failedP(inStep(0, 25, PhaseFailed, at(-5*time.Minute), zero)),
			message: "auto-rollback is off",
		},
		{
			name:    "a first rollout that fails has nothing to roll back to",
			in:      Input{Policy: rolling, Progress: Progress{Revision: "new", Weight: 100, Phase: PhaseProgressing, StepStartedAt: t0}, Desired: "new", Health: health.Degraded, Now: t0},
			want:    Action{Kind: ActionFail, Revision: "new", Reason: ReasonDegraded},
			wantP:   Progress{Revision: "new", Weight: 100, Phase: PhaseFailed, StepStartedAt: t0, FailedRevisions: []string{"new"}},
			message: "no healthy revision to roll back to",
		},
		{
			name:    "degraded rolls back at once",
			in:      Input{Policy: canary, Progress: inStep(1, 50, PhaseProgressing, at(-time.Minute), zero), Desired: "new", Health: health.Degraded, Now: t0},
			want:    Action{Kind: ActionRollback, Revision: "old", Reason: ReasonDegraded},
			wantP:   failedP(inStep(1, 50, PhaseRolledBack, at(-time.Minute), zero)),
			message: "is Degraded",
		},
		{
			name:  "failed analysis rolls back even while healthy",
			in:    Input{Policy: canary, Progress: inStep(0, 25, PhasePaused, at(-time.Minute), at(-30*time.Second)), Desired: "new", Health: health.Healthy, Analysis: VerdictFail, Now: t0},
			want:  Action{Kind: ActionRollback, Revision: "old", Reason: ReasonAnalysisFailed},
			wantP: failedP(inStep(0, 25, PhaseRolledBack, at(-time.Minute), zero)),
		},
		{
			name:  "a health regression restarts the clock",
			in:    Input{Policy: canary, Progress: inStep(0, 25, PhasePaused, at(-time.Minute), at(-30*time.Second)), Desired: "new", Health: health.Progressing, Now: t0},
			want:  Action{Kind: ActionWait, Revision: "new", Until: at(5 * time.Minute), Reason: ReasonWaitingForHealth},
			wantP: inStep(0, 25, PhaseProgressing, t0, zero),
		},

		// Pauses, analysis and steps.
		{
			name:    "first healthy observation starts the pause",
			in:      Input{Policy: canary, Progress: inStep(0, 25, PhaseProgressing, at(-time.Minute), zero), Desired: "new", Health: health.Healthy, Now: t0},
			want:    Action{Kind: ActionWait, Revision: "new", Until: at(time.Minute), Reason: ReasonPaused},
			wantP:   inStep(0, 25, PhasePaused, at(-time.Minute), t0),
			message: "paused until 2026-03-02T10:01:00Z",
		},
		{
			name:  "the pause counts from when health became healthy",
			in:    Input{Policy: canary, Progress: inStep(0, 25, PhasePaused, at(-time.Minute), at(-20*time.Second)), Desired: "new", Health: health.Healthy, Now: t0},
			want:  Action{Kind: ActionWait, Revision: "new", Until: at(40 * time.Second), Reason: ReasonPaused},
			wantP: inStep(0, 25, PhasePaused, at(-time.Minute), at(-20*time.Second)),
		},
		{
			name:  "after the pause with passing analysis the next step is applied",
			in:    Input{Policy: canary, Progress: inStep(0, 25, PhasePaused, at(-2*time.Minute), at(-time.Minute)), Desired: "new", Health: health.Healthy, Analysis: VerdictPass, Now: t0},
			want:  Action{Kind: ActionApply, Revision: "new", Step: 1, Weight: 50, Reason: ReasonNextStep},
			wantP: inStep(1, 50, PhaseProgressing, t0, zero),
		},
		{
			name:  "no analysis configured does not gate",
			in:    Input{Policy: canary, Progress: inStep(0, 25, PhasePaused, at(-2*time.Minute), at(-time.Minute)), Desired: "new", Health: health.Healthy, Analysis: VerdictNone, Now: t0},
			want:  Action{Kind: ActionApply, Revision: "new", Step: 1, Weight: 50, Reason: ReasonNextStep},
			wantP: inStep(1, 50, PhaseProgressing, t0, zero),
		},
		{
			name:  "the last canary step is followed by the whole revision",
			in:    Input{Policy: canary, Progress: inStep(1, 50, PhasePaused, at(-2*time.Minute), at(-time.Minute)), Desired: "new", Health: health.Healthy, Now: t0},
			want:  Action{Kind: ActionApply, Revision: "new", Step: 2, Weight: 100, Reason: ReasonNextStep},
			wantP: inStep(2, 100, PhaseProgressing, t0, zero),
		},
		{
			name:    "inconclusive analysis holds the step",
			in:      Input{Policy: canary, Progress: inStep(0, 25, PhasePaused, at(-2*time.Minute), at(-time.Minute)), Desired: "new", Health: health.Healthy, Analysis: VerdictInconclusive, Now: t0},
			want:    Action{Kind: ActionWait, Revision: "new", Until: at(5 * time.Minute), Reason: ReasonAnalysisPending},
			wantP:   inStep(0, 25, PhaseAnalyzing, at(-2*time.Minute), at(-time.Minute)),
			message: "waits for a conclusive analysis",
		},
		{
			name:  "analysis inconclusive past the health timeout fails",
			in:    Input{Policy: canary, Progress: inStep(0, 25, PhaseAnalyzing, at(-7*time.Minute), at(-6*time.Minute)), Desired: "new", Health: health.Healthy, Analysis: VerdictInconclusive, Now: t0},
			want:  Action{Kind: ActionRollback, Revision: "old", Reason: ReasonAnalysisFailed},
			wantP: failedP(inStep(0, 25, PhaseRolledBack, at(-7*time.Minute), zero)),
		},
		{
			name:  "the whole revision healthy is promoted",
			in:    Input{Policy: canary, Progress: inStep(2, 100, PhaseProgressing, at(-time.Minute), zero), Desired: "new", Health: health.Healthy, Now: t0},
			want:  Action{Kind: ActionPromote, Revision: "new", Reason: ReasonHealthy},
			wantP: Progress{Revision: "new", Stable: "old", Step: 2, Weight: 100, Phase: PhaseBaking, StepStartedAt: t0, HealthySince: t0, LastHealthyRevision: "new"},
		},
		{
			name:  "suspended counts as settled",
			in:    Input{Policy: rolling, Progress: inStep(0, 100, PhaseProgressing, at(-time.Minute), zero), Desired: "new", Health: health.Suspended, Now: t0},
			want:  Action{Kind: ActionPromote, Revision: "new", Reason: ReasonHealthy},
			wantP: Progress{Revision: "new", Stable: "old", Weight: 100, Phase: PhaseBaking, StepStartedAt: t0, HealthySince: t0, LastHealthyRevision: "new"},
		},
		{
			name:  "a step beyond a shrunken policy is treated as the last",
			in:    Input{Policy: canary, Progress: inStep(7, 90, PhaseProgressing, at(-time.Minute), zero), Desired: "new", Health: health.Healthy, Now: t0},
			want:  Action{Kind: ActionPromote, Revision: "new", Reason: ReasonHealthy},
			wantP: Progress{Revision: "new", Stable: "old", Step: 2, Weight: 100, Phase: PhaseBaking, StepStartedAt: t0, HealthySince: t0, LastHealthyRevision: "new"},
		},

		// Baking.
		{
			name:    "baking waits for the bake time",
			in:      Input{Policy: canary, Progress: baking(at(-time.Minute)), Desired: "new", Health: health.Healthy, Now: t0},
			want:    Action{Kind: ActionWait, Revision: "new", Until: at(9 * time.Minute), Reason: ReasonBaking},
			wantP:   baking(at(-time.Minute)),
			message: "baking until 2026-03-02T10:09:00Z",
		},
		{
			name:  "after the bake time the revision is ready for the next environment",
			in:    Input{Policy: canary, Progress: baking(at(-10 * time.Minute)), Desired: "new", Health: health.Healthy, Now: t0},
			want:  Action{Kind: ActionBakeComplete, Revision: "new", Reason: ReasonBaked},
			wantP: withPhase(baking(at(-10*time.Minute)), PhaseCompleted),
		},
		{
			name:  "no bake time completes at once",
			in:    Input{Policy: Policy{Strategy: Rolling}, Progress: baking(t0), Desired: "new", Health: health.Healthy, Now: t0},
			want:  Action{Kind: ActionBakeComplete, Revision: "new", Reason: ReasonBaked},
			wantP: withPhase(baking(t0), PhaseCompleted),
		},
		{
			name:  "degraded while baking rolls back to the revision before",
			in:    Input{Policy: canary, Progress: baking(at(-time.Minute)), Desired: "new", Health: health.Degraded, Now: t0},
			want:  Action{Kind: ActionRollback, Revision: "old", Reason: ReasonDegraded},
			wantP: Progress{Revision: "new", Stable: "old", Step: 2, Weight: 100, Phase: PhaseRolledBack, StepStartedAt: at(-time.Minute), LastHealthyRevision: "old", FailedRevisions: []string{"new"}},
		},
		{
			name:  "a regression while baking restarts the bake",
			in:    Input{Policy: canary, Progress: baking(at(-time.Minute)), Desired: "new", Health: health.Progressing, Now: t0},
			want:  Action{Kind: ActionWait, Revision: "new", Until: at(5 * time.Minute), Reason: ReasonWaitingForHealth},
			wantP: Progress{Revision: "new", Stable: "old", Step: 2, Weight: 100, Phase: PhaseBaking, StepStartedAt: t0, LastHealthyRevision: "new"},
		},
		{
			name:  "not healthy again within the timeout while baking rolls back",
			in:    Input{Policy: canary, Progress: Progress{Revision: "new", Stable: "old", Step: 2, Weight: 100, Phase: PhaseBaking, StepStartedAt: at(-5 * time.Minute), LastHealthyRevision: "new"}, Desired: "new", Health: health.Progressing, Now: t0},
			want:  Action{Kind: ActionRollback, Revision: "old", Reason: ReasonHealthTimeout},
			wantP: Progress{Revision: "new", Stable: "old", Step: 2, Weight: 100, Phase: PhaseRolledBack, StepStartedAt: at(-5 * time.Minute), LastHealthyRevision: "old", FailedRevisions: []string{"new"}},
		},

		// Holding.
		{
			name:  "a completed rollout holds",
			in:    Input{Policy: canary, Progress: withPhase(baking(at(-time.Hour)), PhaseCompleted), Desired: "new", Health: health.Degraded, Now: t0},
			want:  Action{Kind: ActionHold, Revision: "new", Reason: ReasonUpToDate},
			wantP: withPhase(baking(at(-time.Hour)), PhaseCompleted),
		},
		{
			name:    "a pinned environment holds while Git moves on",
			in:      Input{Policy: canary, Progress: Progress{Revision: "old", Phase: PhaseCompleted, LastHealthyRevision: "old"}, Desired: "new", Pinned: "old", Now: t0},
			want:    Action{Kind: ActionHold, Revision: "old", Reason: ReasonPinned},
			wantP:   Progress{Revision: "old", Phase: PhaseCompleted, LastHealthyRevision: "old"},
			message: "pinned to old; new waits",
		},
		{
			name:  "a rolled-back revision holds",
			in:    Input{Policy: canary, Progress: failedP(inStep(0, 25, PhaseRolledBack, t0, zero)), Desired: "new", Health: health.Healthy, Now: at(time.Hour)},
			want:  Action{Kind: ActionHold, Revision: "new", Reason: ReasonRevisionFailed},
			wantP: failedP(inStep(0, 25, PhaseRolledBack, t0, zero)),
		},
		{
			name:  "a failed revision left in place holds",
			in:    Input{Policy: noRollback(canary), Progress: failedP(inStep(0, 25, PhaseFailed, t0, zero)), Desired: "new", Health: health.Degraded, Now: at(time.Hour)},
			want:  Action{Kind: ActionHold, Revision: "new", Reason: ReasonRevisionFailed},
			wantP: failedP(inStep(0, 25, PhaseFailed, t0, zero)),
		},
		{
			name:    "a pinned revision that fails is not rolled back",
			in:      Input{Policy: canary, Progress: Progress{Revision: "old", Stable: "new", Weight: 100, Phase: PhaseProgressing, StepStartedAt: t0, LastHealthyRevision: "new"}, Desired: "new", Pinned: "old", Health: health.Degraded, Now: t0},
			want:    Action{Kind: ActionFail, Revision: "old", Reason: ReasonDegraded},
			wantP:   Progress{Revision: "old", Stable: "new", Weight: 100, Phase: PhaseFailed, StepStartedAt: t0, LastHealthyRevision: "new", FailedRevisions: []string{"old"}},
			message: "it is pinned",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			msg := got.Action.Message
			got.Action.Message = ""
			if got.Action != tt.want {
				t.Errorf("action\n got %+v\nwant %+v", got.Action, tt.want)
			}
			if !equalProgress(got.Progress, tt.wantP) {
				t.Errorf("progress\n got %+v\nwant %+v", got.Progress, tt.wantP)
			}
			if msg == "" || !strings.Contains(msg, tt.message) {
				t.Errorf("message %q, want it to contain %q", msg, tt.message)
			}
		})
	}
}

func failedP(p Progress) Progress {
	p.FailedRevisions = append(slices.Clone(p.FailedRevisions), p.Revision)
	p.LastHealthyRevision = p.Stable
	return p
}

func baking(since time.Time) Progress {
	return Progress{Revision: "new", Stable: "old", Step: 2, Weight: 100, Phase: PhaseBaking, StepStartedAt: since, HealthySince: since, LastHealthyRevision: "new"}
}

func withPhase(p Progress, ph Phase) Progress { p.Phase = ph; return p }

func equalProgress(a, b Progress) bool {
	return reflect.DeepEqual(withoutFailed(a), withoutFailed(b)) && slices.Equal(a.FailedRevisions, b.FailedRevisions)
}

func withoutFailed(p Progress) Progress { p.FailedRevisions = nil; return p }

// TestPlanDoesNotAliasFailedRevisions: the decision's progress must not share the input's
// backing array, or recording one decision could change another.
func TestPlanDoesNotAliasFailedRevisions(t *testing.T) {
	failed := make([]string, 1, 4)
	failed[0] = "older"
	p := inStep(0, 25, PhaseProgressing, t0, time.Time{})
	p.FailedRevisions = failed
	d, err := Plan(Input{Policy: canary, Progress: p, Desired: "new", Health: health.Degraded, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	d.Progress.FailedRevisions[0] = "changed"
	if failed[0] != "older" {
		t.Error("the decision aliases the input's FailedRevisions")
	}
}

func TestFailedRevisionsAreBounded(t *testing.T) {
	p := inStep(0, 100, PhaseProgressing, t0, time.Time{})
	for i := range MaxFailedRevisions {
		p.FailedRevisions = append(p.FailedRevisions, string(rune('a'+i)))
	}
	d, err := Plan(Input{Policy: rolling, Progress: p, Desired: "new", Health: health.Degraded, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Progress.FailedRevisions
	if len(got) != MaxFailedRevisions || got[0] != "b" || got[len(got)-1] != "new" {
		t.Errorf("FailedRevisions = %v", got)
	}
}

func TestPlanInvalidInput(t *testing.T) {
	ok := Input{Policy: canary, Desired: "new", Now: t0}
	tests := []struct {
		name string
		edit func(*Input)
		want string
	}{
		{"unknown strategy", func(in *Input) { in.Policy.Strategy = "BlueGreen" }, `unknown strategy "BlueGreen"`},
		{"canary without steps", func(in *Input) { in.Policy.Steps = nil }, "at least one step"},
		{"rolling with steps", func(in *Input) { in.Policy.Strategy = Rolling }, "only for the Canary"},
		{"weight zero", func(in *Input) { in.Policy.Steps = []Step{{Weight: 0}} }, "weight 0 is not between 1 and 100"},
		{"weight above 100", func(in *Input) { in.Policy.Steps = []Step{{Weight: 101}} }, "weight 101"},
		{"weights not ascending", func(in *Input) { in.Policy.Steps = []Step{{Weight: 50}, {Weight: 25}} }, "does not ascend"},
		{"negative pause", func(in *Input) { in.Policy.Steps = []Step{{Weight: 10, Pause: -time.Second}} }, "negative pause"},
		{"negative timeout", func(in *Input) { in.Policy.HealthTimeout = -time.Second }, "negative"},
		{"no time", func(in *Input) { in.Now = time.Time{} }, "no current time"},
		{"no revision", func(in *Input) { in.Desired = "" }, "no desired revision"},
		{"negative step", func(in *Input) { in.Progress.Step = -1 }, "negative step"},
		{"unknown verdict", func(in *Input) { in.Analysis = "Maybe" }, `unknown analysis verdict "Maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ok
			in.Policy.Steps = slices.Clone(ok.Policy.Steps)
			tt.edit(&in)
			_, err := Plan(in)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := Plan(ok); err != nil {
		t.Errorf("valid input refused: %v", err)
	}
}

// world simulates the environment the controller observes: the health of whatever was
// applied last, as a function of time since it was applied.
type world struct {
	applied   string
	appliedAt time.Time
	weight    int32
	health    func(rev string, weight int32, since time.Duration) health.Status
}

// run drives the planner like the controller does: plan, carry out the action, record the
// progress, requeue at Until (or after 10s), until it holds or the steps run out.
func run(t *testing.T, policy Policy, desired string, start Progress, w *world) []Action {
	t.Helper()
	now, p := t0, start
	var actions []Action
	for range 100 {
		d, err := Plan(Input{Policy: policy, Progress: p, Desired: desired, Health: w.health(w.applied, w.weight, now.Sub(w.appliedAt)), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		a := d.Action
		actions = append(actions, a)
		switch a.Kind {
		case ActionApply, ActionRollback:
			w.applied, w.appliedAt, w.weight = a.Revision, now, a.Weight
			if a.Kind == ActionRollback {
				w.weight = 100
			}
		case ActionHold:
			return actions
		}
		p = d.Progress
		if a.Kind == ActionWait && a.Until.After(now) {
			now = minTime(a.Until, now.Add(10*time.Second))
		}
	}
	t.Fatalf("no hold after 100 decisions: %v", kinds(actions))
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func kinds(actions []Action) []string {
	var out []string
	for _, a := range actions {
		s := string(a.Kind)
		if a.Kind == ActionApply {
			s += "@" + strconv.Itoa(int(a.Weight))
		}
		out = append(out, s)
	}
	return out
}

// compact removes repeated Waits so a timeline reads as its distinct actions.
func compact(actions []Action) []string {
	var out []string
	for _, k := range kinds(actions) {
		if len(out) > 0 && out[len(out)-1] == k && k == string(ActionWait) {
			continue
		}
		out = append(out, k)
	}
	return out
}

func TestScenarioCanarySucceeds(t *testing.T) {
	w := &world{applied: "old", health: func(_ string, _ int32, since time.Duration) health.Status {
		if since < 20*time.Second {
			return health.Progressing
		}
		return health.Healthy
	}}
	start := Progress{Revision: "old", Phase: PhaseCompleted, LastHealthyRevision: "old"}
	got := compact(run(t, canary, "new", start, w))
	want := []string{"Apply@25", "Wait", "Apply@50", "Wait", "Apply@100", "Wait", "Promote", "Wait", "BakeComplete", "Hold"}
	if !slices.Equal(got, want) {
		t.Errorf("timeline %v, want %v", got, want)
	}
	if w.applied != "new" || w.weight != 100 {
		t.Errorf("ended with %s at %d%%", w.applied, w.weight)
	}
}

func TestScenarioCanaryCrashesAndRollsBack(t *testing.T) {
	w := &world{applied: "old", health: func(rev string, weight int32, since time.Duration) health.Status {
		if rev == "new" && weight >= 50 && since > 30*time.Second {
			return health.Degraded // crash-loops once it takes real traffic
		}
		if since < 20*time.Second {
			return health.Progressing
		}
		return health.Healthy
	}}
	start := Progress{Revision: "old", Phase: PhaseCompleted, LastHealthyRevision: "old"}
	actions := run(t, canary, "new", start, w)
	got := compact(actions)
	want := []string{"Apply@25", "Wait", "Apply@50", "Wait", "Rollback", "Hold"}
	if !slices.Equal(got, want) {
		t.Errorf("timeline %v, want %v", got, want)
	}
	if w.applied != "old" {
		t.Errorf("ended with %s applied, want old", w.applied)
	}
	if last := actions[len(actions)-1]; last.Reason != ReasonRevisionFailed {
		t.Errorf("final hold reason %s", last.Reason)
	}
}

func TestScenarioNeverHealthyTimesOut(t *testing.T) {
	w := &world{applied: "old", health: func(rev string, _ int32, _ time.Duration) health.Status {
		if rev == "new" {
			return health.Progressing // the image tagged bad never becomes Ready
		}
		return health.Healthy
	}}
	start := Progress{Revision: "old", Phase: PhaseCompleted, LastHealthyRevision: "old"}
	actions := run(t, rolling, "new", start, w)
	var rollback *Action
	for i := range actions {
		if actions[i].Kind == ActionRollback {
			rollback = &actions[i]
		}
	}
	if rollback == nil || rollback.Reason != ReasonHealthTimeout || rollback.Revision != "old" {
		t.Fatalf("no health-timeout rollback in %v", kinds(actions))
	}
}

func BenchmarkPlan(b *testing.B) {
	inputs := []Input{
		{Policy: canary, Progress: Progress{Revision: "old", Phase: PhaseCompleted, LastHealthyRevision: "old"}, Desired: "new", Now: t0},
		{Policy: canary, Progress: inStep(0, 25, PhaseProgressing, at(-time.Minute), time.Time{}), Desired: "new", Health: health.Progressing, Now: t0},
		{Policy: canary, Progress: inStep(0, 25, PhasePaused, at(-2*time.Minute), at(-time.Minute)), Desired: "new", Health: health.Healthy, Analysis: VerdictPass, Now: t0},
		{Policy: canary, Progress: inStep(1, 50, PhaseProgressing, at(-time.Minute), time.Time{}), Desired: "new", Health: health.Degraded, Now: t0},
		{Policy: canary, Progress: baking(at(-time.Minute)), Desired: "new", Health: health.Healthy, Now: t0},
	}
	i := 0
	for b.Loop() {
		if _, err := Plan(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/decision")
}

// TestVerdictsMatchAnalysis: the controller converts analysis verdicts by their text, so
// the two sets of values must stay the same.
func TestVerdictsMatchAnalysis(t *testing.T) {
	pairs := map[Verdict]analysis.Verdict{
		VerdictNone: analysis.None, VerdictPass: analysis.Pass,
		VerdictFail: analysis.Fail, VerdictInconclusive: analysis.Inconclusive,
	}
	for r, a := range pairs {
		if string(r) != string(a) {
			t.Errorf("rollout %q != analysis %q", r, a)
		}
	}
}
