// Package source fetches configuration from Git repositories with go-git, without the git
// binary.
//
// It resolves a ref (branch, tag, semver range over tags, or exact commit) to a commit with
// a cheap remote check that reads only the advertised refs, fetches shallow single-ref
// checkouts when the commit is not cached yet, and keeps the checkouts on disk, one
// directory per commit, shared by every caller of the same repository URL and bounded in
// size with least-recently-used eviction. Concurrent callers that need the same commit
// share one fetch.
//
// The package works on plain values: the controller reads Secrets and Repository specs and
// passes URLs, refs and credentials in. Credentials never appear in errors or String
// output, and user info is stripped from every URL shown. Fetched content is bounded in
// bytes and files, and a checkout whose symlinks leave it is refused.
//
// Webhook verification and parsing live in the webhook subpackage.
package source
