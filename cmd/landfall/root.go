package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "landfall",
		Short:         "Landfall keeps Kubernetes clusters in step with Git",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Each command lives in its own file as newXCmd.
	root.AddCommand(
		newVersionCmd(),
		newHealthCmd(),
		newControllerCmd(),
		newRenderCmd(),
		newStatusCmd(),
		newSyncCmd(),
		newDiffCmd(),
		newSuspendCmd(),
		newResumeCmd(),
		newRollbackCmd(),
	)
	return root
}
