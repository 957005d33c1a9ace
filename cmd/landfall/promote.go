package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

func newPromoteCmd() *cobra.Command {
	var k kubeFlags
	var env string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "promote APPLICATION --env ENVIRONMENT",
		Short: "Approve the revision waiting for an environment that requires approval",
		Example: `  # Let production take the revision staging completed
  landfall promote shop --env production

  # And wait until production runs it and is healthy, showing the controller's step
  landfall promote shop --env production --timeout 5m`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, app, err := k.application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			revision, step, err := awaitingApproval(app, env)
			if err != nil {
				return err
			}
			approval := map[string]any{"revision": revision, "by": whoAmI(cmd.Context(), c),
				"at": time.Now().UTC().Format(time.RFC3339)}
			what := revision
			if step != nil {
				approval["step"] = *step
				what = fmt.Sprintf("step %d of %s", *step, revision)
			}
			note, _ := json.Marshal(approval)
			if err := annotate(cmd.Context(), c, app, landfallv1.AnnotationApprovePrefix+env, string(note)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %s: %s approved\n", app.Namespace, app.Name, env, what)
			if timeout == 0 {
				return nil
			}
			return waitRunning(cmd, c, app, env, revision, timeout)
		},
	}
	k.register(cmd)
	addRevisionFlags(cmd, &k, &env, &timeout, "promote")
	return cmd
}

// awaitingApproval returns the revision that waits for env's approval, and the canary
// step of it when a step waits, refusing an environment where nothing requires approval
// or nothing waits.
func awaitingApproval(app *landfallv1.Application, env string) (string, *int32, error) {
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
		if !e.RequireApproval && !stepRequiresApproval(app, &e) {
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

// stepRequiresApproval reports whether a canary step of env's rollout requires approval.
func stepRequiresApproval(app *landfallv1.Application, env *landfallv1.Environment) bool {
	spec := app.Spec.Rollout
	if env.Rollout != nil {
		spec = env.Rollout
	}
	return spec != nil && slices.ContainsFunc(spec.Steps, func(s landfallv1.CanaryStep) bool { return s.RequireApproval })
}

// whoAmI asks the apiserver who the caller is, for the approval's record; "" when it
// cannot tell.
func whoAmI(ctx context.Context, c client.Client) string {
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		return ""
	}
	return review.Status.UserInfo.Username
}
