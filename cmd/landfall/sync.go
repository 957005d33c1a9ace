package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

func newSyncCmd() *cobra.Command {
	var k kubeFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync APPLICATION",
		Short: "Ask the controller to sync an Application now, and wait until it has",
		Example: `  # Sync now and wait up to two minutes for the result
  landfall sync shop -n landfall-system

  # Only ask; do not wait
  landfall sync shop --timeout 0`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, ns, err := k.client()
			if err != nil {
				return err
			}
			key := client.ObjectKey{Namespace: ns, Name: args[0]}
			stamp := time.Now().UTC().Format(time.RFC3339Nano)
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, landfallv1.AnnotationSyncRequestedAt, stamp)
			app := &landfallv1.Application{}
			app.Namespace, app.Name = ns, args[0]
			if err := c.Patch(cmd.Context(), app, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sync of %s/%s requested\n", ns, args[0])
			if timeout == 0 {
				return nil
			}
			return waitHandled(cmd.Context(), c, key, stamp, timeout, cmd)
		},
	}
	k.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the sync (0: do not wait)")
	return cmd
}

// waitHandled waits until the controller has handled the sync request, then prints status.
func waitHandled(ctx context.Context, c client.Client, key client.ObjectKey, stamp string, timeout time.Duration, cmd *cobra.Command) error {
	app := &landfallv1.Application{}
	err := waitUntil(ctx, timeout, newProgress(cmd.OutOrStdout()), func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, key, app); err != nil {
			return false, "", err
		}
		return app.Status.LastHandledSyncAt == stamp, currentStep(app.Status.Conditions), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the controller to sync %s: %w", key, err)
	}
	return printStatus(cmd.OutOrStdout(), []landfallv1.Application{*app})
}
