package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// Shell completion of Application, Repository, environment, revision and namespace names,
// read from the cluster the command's flags point at. A completion that cannot reach the
// cluster offers nothing.

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completeFirstArg completes the first argument with the names list returns.
func completeFirstArg(k *kubeFlags, list func(ctx context.Context, c client.Client, ns string) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		c, _, ns, err := k.client()
		if err != nil {
			return nil, noFiles
		}
		names, err := list(cmd.Context(), c, ns)
		if err != nil {
			return nil, noFiles
		}
		return withPrefix(names, prefix), noFiles
	}
}

// completeApplications completes the first argument with the Applications of the namespace.
func completeApplications(k *kubeFlags) cobra.CompletionFunc {
	return completeFirstArg(k, func(ctx context.Context, c client.Client, ns string) ([]string, error) {
		apps := &landfallv1.ApplicationList{}
		err := c.List(ctx, apps, client.InNamespace(ns))
		names := make([]string, len(apps.Items))
		for i, a := range apps.Items {
			names[i] = a.Name
		}
		return names, err
	})
}

// completeRepositories completes the first argument with the Repositories of the namespace.
func completeRepositories(k *kubeFlags) cobra.CompletionFunc {
	return completeFirstArg(k, func(ctx context.Context, c client.Client, ns string) ([]string, error) {
		repos := &landfallv1.RepositoryList{}
		err := c.List(ctx, repos, client.InNamespace(ns))
		names := make([]string, len(repos.Items))
		for i, r := range repos.Items {
			names[i] = r.Name
		}
		return names, err
	})
}

// completeNamespaces completes -n.
func completeNamespaces(k *kubeFlags) cobra.CompletionFunc {
	return completeFirstArg(k, func(ctx context.Context, c client.Client, _ string) ([]string, error) {
		list := &corev1.NamespaceList{}
		err := c.List(ctx, list)
		names := make([]string, len(list.Items))
		for i, n := range list.Items {
			names[i] = n.Name
		}
		return names, err
	})
}

// completeEnvironments completes --env with the environments of the Application named first.
func completeEnvironments(k *kubeFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, noFiles
		}
		_, app, err := k.application(cmd.Context(), args[0])
		if err != nil {
			return nil, noFiles
		}
		var names []string
		for _, e := range app.Spec.Environments {
			names = append(names, e.Name)
		}
		return withPrefix(names, prefix), noFiles
	}
}

// completeRevisions completes a revision with those the Application's history holds (for
// --env, when it is given), in the history's order.
func completeRevisions(k *kubeFlags, env *string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, noFiles
		}
		_, app, err := k.application(cmd.Context(), args[0])
		if err != nil {
			return nil, noFiles
		}
		seen := map[string]bool{}
		var names []string
		for _, h := range app.Status.History {
			if (*env == "" || h.Environment == *env) && !seen[h.Revision] {
				seen[h.Revision] = true
				names = append(names, h.Revision)
			}
		}
		return withPrefix(names, prefix), noFiles | cobra.ShellCompDirectiveKeepOrder
	}
}

func withPrefix(names []string, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}
