//go:build tools

// Package tools pins Gitea, the Git forge the test harness starts (test/forge): pull requests,
// commit statuses, comments and signed webhooks from a real forge.
package tools

import _ "gitea.dev"
