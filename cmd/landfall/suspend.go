package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/landfall-dev/landfall/operate"
)

func newSuspendCmd() *cobra.Command { return suspendCmd("suspend", true) }
func newResumeCmd() *cobra.Command  { return suspendCmd("resume", false) }

func suspendCmd(verb string, suspend bool) *cobra.Command {
	var k kubeFlags
	cmd := &cobra.Command{
		Use:               verb + " APPLICATION",
		Short:             map[bool]string{true: "Stop syncing an Application; live objects stay as they are", false: "Sync a suspended Application again"}[suspend],
		Example:           "  landfall " + verb + " shop -n landfall-system",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, app, err := k.application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := operate.Suspend(cmd.Context(), c, app, suspend); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %s\n", app.Namespace, app.Name, map[bool]string{true: "suspended", false: "resumed"}[suspend])
			return nil
		},
	}
	k.register(cmd)
	return cmd
}
