package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/landfall-dev/landfall/operate"
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
			revision, step, err := operate.AwaitingApproval(app, env)
			if err != nil {
				return err
			}
			what, err := operate.Approve(cmd.Context(), c, app, env, revision, step, whoAmI(cmd.Context(), c))
			if err != nil {
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

// whoAmI asks the apiserver who the caller is, for the approval's record; "" when it
// cannot tell.
func whoAmI(ctx context.Context, c client.Client) string {
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		return ""
	}
	return review.Status.UserInfo.Username
}
