package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/landfall-dev/landfall/operate"
)

func newEventsCmd() *cobra.Command {
	var k kubeFlags
	var env string
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "events APPLICATION",
		Short: "Show the Events of an Application and of the objects it applied, newest last",
		Example: `  # Why did staging roll back?
  landfall events shop

  # Only the objects of one environment, as YAML
  landfall events shop --env production -o yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, app, err := k.application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			events, err := operate.Events(cmd.Context(), c, app, env)
			if err != nil {
				return err
			}
			if !o.table() {
				return o.printObjects(cmd.OutOrStdout(), asObjects(events), false)
			}
			return printEvents(cmd, events, o.wide())
		},
	}
	k.register(cmd)
	o = addOutputFlags(cmd)
	cmd.Flags().StringVar(&env, "env", "", "only the objects of this environment (and the Application)")
	_ = cmd.RegisterFlagCompletionFunc("env", completeEnvironments(&k))
	return cmd
}

func printEvents(cmd *cobra.Command, events []corev1.Event, wide bool) error {
	if len(events) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "No events found")
		return nil
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
	for _, ev := range events {
		msg := ev.Message
		if !wide {
			msg = oneLine(msg, 100)
		}
		io := ev.InvolvedObject
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s/%s\t%s\n", duration.HumanDuration(time.Since(operate.EventTime(ev))), ev.Type, ev.Reason, io.Kind, io.Name, msg)
	}
	return tw.Flush()
}
