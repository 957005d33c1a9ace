package main

import (
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
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
			events, err := appEvents(cmd, c, app, env)
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

// involved names an object as an Event does.
type involved struct{ kind, namespace, name string }

// appEvents lists the Events of the Application and of its inventory's objects, oldest first.
func appEvents(cmd *cobra.Command, c client.Client, app *landfallv1.Application, env string) ([]corev1.Event, error) {
	entries, err := appEntries(app, env)
	if err != nil {
		return nil, err
	}
	want := map[involved]bool{{"Application", app.Namespace, app.Name}: true}
	namespaces := map[string]bool{app.Namespace: true}
	for _, e := range entries {
		want[involved{e.Kind, e.Namespace, e.Name}] = true
		namespaces[e.Namespace] = true // "" for cluster-scoped objects: their Events are in default
	}
	var events []corev1.Event
	for ns := range namespaces {
		if ns == "" {
			ns = "default"
		}
		list := &corev1.EventList{}
		if err := c.List(cmd.Context(), list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing Events in %s: %w", ns, err)
		}
		for _, ev := range list.Items {
			io := ev.InvolvedObject
			if want[involved{io.Kind, io.Namespace, io.Name}] {
				events = append(events, ev)
			}
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	return events, nil
}

// eventTime is when an Event last happened, whichever API wrote it.
func eventTime(ev corev1.Event) time.Time {
	switch {
	case ev.Series != nil:
		return ev.Series.LastObservedTime.Time
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s/%s\t%s\n", duration.HumanDuration(time.Since(eventTime(ev))), ev.Type, ev.Reason, io.Kind, io.Name, msg)
	}
	return tw.Flush()
}
