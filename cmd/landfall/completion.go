package main

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// Shell completion of Application, Repository, environment, revision and namespace names,
// read from the cluster the command's flags point at. A completion that cannot reach the
// cluster offers nothing.

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completeNames completes the first argument with the names of the objects of kind, of the
// namespace the flags say (of the cluster, for a cluster-scoped kind). It reads metadata
// only: a completion needs names, not the objects.
func completeNames(k *kubeFlags, kind schema.GroupVersionKind, namespaced bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		return withPrefix(listNames(cmd.Context(), k, kind, namespaced), prefix), noFiles
	}
}

// listNames lists the names of the objects of kind; none when the cluster cannot tell.
func listNames(ctx context.Context, k *kubeFlags, kind schema.GroupVersionKind, namespaced bool) []string {
	c, _, ns, err := k.client()
	if err != nil {
		return nil
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(kind.GroupVersion().WithKind(kind.Kind + "List"))
	var opts []client.ListOption
	if namespaced {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		return nil
	}
	names := make([]string, len(list.Items))
	for i, item := range list.Items {
		names[i] = item.Name
	}
	return names
}

// completeApplications completes the first argument with the Applications of the namespace.
func completeApplications(k *kubeFlags) cobra.CompletionFunc {
	return completeNames(k, landfallv1.GroupVersion.WithKind("Application"), true)
}

// completeRepositories completes the first argument with the Repositories of the namespace.
func completeRepositories(k *kubeFlags) cobra.CompletionFunc {
	return completeNames(k, landfallv1.GroupVersion.WithKind("Repository"), true)
}

// completeNamespaces completes -n.
func completeNamespaces(k *kubeFlags) cobra.CompletionFunc {
	return completeNames(k, corev1.SchemeGroupVersion.WithKind("Namespace"), false)
}

// completeGet completes the kind of landfall get, then names of that kind not given yet.
func completeGet(k *kubeFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return withPrefix([]string{"repositories", "applications", "previews"}, prefix), noFiles
		}
		kind, ok := getKinds[strings.ToLower(args[0])]
		if !ok {
			return nil, noFiles
		}
		var names []string
		for _, n := range listNames(cmd.Context(), k, landfallv1.GroupVersion.WithKind(kind.kind), true) {
			if !slices.Contains(args[1:], n) {
				names = append(names, n)
			}
		}
		return withPrefix(names, prefix), noFiles
	}
}

// completeEnvironments completes --env with the environments of the Application named first.
func completeEnvironments(k *kubeFlags) cobra.CompletionFunc {
	return completeFromApplication(k, noFiles, func(app *landfallv1.Application) []string {
		var names []string
		for _, e := range app.Spec.Environments {
			names = append(names, e.Name)
		}
		return names
	})
}

// completeRevisions completes a revision with those the Application's history holds (for
// --env, when it is given), in the history's order.
func completeRevisions(k *kubeFlags, env *string) cobra.CompletionFunc {
	return completeFromApplication(k, noFiles|cobra.ShellCompDirectiveKeepOrder, func(app *landfallv1.Application) []string {
		seen := map[string]bool{}
		var names []string
		for _, h := range app.Status.History {
			if (*env == "" || h.Environment == *env) && !seen[h.Revision] {
				seen[h.Revision] = true
				names = append(names, h.Revision)
			}
		}
		return names
	})
}

// completeFromApplication completes a flag with what names reads from the Application the
// first argument names.
func completeFromApplication(k *kubeFlags, directive cobra.ShellCompDirective, names func(*landfallv1.Application) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, noFiles
		}
		_, app, err := k.application(cmd.Context(), args[0])
		if err != nil {
			return nil, noFiles
		}
		return withPrefix(names(app), prefix), directive
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
