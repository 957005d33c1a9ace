package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/operate"
)

func newReconcileCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reconcile repository|application NAME",
		Short: "Ask the controller to fetch a Repository or sync an Application now, and wait until it has",
		Example: `  # Fetch now, without waiting for the poll interval or a webhook
  landfall reconcile repository shop

  # Sync an Application now and wait up to five minutes
  landfall reconcile application shop --timeout 5m`,
	}
	cmd.AddCommand(newReconcileRepositoryCmd(), newReconcileApplicationCmd())
	return cmd
}

func newReconcileRepositoryCmd() *cobra.Command {
	var k kubeFlags
	var timeout time.Duration
	var o *outputFlags
	cmd := &cobra.Command{
		Use:     "repository NAME",
		Aliases: []string{"repositories", "repo", "lfrepo"},
		Short:   "Fetch a Repository now (sets landfall.dev/reconcile-requested-at) and wait",
		Long: `Reconcile repository asks the controller to fetch a Repository now and waits until it has.
It exits 0 when the Repository is Ready, 1 when it is not (a failed fetch, a refused
signature, with the reason), 2 when the request could not be made or --timeout ran out
while the controller was still working.`,
		Example: `  landfall reconcile repository shop -n landfall-system
  landfall reconcile repository shop -o jsonpath='{.status.revision}'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRepositories(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, ns, err := k.client()
			if err != nil {
				return err
			}
			repo := &landfallv1.Repository{}
			repo.Namespace, repo.Name = ns, args[0]
			stamp, err := operate.RequestNow(cmd.Context(), c, repo, landfallv1.AnnotationReconcileRequestedAt)
			if err != nil {
				return err
			}
			if timeout == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "fetch of %s/%s requested\n", ns, args[0])
				return nil
			}
			err = waitUntil(cmd.Context(), timeout, newProgress(cmd.ErrOrStderr()), func(ctx context.Context) (bool, string, error) {
				if err := c.Get(ctx, objectKey(ns, args[0]), repo); err != nil {
					return false, "", err
				}
				return repo.Status.LastHandledReconcileAt == stamp, currentStep(repo.Status.Conditions), nil
			})
			if err := judgeReady("Repository "+ns+"/"+args[0], repo.Status.Conditions, err, timeout); err != nil {
				return err
			}
			if !o.table() {
				return o.printObjects(cmd.OutOrStdout(), []runtime.Object{repo}, true)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Repository %s/%s ready at %s\n", ns, args[0], repo.Status.Revision)
			return nil
		},
	}
	k.register(cmd)
	o = addOutputFlags(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the fetch (0: do not wait)")
	return cmd
}

func newReconcileApplicationCmd() *cobra.Command {
	cmd := newSyncCmd()
	cmd.Use = "application NAME"
	cmd.Aliases = []string{"applications", "app", "lfapp"}
	cmd.Short = "Sync an Application now (sets landfall.dev/sync-requested-at) and wait; the same as landfall sync"
	cmd.Example = `  landfall reconcile application shop -n landfall-system`
	return cmd
}
