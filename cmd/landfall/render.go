package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/render/decrypt"
	"github.com/landfall-dev/landfall/render/helm"
	"github.com/landfall-dev/landfall/sync/diff"
)

type renderOptions struct {
	name, namespace, kubeVersion string
	values, set, apiVersions     []string
	allowClusterScoped           bool
	allowNamespaces              []string
	ageKeyFiles                  []string
	showSecrets                  bool
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
--namespace, the command checks as the controller does for an environment deploying there.

SOPS-encrypted files are decrypted in memory with the age keys of --age-key-file; without
it they fail the render. Secret values are printed as *** unless --show-secrets, and so is
every value decrypted from a SOPS file wherever the render put it.`,
		Example: `  # An overlay that sets its own namespace, as kustomize build prints it
  landfall render deploy/overlays/dev

  # Exactly what an environment deploying to shop-staging would apply
  landfall render apps/shop/overlays/staging --namespace shop-staging

  # A Helm chart with values
  landfall render charts/payments --name payments -f values-staging.yaml --set replicaCount=3

  # SOPS-encrypted Secrets, decrypted with a local age key and shown in clear
  landfall render apps/shop/overlays/staging --age-key-file ~/.config/sops/age/keys.txt --show-secrets`,
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
	f.StringArrayVar(&o.ageKeyFiles, "age-key-file", nil, "file of age identities that decrypt the SOPS-encrypted files (repeatable)")
	f.BoolVar(&o.showSecrets, "show-secrets", false, "print Secret values and decrypted values in clear")
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
	keys, err := readAgeKeys(o.ageKeyFiles)
	if err != nil {
		return err
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
		Unscoped: o.namespace == "", Decryption: keys,
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
	if o.showSecrets {
		return render.WriteYAML(cmd.OutOrStdout(), res.Objects)
	}
	for _, obj := range res.Objects {
		diff.MaskSecret(obj.Object)
	}
	var out strings.Builder
	if err := render.WriteYAML(&out, res.Objects); err != nil {
		return err
	}
	_, err = io.WriteString(cmd.OutOrStdout(), maskText(out.String(), res.Sensitive))
	return err
}

// maskText replaces the decrypted values wherever the render put them (a ConfigMap, an
// environment variable): only Secrets are masked by their shape.
func maskText(text string, values []string) string {
	masked := decrypt.Redact(text, values)
	return strings.ReplaceAll(masked, decrypt.Masked, "***")
}

// readAgeKeys reads the age identities of each file; none gives nil keys.
func readAgeKeys(files []string) (*decrypt.Keys, error) {
	if len(files) == 0 {
		return nil, nil
	}
	texts := make([]string, len(files))
	for i, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("--age-key-file: %w", err)
		}
		texts[i] = string(data)
	}
	keys, err := decrypt.Parse(texts...)
	if err != nil {
		return nil, fmt.Errorf("--age-key-file: %w", err)
	}
	return keys, nil
}
