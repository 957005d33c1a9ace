package main

import (
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// Shell completion of Application, environment and revision names, read from the cluster
// the command's flags point at. A completion that cannot reach the cluster offers nothing.

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completeApplications completes the first argument with the Applications of the namespace.
func completeApplications(k *kubeFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		c, _, ns, err := k.client()
		if err != nil {
			return nil, noFiles
		}
		apps := &landfallv1.ApplicationList{}
		if err := listApps(cmd.Context(), c, ns, false, apps); err != nil {
			return nil, noFiles
		}
		var out []cobra.Completion
		for _, a := range apps.Items {
			out = appendPrefixed(out, prefix, a.Name)
		}
		return out, noFiles
	}
}

// completeEnvironments completes --env with the environments of the Application named first.
func completeEnvironments(k *kubeFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		app, ok := completionApp(cmd, k, args)
		if !ok {
			return nil, noFiles
		}
		var out []cobra.Completion
		for _, e := range app.Spec.Environments {
			out = appendPrefixed(out, prefix, e.Name)
		}
		return out, noFiles
	}
}

// completeRevisions completes a revision with those the Application's history holds (for
// --env, when it is given), newest first.
func completeRevisions(k *kubeFlags, env *string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		app, ok := completionApp(cmd, k, args)
		if !ok {
			return nil, noFiles
		}
		seen := map[string]bool{}
		var out []cobra.Completion
		for _, h := range app.Status.History {
			if (*env == "" || h.Environment == *env) && !seen[h.Revision] {
				seen[h.Revision] = true
				out = appendPrefixed(out, prefix, h.Revision)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// completeRepositories completes the first argument with the Repositories of the namespace.
func completeRepositories(k *kubeFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		c, _, ns, err := k.client()
		if err != nil {
			return nil, noFiles
		}
		repos := &landfallv1.RepositoryList{}
		if err := c.List(cmd.Context(), repos, client.InNamespace(ns)); err != nil {
			return nil, noFiles
		}
		var out []cobra.Completion
		for _, r := range repos.Items {
			out = appendPrefixed(out, prefix, r.Name)
		}
		return out, noFiles
	}
}

func completeNamespaces(k *kubeFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, _, _, err := k.client()
		if err != nil {
			return nil, noFiles
		}
		list := &corev1.NamespaceList{}
		if err := c.List(cmd.Context(), list); err != nil {
			return nil, noFiles
		}
		var out []cobra.Completion
		for _, n := range list.Items {
			out = appendPrefixed(out, prefix, n.Name)
		}
		return out, noFiles
	}
}

func completionApp(cmd *cobra.Command, k *kubeFlags, args []string) (*landfallv1.Application, bool) {
	if len(args) == 0 {
		return nil, false
	}
	c, _, ns, err := k.client()
	if err != nil {
		return nil, false
	}
	app := &landfallv1.Application{}
	if err := c.Get(cmd.Context(), objectKey(ns, args[0]), app); err != nil {
		return nil, false
	}
	return app, true
}

func appendPrefixed(out []cobra.Completion, prefix, name string) []cobra.Completion {
	if strings.HasPrefix(name, prefix) {
		out = append(out, name)
	}
	return out
}
