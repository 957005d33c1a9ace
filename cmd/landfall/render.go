package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/render/helm"
)

type renderOptions struct {
	name, namespace, kubeVersion string
	values, set, apiVersions     []string
	allowClusterScoped           bool
	allowNamespaces              []string
}

func newRenderCmd() *cobra.Command {
	var o renderOptions
	cmd := &cobra.Command{
		Use:   "render PATH",
		Short: "Print the objects an application folder renders to, without a cluster",
		Long: `Render prints the YAML stream Landfall would apply for PATH: a Kustomize folder, a Helm
chart or plain manifests, detected from its files. Nothing outside the checkout (the Git
top-level holding PATH, or else the current directory) is read, and nothing is fetched.
Helm hooks are left out and listed on stderr.

Without --namespace, PATH renders as kustomize build or helm template would: objects keep the
namespace they name, and what an environment would refuse is only a warning on stderr. With
--namespace, the command checks as the controller does for an environment deploying there.`,
		Example: `  # An overlay that sets its own namespace, as kustomize build prints it
  landfall render deploy/overlays/dev

  # Exactly what an environment deploying to shop-staging would apply
  landfall render apps/shop/overlays/staging --namespace shop-staging

  # A Helm chart with values
  landfall render charts/payments --name payments -f values-staging.yaml --set replicaCount=3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRender(cmd, args[0], o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "Helm release name (default: the folder name)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "target namespace: default and check namespaces as an environment deploying there would")
	f.StringArrayVarP(&o.values, "values", "f", nil, "Helm values file (repeatable)")
	f.StringArrayVar(&o.set, "set", nil, "Helm value as key=value (repeatable)")
	f.StringVar(&o.kubeVersion, "kube-version", "", "Kubernetes version for Helm's .Capabilities")
	f.StringArrayVar(&o.apiVersions, "api-versions", nil, "extra API version for Helm's .Capabilities (repeatable)")
	f.BoolVar(&o.allowClusterScoped, "allow-cluster-scoped", false, "allow cluster-scoped objects")
	f.StringArrayVar(&o.allowNamespaces, "allow-namespace", nil, "another namespace objects may name, or * (repeatable)")
	return cmd
}

func runRender(cmd *cobra.Command, path string, o renderOptions) error {
	root, rel, err := render.CheckoutOf(path)
	if err != nil {
		return err
	}
	values, err := helm.ParseSetValues(o.set)
	if err != nil {
		return err
	}
	// Values files are given relative to where the command runs; the engine wants them
	// relative to the chart.
	var files []string
	for _, v := range o.values {
		abs, err := filepath.Abs(v)
		if err != nil {
			return fmt.Errorf("--values %s: %w", v, err)
		}
		if abs, err = filepath.EvalSymlinks(abs); err != nil {
			return fmt.Errorf("--values %s: %w", v, err)
		}
		r, err := filepath.Rel(filepath.Join(root, rel), abs)
		if err != nil {
			return fmt.Errorf("--values %s: %w", v, err)
		}
		files = append(files, filepath.ToSlash(r))
	}
	engine := render.New(render.WithCacheSize(0))
	if iso, err := (&renderSandboxFlags{enabled: true}).isolator(); err == nil {
		// A chart can ask for more memory than the machine has; the child pays, not us.
		engine = render.New(render.WithCacheSize(0), render.WithIsolator(iso))
	}
	res, err := engine.Render(cmd.Context(), render.Input{
		Root: root, Path: rel, Namespace: o.namespace, ReleaseName: o.name,
		ValuesFiles: files, Values: values, KubeVersion: o.kubeVersion, APIVersions: o.apiVersions,
		Policy:   render.Policy{AllowClusterScoped: o.allowClusterScoped, AllowedNamespaces: o.allowNamespaces},
		Unscoped: o.namespace == "",
	})
	if err != nil {
		return err
	}
	for _, h := range res.SkippedHooks {
		fmt.Fprintf(cmd.ErrOrStderr(), "skipped Helm hook %s\n", h)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s (an environment refuses this)\n", w)
	}
	return render.WriteYAML(cmd.OutOrStdout(), res.Objects)
}
