package operate

import (
	"fmt"
	"slices"
	"strings"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// EnvironmentStatus is the status of env, or an empty one when it has none yet.
func EnvironmentStatus(app *landfallv1.Application, env string) landfallv1.EnvironmentStatus {
	for _, s := range app.Status.Environments {
		if s.Name == env {
			return s
		}
	}
	return landfallv1.EnvironmentStatus{}
}

// ShortRevision keeps the ref and 7 characters of the commit; "-" for none.
func ShortRevision(rev string) string {
	for i := 0; i+6 <= len(rev); i++ {
		if rev[i:i+5] == "sha1:" && len(rev) >= i+5+7 {
			return rev[:i+5+7]
		}
	}
	if rev == "" {
		return "-"
	}
	return rev
}

// Commit is the commit hash of a revision (main@sha1:<commit>, sha1:<commit>), or "".
func Commit(rev string) string {
	if i := strings.LastIndex(rev, "sha1:"); i >= 0 {
		return rev[i+len("sha1:"):]
	}
	return ""
}

// RollbackTarget picks the revision: the one asked for, which must be in the
// Application's history, else the last healthy one that is not what runs now, else the
// newest earlier revision in the history. An environment the spec does not have, or
// one not deployed yet, is refused: a pin on it would do nothing.
func RollbackTarget(app *landfallv1.Application, env, to string) (string, error) {
	if !slices.ContainsFunc(app.Spec.Environments, func(e landfallv1.Environment) bool { return e.Name == env }) {
		return "", fmt.Errorf("application %s has no environment %q", app.Name, env)
	}
	st := EnvironmentStatus(app, env)
	if st.Revision == "" {
		return "", fmt.Errorf("environment %s of application %s has not been deployed yet", env, app.Name)
	}
	if to != "" {
		return KnownRevision(app, to)
	}
	if st.LastHealthyRevision != "" && st.LastHealthyRevision != st.Revision {
		return st.LastHealthyRevision, nil
	}
	for _, h := range app.Status.History {
		if h.Environment == env && h.Revision != st.Revision && h.Result == landfallv1.ResultSucceeded {
			return h.Revision, nil
		}
	}
	return "", fmt.Errorf("environment %s has no earlier healthy revision; name one with --to", env)
}

// KnownRevision finds to among the revisions the Application has deployed, by its full
// name (main@sha1:…) or by a commit hash of at least 7 characters.
func KnownRevision(app *landfallv1.Application, to string) (string, error) {
	var known []string
	for _, h := range app.Status.History {
		known = append(known, h.Revision)
	}
	for _, st := range app.Status.Environments {
		known = append(known, st.Revision, st.LastHealthyRevision)
	}
	for _, rev := range known {
		_, commit, _ := strings.Cut(rev, "@sha1:")
		if rev != "" && (rev == to || (len(to) >= 7 && strings.HasPrefix(commit, to))) {
			return rev, nil
		}
	}
	return "", fmt.Errorf("revision %s is not in the history of application %s (status.history lists what it deployed)", to, app.Name)
}

// AwaitingApproval returns the revision that waits for env's approval, and the canary
// step of it when a step waits, refusing an environment where nothing requires approval
// or nothing waits.
func AwaitingApproval(app *landfallv1.Application, env string) (string, *int32, error) {
	for _, e := range app.Spec.Environments {
		if e.Name != env {
			continue
		}
		for _, st := range app.Status.Environments {
			if st.Name != env {
				continue
			}
			if st.AwaitingApproval != "" {
				return st.AwaitingApproval, st.AwaitingApprovalStep, nil
			}
			if step, ok := stepAtApproval(app, &e, &st); ok {
				return st.Rollout.Revision, &step, nil
			}
		}
		if !e.RequireApproval && !StepRequiresApproval(app, &e) {
			return "", nil, fmt.Errorf("environment %s of application %s does not require approval", env, app.Name)
		}
		return "", nil, fmt.Errorf("no revision waits for approval in environment %s of application %s", env, app.Name)
	}
	return "", nil, fmt.Errorf("application %s has no environment %q", app.Name, env)
}

// stepAtApproval returns the canary step a rollout in progress is at when that step
// requires approval. The controller says a step waits only while it is healthy, so between
// two readings (an autoscaler still gathering the new pods' metrics) the step may be back
// to waiting for health; approving it then is safe, since the rollout still waits for
// health, pause and analysis before it moves on.
func stepAtApproval(app *landfallv1.Application, env *landfallv1.Environment, st *landfallv1.EnvironmentStatus) (int32, bool) {
	r := st.Rollout
	if r == nil || r.Revision == "" {
		return 0, false
	}
	switch r.Phase {
	case landfallv1.RolloutProgressing, landfallv1.RolloutPaused, landfallv1.RolloutAnalyzing:
	default:
		return 0, false
	}
	spec := app.Spec.Rollout
	if env.Rollout != nil {
		spec = env.Rollout
	}
	if spec == nil || int(r.Step) >= len(spec.Steps) || r.Step < 0 || !spec.Steps[r.Step].RequireApproval {
		return 0, false
	}
	return r.Step, true
}

// StepRequiresApproval reports whether a canary step of env's rollout requires approval.
func StepRequiresApproval(app *landfallv1.Application, env *landfallv1.Environment) bool {
	spec := app.Spec.Rollout
	if env.Rollout != nil {
		spec = env.Rollout
	}
	return spec != nil && slices.ContainsFunc(spec.Steps, func(s landfallv1.CanaryStep) bool { return s.RequireApproval })
}
