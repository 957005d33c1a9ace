package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/operate"
)

func newSyncCmd() *cobra.Command {
	var k kubeFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync APPLICATION",
		Short: "Ask the controller to sync an Application now, and wait until it has",
		Long: `Sync asks the controller to sync an Application now (it sets landfall.dev/sync-requested-at)
and waits until the controller has handled the request, showing its step on a terminal.

It exits 0 when the Application is Ready; 1 when it is not (a failed sync, a rollback,
Degraded health, an approval or a pin that holds it), with the reason; 2 when the request
could not be made, or --timeout ran out while the controller was still working.`,
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
			app := &landfallv1.Application{}
			app.Namespace, app.Name = ns, args[0]
			stamp, err := operate.RequestNow(cmd.Context(), c, app, landfallv1.AnnotationSyncRequestedAt)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sync of %s/%s requested\n", ns, args[0])
			if timeout == 0 {
				return nil
			}
			return waitSynced(cmd, c, app, stamp, timeout)
		},
	}
	k.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the sync (0: do not wait)")
	return cmd
}

// waitSynced waits until the controller has handled the sync request, prints the
// Application's status and judges it: not Ready is a failed check.
func waitSynced(cmd *cobra.Command, c client.Client, app *landfallv1.Application, stamp string, timeout time.Duration) error {
	key := client.ObjectKeyFromObject(app)
	err := waitUntil(cmd.Context(), timeout, newProgress(cmd.ErrOrStderr()), func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, key, app); err != nil {
			return false, "", err
		}
		return app.Status.LastHandledSyncAt == stamp, currentStep(app.Status.Conditions), nil
	})
	if err == nil || wait.Interrupted(err) {
		if perr := printStatus(cmd.OutOrStdout(), []landfallv1.Application{*app}, false); perr != nil {
			return perr
		}
	}
	return judgeReady("Application "+key.String(), app.Status.Conditions, err, timeout)
}
