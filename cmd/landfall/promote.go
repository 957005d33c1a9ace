package main

import (
	"context"
	"encoding/json"
	"fmt"
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
			revision, err := awaitingApproval(app, env)
			if err != nil {
				return err
			}
			note, _ := json.Marshal(map[string]string{"revision": revision, "by": whoAmI(cmd.Context(), c),
				"at": time.Now().UTC().Format(time.RFC3339)})
			if err := annotate(cmd.Context(), c, app, landfallv1.AnnotationApprovePrefix+env, string(note)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %s: %s approved\n", app.Namespace, app.Name, env, revision)
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

// awaitingApproval returns the revision that waits for env's approval, refusing an
// environment that does not require approval or has nothing waiting.
func awaitingApproval(app *landfallv1.Application, env string) (string, error) {
	for _, e := range app.Spec.Environments {
		if e.Name != env {
			continue
		}
		if !e.RequireApproval {
			return "", fmt.Errorf("environment %s of application %s does not require approval", env, app.Name)
		}
		for _, st := range app.Status.Environments {
			if st.Name == env && st.AwaitingApproval != "" {
				return st.AwaitingApproval, nil
			}
		}
		return "", fmt.Errorf("no revision waits for approval in environment %s of application %s", env, app.Name)
	}
	return "", fmt.Errorf("application %s has no environment %q", app.Name, env)
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
