package main

import (
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/operate"
)

func newHistoryCmd() *cobra.Command {
	var k kubeFlags
	var env string
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "history APPLICATION [--env ENVIRONMENT]",
		Short: "Show the revisions an Application rolled out, with their results and causes, newest last",
		Example: `  landfall history shop
  landfall history shop --env production

  # The revisions only, for a script
  landfall history shop --env production -o jsonpath='{.items[*].revision}'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, app, err := k.application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var entries []landfallv1.HistoryEntry
			for _, h := range app.Status.History {
				if env == "" || h.Environment == env {
					entries = append(entries, h)
				}
			}
			sort.SliceStable(entries, func(i, j int) bool { return entries[i].StartedAt.Before(&entries[j].StartedAt) })
			if *o.print.OutputFormat == "name" {
				return fmt.Errorf("-o name: history entries are not objects; -o jsonpath='{.items[*].revision}' lists their revisions")
			}
			if !o.table() {
				return printEntries(cmd, o, entries)
			}
			return printHistory(cmd, entries, o.wide())
		},
	}
	k.register(cmd)
	o = addOutputFlags(cmd)
	cmd.Flags().StringVar(&env, "env", "", "only this environment")
	_ = cmd.RegisterFlagCompletionFunc("env", completeEnvironments(&k))
	return cmd
}

// printEntries writes history entries as the items of a v1 List, so -o json, yaml and
// jsonpath read them as they read objects.
func printEntries(cmd *cobra.Command, o *outputFlags, entries []landfallv1.HistoryEntry) error {
	list := newList()
	for i := range entries {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&entries[i])
		if err != nil {
			return err
		}
		list.Items = append(list.Items, unstructured.Unstructured{Object: m})
	}
	p, err := o.print.ToPrinter()
	if err != nil {
		return err
	}
	return p.PrintObj(list, cmd.OutOrStdout())
}

func printHistory(cmd *cobra.Command, entries []landfallv1.HistoryEntry, wide bool) error {
	if len(entries) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "No history yet")
		return nil
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	header := "ENVIRONMENT\tREVISION\tRESULT\tSTARTED\tDURATION\tMESSAGE"
	if wide {
		header += "\tCOMMIT"
	}
	fmt.Fprintln(tw, header)
	for _, h := range entries {
		rev, msg := operate.ShortRevision(h.Revision), oneLine(h.Message, 80)
		if wide {
			rev, msg = h.Revision, h.Message
		}
		took := "-"
		if h.FinishedAt != nil {
			took = h.FinishedAt.Sub(h.StartedAt.Time).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\t%s\t%s", h.Environment, rev, h.Result,
			duration.HumanDuration(time.Since(h.StartedAt.Time)), took, msg)
		if wide {
			fmt.Fprintf(tw, "\t%s", commitLine(h.Commit))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// commitLine is a commit as `-o wide` shows it: "subject (author)", "-" when unknown.
func commitLine(c *landfallv1.CommitInfo) string {
	switch {
	case c == nil || c.Subject == "" && c.Author == "":
		return "-"
	case c.Author == "":
		return c.Subject
	}
	return c.Subject + " (" + c.Author + ")"
}
