package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
)

func newDiffCmd() *cobra.Command {
	var k kubeFlags
	var env string
	var color, exitCode bool
	cmd := &cobra.Command{
		Use:   "diff APPLICATION",
		Short: "Show what a sync would change: live objects against Git, Secret values masked",
		Example: `  # Every environment of an Application
  landfall diff shop -n landfall-system

  # One environment; exit 1 when it differs (2 on an error), for scripts
  landfall diff shop --env production --exit-code`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, cfg, ns, err := k.client()
			if err != nil {
				return err
			}
			app := &landfallv1.Application{}
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, app); err != nil {
				return err
			}
			cache, err := os.UserCacheDir()
			if err != nil {
				cache = os.TempDir()
			}
			d, err := controllers.NewDiffer(cfg, c, filepath.Join(cache, "landfall"))
			if err != nil {
				return err
			}
			diffs, err := d.Diff(cmd.Context(), app, env, color)
			out := cmd.OutOrStdout()
			for _, od := range diffs {
				fmt.Fprintf(out, "=== %s %s (%s)\n%s", od.Environment, od.Object, od.Action, od.Text)
			}
			if err != nil {
				return err
			}
			if len(diffs) == 0 {
				fmt.Fprintln(out, "no differences")
			} else if exitCode {
				return errDiffering
			}
			return nil
		},
	}
	k.register(cmd)
	cmd.Flags().StringVar(&env, "env", "", "only this environment")
	_ = cmd.RegisterFlagCompletionFunc("env", completeEnvironments(&k))
	cmd.Flags().BoolVar(&color, "color", isTerminal(os.Stdout), "colour the diff")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 1 when there are differences")
	return cmd
}

var errDiffering = finding("live objects differ from Git")
