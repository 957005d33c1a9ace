//go:build tools

// Package tools pins the official kustomize and helm CLIs, which the render parity tests
// compare Landfall's in-process rendering against. They are built by hack/testbin.sh.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
	_ "sigs.k8s.io/kustomize/kustomize/v5"
)
