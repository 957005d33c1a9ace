package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/operate"
)

func newStatusCmd() *cobra.Command {
	var k kubeFlags
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "status [APPLICATION]",
		Short: "Show Applications and their environments: revision, sync, health, message",
		Example: `  # Every Application of the current namespace, one line per environment
  landfall status

  # Of every namespace; or one Application as YAML
  landfall status -A
  landfall status shop -o yaml`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, ns, err := k.client()
			if err != nil {
				return err
			}
			apps := &landfallv1.ApplicationList{}
			if len(args) == 1 {
				app := &landfallv1.Application{}
				if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, app); err != nil {
					return err
				}
				apps.Items = append(apps.Items, *app)
			} else if err := listApps(cmd.Context(), c, ns, k.allNamespaces, apps); err != nil {
				return err
			}
			if !o.table() {
				return o.printObjects(cmd.OutOrStdout(), asObjects(apps.Items), len(args) == 1)
			}
			return printStatus(cmd.OutOrStdout(), apps.Items, o.wide())
		},
	}
	k.register(cmd)
	k.registerAll(cmd, "Applications")
	o = addOutputFlags(cmd)
	return cmd
}

func listApps(ctx context.Context, c client.Client, ns string, all bool, apps *landfallv1.ApplicationList) error {
	if all {
		return c.List(ctx, apps)
	}
	return c.List(ctx, apps, client.InNamespace(ns))
}

// printStatus writes one line per environment, like kubectl get; wide, with whole revisions
// and messages.
func printStatus(w io.Writer, apps []landfallv1.Application, wide bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tAPPLICATION\tENVIRONMENT\tREVISION\tSYNC\tHEALTH\tREADY\tMESSAGE")
	for _, a := range apps {
		ready, readyMsg := "Unknown", ""
		if c := apimeta.FindStatusCondition(a.Status.Conditions, landfallv1.ConditionReady); c != nil {
			ready, readyMsg = string(c.Status), c.Message
		}
		for _, env := range a.Spec.Environments {
			st := landfallv1.EnvironmentStatus{Sync: landfallv1.SyncUnknown, Health: landfallv1.HealthUnknown}
			for _, s := range a.Status.Environments {
				if s.Name == env.Name {
					st = s
				}
			}
			// An environment not reached yet has no message of its own: the Application's
			// Ready message says why (a Repository without a revision, an earlier environment).
			msg := st.Message
			if msg == "" {
				msg = readyMsg
			}
			rev, width := operate.ShortRevision(st.Revision), 80
			if wide {
				rev, width = st.Revision, 1<<16
			}
			msg = oneLine(msg, width)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Namespace, a.Name, env.Name, rev, st.Sync, st.Health, ready, msg)
		}
	}
	return tw.Flush()
}

func oneLine(s string, n int) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' {
			r = ' '
		}
		out = append(out, r)
	}
	if len(out) > n {
		return string(out[:n-1]) + "…"
	}
	return string(out)
}
