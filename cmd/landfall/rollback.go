package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

func newRollbackCmd() *cobra.Command {
	var k kubeFlags
	var env, to string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rollback APPLICATION --env ENVIRONMENT [--to REVISION]",
		Short: "Put an environment back on a revision (its last healthy one by default) and pin it there until resume",
		Example: `  # Back to the environment's last healthy revision
  landfall rollback shop --env production

  # To a revision of the history (landfall history shop --env production)
  landfall rollback shop --env production --to main@sha1:4f2c9e0…

  # Wait until production runs it again and is healthy, showing the controller's step
  landfall rollback shop --env production --timeout 5m`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, app, err := k.application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			target, err := rollbackTarget(app, env, to)
			if err != nil {
				return err
			}
			if err := annotate(cmd.Context(), c, app, landfallv1.AnnotationPinPrefix+env, target); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %s pinned to %s; `landfall resume %s` lifts the pin\n", app.Namespace, app.Name, env, target, app.Name)
			if timeout == 0 {
				return nil
			}
			return waitRunning(cmd, c, app, env, target, timeout)
		},
	}
	k.register(cmd)
	addRevisionFlags(cmd, &k, &env, &timeout, "roll back")
	cmd.Flags().StringVar(&to, "to", "", "the revision to go to (default: the environment's last healthy revision, else the one before the current)")
	_ = cmd.RegisterFlagCompletionFunc("to", completeRevisions(&k, &env))
	return cmd
}

// rollbackTarget picks the revision: the one asked for, which must be in the
// Application's history, else the last healthy one that is not what runs now, else the
// newest earlier revision in the history. An environment the spec does not have, or
// one not deployed yet, is refused: a pin on it would do nothing.
func rollbackTarget(app *landfallv1.Application, env, to string) (string, error) {
	if !slices.ContainsFunc(app.Spec.Environments, func(e landfallv1.Environment) bool { return e.Name == env }) {
		return "", fmt.Errorf("application %s has no environment %q", app.Name, env)
	}
	st := environmentStatus(app, env)
	if st.Revision == "" {
		return "", fmt.Errorf("environment %s of application %s has not been deployed yet", env, app.Name)
	}
	if to != "" {
		return knownRevision(app, to)
	}
	if st.LastHealthyRevision != "" && st.LastHealthyRevision != st.Revision {
		return st.LastHealthyRevision, nil
	}
	for _, h := range app.Status.History {
		if h.Environment == env && h.Revision != st.Revision && h.Result == landfallv1.ResultSucceeded {
			return h.Revision, nil
		}
	}
	return "", fmt.Errorf("environment %s has no earlier healthy revision; name one with --to", env)
}

// knownRevision finds to among the revisions the Application has deployed, by its full
// name (main@sha1:…) or by a commit hash of at least 7 characters.
func knownRevision(app *landfallv1.Application, to string) (string, error) {
	var known []string
	for _, h := range app.Status.History {
		known = append(known, h.Revision)
	}
	for _, st := range app.Status.Environments {
		known = append(known, st.Revision, st.LastHealthyRevision)
	}
	for _, rev := range known {
		_, commit, _ := strings.Cut(rev, "@sha1:")
		if rev != "" && (rev == to || (len(to) >= 7 && strings.HasPrefix(commit, to))) {
			return rev, nil
		}
	}
	return "", fmt.Errorf("revision %s is not in the history of application %s (status.history lists what it deployed)", to, app.Name)
}
