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
	// Each command lives in its own file as newXCmd. A command that talks to a cluster takes
	// kubeFlags (kube.go); one that shows objects takes outputFlags (output.go).
	root.AddCommand(
		newGetCmd(),
		newReconcileCmd(),
		newEventsCmd(),
		newHistoryCmd(),
		newTreeCmd(),
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
		newPromoteCmd(),
		newPushCmd(),
		newDashboardCmd(),
	)
	return root
}
