//go:build tools

// Package tools pins controller-gen, which generates the API types' deepcopy code and the
// CRDs (make generate, make manifests). A module of its own, aligned with Landfall's by
// hack/align-tools.sh, so the Kubernetes packages it shares with Landfall compile once.
package tools

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
