package rollout

import (
	"fmt"
	"slices"
	"time"

	"github.com/landfall-dev/landfall/health"
)

// Phase is where the rollout of a revision stands. The values match the Application
// status enum.
type Phase string

// Phases.
const (
	PhaseProgressing Phase = "Progressing" // a step is applied; waiting for health
	PhasePaused      Phase = "Paused"      // healthy at this step; pausing before the next
	PhaseAnalyzing   Phase = "Analyzing"   // pause over; waiting for a conclusive analysis
	PhaseBaking      Phase = "Baking"      // promoted; staying healthy for the bake time
	PhaseCompleted   Phase = "Completed"   // baked; later environments may take it
	PhaseRolledBack  Phase = "RolledBack"  // failed and rolled back to the stable revision
	PhaseFailed      Phase = "Failed"      // failed and left in place (no rollback)
)

// MaxFailedRevisions bounds Progress.FailedRevisions; the oldest are forgotten first.
const MaxFailedRevisions = 10

// Progress is the recorded state of an environment's rollout, kept in status between
// reconciles. The zero value means nothing was rolled out yet.
type Progress struct {
	Revision string // the revision being (or last) rolled out
	Stable   string // the last healthy revision when this rollout began: the rollback target
	Step     int    // index of the current step
	Weight   int32  // weight of the current step, in percent
	Phase    Phase
	// StepStartedAt is when the current wait for health began: when the step was applied,
	// when its health last regressed, or when the revision was promoted.
	StepStartedAt time.Time
	// HealthySince is when health became Healthy in the current step or bake; zero while
	// it is not.
	HealthySince        time.Time
	LastHealthyRevision string
	FailedRevisions     []string // oldest first, at most MaxFailedRevisions
}

// Verdict is the verdict of metric analysis, with the same values as the analysis
// package's verdict.
type Verdict string

// Verdicts.
const (
	// VerdictNone: no analysis is configured. It gates nothing.
	VerdictNone Verdict = "None"
	// VerdictPass: every metric passes.
	VerdictPass Verdict = "Pass"
	// VerdictFail: a metric failed beyond its limits.
	VerdictFail Verdict = "Fail"
	// VerdictInconclusive: analysis is configured but not (yet) conclusive, including not
	// yet measured in this step.
	VerdictInconclusive Verdict = "Inconclusive"
)

// Input is everything the planner looks at.
type Input struct {
	Policy   Policy
	Progress Progress
	Desired  string // the revision Git wants in this environment
	Pinned   string // a revision a user pinned by a manual rollback; "" when none
	Health   health.Status
	Analysis Verdict // "" counts as VerdictNone
	// ApprovedSteps are the steps of Progress.Revision a person approved.
	ApprovedSteps []int
	Now           time.Time
}

// ActionKind is what the controller does next.
type ActionKind string

// Actions.
const (
	// ActionApply: apply Revision at Weight (step Step).
	ActionApply ActionKind = "Apply"
	// ActionWait: do nothing until Until; a zero Until means until something changes.
	ActionWait ActionKind = "Wait"
	// ActionPromote: Revision is fully rolled out and healthy; record it as last healthy.
	ActionPromote ActionKind = "Promote"
	// ActionBakeComplete: Revision stayed healthy for the bake time; later environments
	// may take it.
	ActionBakeComplete ActionKind = "BakeComplete"
	// ActionRollback: apply Revision, the stable one, because of Reason; stop promotion.
	ActionRollback ActionKind = "Rollback"
	// ActionFail: the revision failed and cannot or may not be rolled back; stop promotion.
	ActionFail ActionKind = "Fail"
	// ActionHold: do nothing until the inputs change; Reason says why.
	ActionHold ActionKind = "Hold"
)

// Reason says why an action was chosen. Failure reasons are API: the controller uses
// them in conditions and Events.
type Reason string

// Reasons.
const (
	ReasonNewRevision      Reason = "NewRevision"
	ReasonNextStep         Reason = "NextStep"
	ReasonWaitingForHealth Reason = "WaitingForHealth"
	ReasonPaused           Reason = "Paused"
	ReasonAnalysisPending  Reason = "AnalysisInconclusive"
	ReasonHealthy          Reason = "Healthy"
	ReasonBaking           Reason = "Baking"
	ReasonBaked            Reason = "Baked"
	ReasonDegraded         Reason = "Degraded"
	ReasonHealthTimeout    Reason = "HealthTimeout"
	ReasonAnalysisFailed   Reason = "AnalysisFailed"
	ReasonRevisionFailed   Reason = "RevisionFailed"
	ReasonPinned           Reason = "Pinned"
	ReasonAwaitingApproval Reason = "AwaitingApproval"
	ReasonUpToDate         Reason = "UpToDate"
)

