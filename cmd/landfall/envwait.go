package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/operate"
)

// waitRunning waits until environment env of app runs revision target and is healthy, for
// rollback and promote. Degraded there ends the wait at once as a failed check (exit 1);
// running out of time is one too when the Application is Stalled (the controller will not
// get there without a person), and an error (exit 2) while it still works.
func waitRunning(cmd *cobra.Command, c client.Client, app *landfallv1.Application, env, target string, timeout time.Duration) error {
	var st landfallv1.EnvironmentStatus
	err := waitUntil(cmd.Context(), timeout, newProgress(cmd.ErrOrStderr()), func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			return false, "", err
		}
		st = operate.EnvironmentStatus(app, env)
		step := fmt.Sprintf("%s: %s, %s", env, operate.ShortRevision(st.Revision), st.Health)
		if st.Message != "" {
			step += ": " + st.Message
		}
		settled := st.Health == landfallv1.HealthHealthy || st.Health == landfallv1.HealthDegraded
		return st.Revision == target && settled, step, nil
	})
	switch {
	case err != nil && !wait.Interrupted(err):
		return fmt.Errorf("waiting for %s to run %s: %w", env, target, err)
	case err != nil:
		if stalled := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionStalled); stalled != nil && stalled.Status == "True" {
			return finding("%s does not run %s: %s: %s", env, operate.ShortRevision(target), stalled.Reason, stalled.Message)
		}
		return fmt.Errorf("%s: not running %s healthy after %s (--timeout); now %s, %s: %s", env, operate.ShortRevision(target), timeout,
			operate.ShortRevision(st.Revision), st.Health, st.Message)
	case st.Health != landfallv1.HealthHealthy:
		return finding("%s runs %s, %s: %s", env, operate.ShortRevision(target), st.Health, st.Message)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s runs %s, %s\n", env, operate.ShortRevision(target), st.Health)
	return nil
}

// addRevisionFlags adds --env (required, completed) and --timeout to a command that moves
// an environment to a revision, as rollback and promote do.
func addRevisionFlags(cmd *cobra.Command, k *kubeFlags, env *string, timeout *time.Duration, what string) {
	cmd.Flags().StringVar(env, "env", "", "the environment to "+what+" (required)")
	cmd.Flags().DurationVar(timeout, "timeout", 0, "how long to wait until the environment runs the revision and is healthy (0: do not wait)")
	_ = cmd.MarkFlagRequired("env")
	_ = cmd.RegisterFlagCompletionFunc("env", completeEnvironments(k))
}
