package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
)

func newPushCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "push", Short: "Publish configuration for Landfall to deploy",
		Example: "  landfall push artifact ./deploy oci://registry.example.com/shop/config:1.4.0 --username ci"}
	cmd.AddCommand(newPushArtifactCmd())
	return cmd
}

func newPushArtifactCmd() *cobra.Command {
	var user, caFile string
	cmd := &cobra.Command{
		Use:   "artifact DIR oci://HOST/REPO:TAG",
		Short: "Package a folder of manifests or a Kustomize tree as an OCI artifact and push it",
		Long: `Push packages DIR (its regular files and folders; .git is left out, a symlink is refused)
as a reproducible gzipped tar and pushes it to the registry, for a Repository whose url is
oci://HOST/REPO to deploy. It prints the reference with the manifest's digest.

Credentials: --username with the password in LANDFALL_REGISTRY_PASSWORD, or a bearer token in
LANDFALL_REGISTRY_TOKEN; --ca-file trusts a private certificate authority.`,
		Example: `  # In CI, after the manifests are rendered or checked
  LANDFALL_REGISTRY_PASSWORD=… landfall push artifact ./deploy oci://registry.example.com/shop/config:1.4.0 --username ci`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return nil, cobra.ShellCompDirectiveFilterDirs
			}
			return nil, noFiles
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			auth := source.Auth{Username: user, Password: os.Getenv("LANDFALL_REGISTRY_PASSWORD"), BearerToken: os.Getenv("LANDFALL_REGISTRY_TOKEN")}
			if caFile != "" {
				data, err := os.ReadFile(caFile)
				if err != nil {
					return err
				}
				auth.CAData = data
			}
			digest, err := chart.PushArtifact(cmd.Context(), args[1], args[0], auth)
			if err != nil {
				return err
			}
			ref := strings.TrimPrefix(args[1], "oci://")
			if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
				ref = ref[:i]
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed oci://%s@%s (%s)\n", ref, digest, args[1])
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "username", "", "registry user name (password in LANDFALL_REGISTRY_PASSWORD)")
	cmd.Flags().StringVar(&caFile, "ca-file", "", "PEM file of extra certificate authorities to trust")
	return cmd
}