// Action is the next thing to do.
type Action struct {
	Kind     ActionKind
	Revision string
	Step     int       // for Apply
	Weight   int32     // for Apply: percent of replicas on Revision
	Until    time.Time // for Wait
	Reason   Reason
	Message  string
}

// Decision is the planner's answer: the action, and the progress to record once the
// action has been carried out. If the action fails, record nothing and plan again.
type Decision struct {
	Action   Action
	Progress Progress
}

// Plan returns the next step of the rollout. It is pure: the same input gives the same
// decision. The error reports an input that cannot be planned (a bad policy, no revision,
// no time).
func Plan(in Input) (Decision, error) {
	if err := in.validate(); err != nil {
		return Decision{}, err
	}
	p := in.Progress
	target, pinned := in.Desired, false
	if in.Pinned != "" {
		target, pinned = in.Pinned, true
	}
	if target != p.Revision {
		if !pinned && slices.Contains(p.FailedRevisions, target) {
			return hold(p, target, ReasonRevisionFailed, "revision %s failed before; waiting for a newer revision", target), nil
		}
		return start(in, target, pinned), nil
	}
	switch p.Phase {
	case PhaseFailed, PhaseRolledBack:
		return hold(p, target, ReasonRevisionFailed, "revision %s failed; waiting for a newer revision", target), nil
	case PhaseCompleted:
		if pinned && in.Desired != in.Pinned {
			return hold(p, target, ReasonPinned, "pinned to %s; %s waits until the pin is lifted", target, in.Desired), nil
		}
		return hold(p, target, ReasonUpToDate, "revision %s is rolled out", target), nil
	case PhaseBaking:
		return bake(in, pinned), nil
	case PhaseProgressing, PhasePaused, PhaseAnalyzing:
		return advance(in, pinned), nil
	default:
		// A revision recorded without a phase: start it over rather than guess.
		return start(in, target, pinned), nil
	}
}

func (in Input) validate() error {
	if err := in.Policy.Validate(); err != nil {
		return err
	}
	switch {
	case in.Now.IsZero():
		return fmt.Errorf("%w: no current time", ErrInvalid)
	case in.Desired == "" && in.Pinned == "":
		return fmt.Errorf("%w: no desired revision", ErrInvalid)
	case in.Progress.Step < 0:
		return fmt.Errorf("%w: negative step %d", ErrInvalid, in.Progress.Step)
	}
	switch in.Analysis {
	case "", VerdictNone, VerdictPass, VerdictFail, VerdictInconclusive:
		return nil
	default:
		return fmt.Errorf("%w: unknown analysis verdict %q", ErrInvalid, in.Analysis)
	}
}

func hold(p Progress, revision string, reason Reason, format string, args ...any) Decision {
	return Decision{
		Action:   Action{Kind: ActionHold, Revision: revision, Reason: reason, Message: fmt.Sprintf(format, args...)},
		Progress: p,
	}
}

// start begins the rollout of target at its first step. A rollout in progress is
// superseded; the rollback target stays the last healthy revision.
func start(in Input, target string, pinned bool) Decision {
	p := in.Progress
	stable := p.LastHealthyRevision
	first := in.Policy.steps(target, stable, pinned)[0]
	msg := fmt.Sprintf("rolling out %s at %d%%", target, first.Weight)
	if p.Revision != "" && isActive(p.Phase) {
		msg += fmt.Sprintf(", superseding %s", p.Revision)
	}
	return Decision{
		Action: Action{Kind: ActionApply, Revision: target, Step: 0, Weight: first.Weight, Reason: ReasonNewRevision, Message: msg},
		Progress: Progress{
			Revision:            target,
			Stable:              stable,
			Weight:              first.Weight,
			Phase:               PhaseProgressing,
			StepStartedAt:       in.Now,
			LastHealthyRevision: p.LastHealthyRevision,
			FailedRevisions:     p.FailedRevisions,
		},
	}
}

func isActive(ph Phase) bool {
	return ph == PhaseProgressing || ph == PhasePaused || ph == PhaseAnalyzing || ph == PhaseBaking
}
