package main

import (
	"encoding/json"
	"fmt"
	"strings"

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
			if err := c.Patch(cmd.Context(), app, client.RawPatch(types.MergePatchType, suspendPatch(app, suspend))); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %s\n", app.Namespace, app.Name, map[bool]string{true: "suspended", false: "resumed"}[suspend])
			return nil
		},
	}
	k.register(cmd)
	return cmd
}

// suspendPatch sets spec.suspend; resuming also lifts the pins of manual rollbacks.
func suspendPatch(app *landfallv1.Application, suspend bool) []byte {
	patch := map[string]any{"spec": map[string]any{"suspend": suspend}}
	if !suspend {
		pins := map[string]any{}
		for k := range app.Annotations {
			if strings.HasPrefix(k, landfallv1.AnnotationPinPrefix) {
				pins[k] = nil
			}
		}
		if len(pins) > 0 {
			patch["metadata"] = map[string]any{"annotations": pins}
		}
	}
	b, _ := json.Marshal(patch)
	return b
}
