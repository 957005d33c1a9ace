package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
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
			stamp, err := requestNow(cmd.Context(), c, repo, landfallv1.AnnotationReconcileRequestedAt)
			if err != nil {
				return err
			}
			if timeout == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "fetch of %s/%s requested\n", ns, args[0])
				return nil
			}
			err = waitUntil(cmd.Context(), timeout, newProgress(cmd.OutOrStdout()), func(ctx context.Context) (bool, string, error) {
				if err := c.Get(ctx, objectKey(ns, args[0]), repo); err != nil {
					return false, "", err
				}
				return repo.Status.LastHandledReconcileAt == stamp, currentStep(repo.Status.Conditions), nil
			})
			if err != nil {
				return fmt.Errorf("waiting for the controller to fetch %s/%s: %w", ns, args[0], err)
			}
			if !o.table() {
				return o.printObjects(cmd.OutOrStdout(), []runtime.Object{repo}, true)
			}
			return reportReady(cmd, "Repository", repo.ObjectMeta, repo.Status.Conditions, repo.Status.Revision)
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

// requestNow sets a request annotation to a new timestamp and returns it; the controller
// copies it into status when it has handled the request.
func requestNow(ctx context.Context, c client.Client, obj client.Object, annotation string) (string, error) {
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, annotation, stamp)
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return "", err
	}
	return stamp, nil
}

// reportReady prints the result of a wait; a request handled but not Ready is a failed
// check (exit 1).
func reportReady(cmd *cobra.Command, kind string, meta metav1.ObjectMeta, conds []metav1.Condition, revision string) error {
	ready := apimeta.FindStatusCondition(conds, landfallv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue {
		msg := "no Ready condition"
		if ready != nil {
			msg = ready.Reason + ": " + ready.Message
		}
		return finding("%s %s/%s is not ready: %s", kind, meta.Namespace, meta.Name, msg)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s/%s ready at %s\n", kind, meta.Namespace, meta.Name, revision)
	return nil
}
