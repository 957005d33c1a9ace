package dashboard

import (
	"fmt"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/operate"
)

// stage is one environment of an Application as the pipeline shows it.
type stage struct {
	Name     string
	Revision string // whole, for titles
	Short    string // 7 characters of the commit
	Subject  string // the commit's first line, when Git gave it
	Author   string // the commit's author's name
	Health   string
	Sync     string
	Now      string // what is happening now, in words
	NowKind  string // a class: ok, progress, wait, bad
	Pinned   string
	Awaiting string
	Step     *int32
}

// stages are the Application's environments in their order, staging → production.
func stages(app *landfallv1.Application, now time.Time) []stage {
	out := make([]stage, 0, len(app.Spec.Environments))
	for i := range app.Spec.Environments {
		e := &app.Spec.Environments[i]
		st := operate.EnvironmentStatus(app, e.Name)
		s := stage{Name: e.Name, Revision: st.Revision, Short: shortCommit(st.Revision),
			Health: orUnknown(string(st.Health)), Sync: orUnknown(string(st.Sync)),
			Pinned: st.PinnedRevision, Awaiting: st.AwaitingApproval, Step: st.AwaitingApprovalStep}
		if st.Commit != nil {
			s.Subject, s.Author = st.Commit.Subject, st.Commit.Author
		}
		s.Now, s.NowKind = activity(app, e, &st, now)
		out = append(out, s)
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// shortCommit is the first 7 characters of the revision's commit, "—" when none runs.
func shortCommit(rev string) string {
	c := operate.Commit(rev)
	if len(c) >= 7 {
		return c[:7]
	}
	if rev == "" {
		return "—"
	}
	return rev
}

// activity says what an environment is doing now: the first of suspended, outside a
// sync window, waiting for approval, pinned by a rollback, a rollout's phase (baking with
// time left, canary at its weight, analysing, rolled back and why), failed, in sync.
func activity(app *landfallv1.Application, e *landfallv1.Environment, st *landfallv1.EnvironmentStatus, now time.Time) (string, string) {
	ready := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
	switch {
	case app.Spec.Suspend:
		return "suspended", "wait"
	case ready != nil && ready.Reason == landfallv1.ReasonOutsideSyncWindow:
		return "outside sync window: " + ready.Message, "wait"
	case st.AwaitingApproval != "":
		what := "waiting for approval of " + shortCommit(st.AwaitingApproval)
		if st.AwaitingApprovalStep != nil {
			what += fmt.Sprintf(" (canary step %d)", *st.AwaitingApprovalStep+1)
		}
		return what, "wait"
	case st.PinnedRevision != "":
		return "pinned to " + shortCommit(st.PinnedRevision) + " by a rollback", "wait"
	}
	if r := st.Rollout; r != nil {
		if text, kind := rolloutActivity(e, r, now); text != "" {
			return text, kind
		}
	}
	switch {
	case st.Revision == "":
		return "not deployed yet", "wait"
	case st.Health == landfallv1.HealthDegraded || st.LastSyncResult == "Failed":
		return orText(st.Message, "failing"), "bad"
	case st.Sync == landfallv1.SyncOutOfSync:
		return "out of sync", "progress"
	case st.Health == landfallv1.HealthProgressing:
		return "progressing", "progress"
	}
	return "running", "ok"
}

func rolloutActivity(e *landfallv1.Environment, r *landfallv1.RolloutStatus, now time.Time) (string, string) {
	switch r.Phase {
	case landfallv1.RolloutBaking:
		if e.BakeTime != nil && r.HealthySince != nil {
			left := e.BakeTime.Duration - now.Sub(r.HealthySince.Time)
			if left < 0 {
				left = 0
			}
			return "baking, " + duration.HumanDuration(left) + " left", "progress"
		}
		return "baking", "progress"
	case landfallv1.RolloutRolledBack:
		return "rolled back: " + orText(r.Message, "checks failed"), "bad"
	case landfallv1.RolloutFailed:
		return "rollout failed: " + orText(r.Message, "unknown cause"), "bad"
	case landfallv1.RolloutAnalyzing:
		return fmt.Sprintf("analysing at %d%%", r.Weight), "progress"
	case landfallv1.RolloutProgressing, landfallv1.RolloutPaused:
		if r.Weight > 0 && r.Weight < 100 {
			return fmt.Sprintf("canary at %d%%", r.Weight), "progress"
		}
		return "rolling out", "progress"
	}
	return "", ""
}

func orText(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}
