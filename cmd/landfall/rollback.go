package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/landfall-dev/landfall/operate"
)

func newRollbackCmd() *cobra.Command {
	var k kubeFlags
	var env, to string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rollback APPLICATION --env ENVIRONMENT [--to REVISION]",
		Short: "Put an environment back on a revision (its last healthy one by default) and pin it there until resume",
		Example: `  # Back to the environment's last healthy revision
  landfall rollback shop --env production

  # To a revision of the history (landfall history shop --env production)
  landfall rollback shop --env production --to main@sha1:4f2c9e0…

  # Wait until production runs it again and is healthy, showing the controller's step
  landfall rollback shop --env production --timeout 5m`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, app, err := k.application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			target, err := operate.RollbackTarget(app, env, to)
			if err != nil {
				return err
			}
			if err := operate.Pin(cmd.Context(), c, app, env, target); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %s pinned to %s; `landfall resume %s` lifts the pin\n", app.Namespace, app.Name, env, target, app.Name)
			if timeout == 0 {
				return nil
			}
			return waitRunning(cmd, c, app, env, target, timeout)
		},
	}
	k.register(cmd)
	addRevisionFlags(cmd, &k, &env, &timeout, "roll back")
	cmd.Flags().StringVar(&to, "to", "", "the revision to go to (default: the environment's last healthy revision, else the one before the current)")
	_ = cmd.RegisterFlagCompletionFunc("to", completeRevisions(&k, &env))
	return cmd
}
