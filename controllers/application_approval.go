package controllers

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/rollout"
)

// approvalNote is the value of an approve.landfall.dev/<environment> annotation as
// `landfall promote` writes it; a plain revision is accepted too.
type approvalNote struct {
	Revision string    `json:"revision"`
	Step     *int32    `json:"step,omitempty"` // a canary step of Revision; nil: the revision into the environment
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// approvalOf reads the approval annotation of env.
func approvalOf(app *landfallv1.Application, env string) approvalNote {
	v := strings.TrimSpace(app.Annotations[landfallv1.AnnotationApprovePrefix+env])
	var n approvalNote
	if strings.HasPrefix(v, "{") && json.Unmarshal([]byte(v), &n) == nil {
		return n
	}
	return approvalNote{Revision: v}
}

// gate holds a new revision of an environment that requires approval until the
// annotation approves that very revision. It returns the revision to plan with: desired
// once approved, else what the environment runs now (kept and healed); held says the
// environment waits, and why. A pin is a person's decision already and is not held.
func gate(app *landfallv1.Application, env *landfallv1.Environment, st *landfallv1.EnvironmentStatus,
	desired string, now time.Time) (plan string, held *envOutcome) {
	current := ""
	if st.Rollout != nil {
		current = st.Rollout.Revision
	}
	st.AwaitingApprovalStep = nil // a canary step waiting says so again when planned
	if !env.RequireApproval || st.PinnedRevision != "" || desired == current {
		st.AwaitingApproval = ""
		return desired, nil
	}
	note := approvalOf(app, env.Name)
	if note.Revision == desired && note.Step == nil {
		at := note.At
		if at.IsZero() {
			at = now
		}
		if st.Approval == nil || st.Approval.Revision != desired {
			t := metav1.NewTime(at)
			st.Approval = &landfallv1.Approval{Revision: desired, ApprovedBy: note.By, ApprovedAt: &t}
		}
		st.AwaitingApproval = ""
		return desired, nil
	}
	st.AwaitingApproval = desired
	msg := fmt.Sprintf("revision %s waits for approval: landfall promote %s --env %s", desired, app.Name, env.Name)
	return current, &envOutcome{blocked: true, reason: landfallv1.ReasonAwaitingApproval, message: msg, requeue: time.Minute}
}

// approvedSteps returns the canary step of the revision rolling out that the annotation
// approves, if any, and records who approved it and when.
func approvedSteps(app *landfallv1.Application, env *landfallv1.Environment, st *landfallv1.EnvironmentStatus, now time.Time) []int {
	note := approvalOf(app, env.Name)
	if note.Step == nil || st.Rollout == nil || note.Revision != st.Rollout.Revision {
		return nil
	}
	if a := st.Approval; a == nil || a.Revision != note.Revision || a.Step == nil || *a.Step != *note.Step {
		at := note.At
		if at.IsZero() {
			at = now
		}
		t := metav1.NewTime(at)
		step := *note.Step
		st.Approval = &landfallv1.Approval{Revision: note.Revision, Step: &step, ApprovedBy: note.By, ApprovedAt: &t}
	}
	return []int{int(*note.Step)}
}

// awaitStep records that a canary step waits for approval, and says how to give it.
func (s *envSync) awaitStep(p rollout.Progress, msg string) envOutcome {
	step := int32(p.Step)
	s.st.AwaitingApproval, s.st.AwaitingApprovalStep = p.Revision, &step
	msg += fmt.Sprintf(": landfall promote %s --env %s", s.app.Name, s.env.Name)
	s.st.Message = msg
	return envOutcome{blocked: true, reason: landfallv1.ReasonAwaitingApproval, message: msg, requeue: time.Minute}
}
