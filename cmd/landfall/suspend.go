package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

func newSuspendCmd() *cobra.Command { return suspendCmd("suspend", true) }
func newResumeCmd() *cobra.Command  { return suspendCmd("resume", false) }

func suspendCmd(verb string, suspend bool) *cobra.Command {
	var k kubeFlags
	cmd := &cobra.Command{
		Use:   verb + " APPLICATION",
		Short: map[bool]string{true: "Stop syncing an Application; live objects stay as they are", false: "Sync a suspended Application again"}[suspend],
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, ns, err := k.client()
			if err != nil {
				return err
			}
			app := &landfallv1.Application{}
			app.Namespace, app.Name = ns, args[0]
			patch := fmt.Sprintf(`{"spec":{"suspend":%t}}`, suspend)
			if err := c.Patch(cmd.Context(), app, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %sed\n", ns, args[0], verb)
			return nil
		},
	}
	k.register(cmd)
	return cmd
}
