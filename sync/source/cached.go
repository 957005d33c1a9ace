package source

import (
	"fmt"
	"regexp"
	"strings"
)

// Cached leases the checkout of a commit already in the cache, with no remote operation.
// Consumers of a revision that a Repository reconcile has just fetched (and so
// authenticated) use it to read the files without asking the Git server again; ok is
// false when the commit is not cached (never fetched, or evicted), and the caller falls
// back to Checkout. A cached checkout that fails verification is discarded: the error
// wraps ErrCheckoutMismatch, and Checkout fetches it again. The caller must Close the
// result.
func (c *Client) Cached(url string, rev Revision) (co *Checkout, ok bool, err error) {
	ep, err := parseURL(url, c.opts.AllowHTTP)
	if err != nil {
		return nil, false, err
	}
	if !fullSHA1.MatchString(rev.Commit) {
		return nil, false, fmt.Errorf("%w: commit %q is not a full SHA-1", ErrInvalidRef, rev.Commit)
	}
	e, ok, err := c.acquireVerified(ep.cacheKey() + "/" + rev.Commit)
	if err != nil {
		return nil, false, fmt.Errorf("checkout of %s in %s: %w", rev, ep.redacted, err)
	}
	if !ok {
		return nil, false, nil
	}
	c.cacheHits.Add(1)
	return c.lease(e, rev), true, nil
}

var sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ParseRevision reads the "<ref>@sha1:<commit>" (or "sha1:<commit>") form of
// Revision.String, and the "<version>@sha256:<hex>" form of a chart or artifact.
func ParseRevision(s string) (Revision, error) {
	if sha256Digest.MatchString(s) {
		return Revision{Digest: s}, nil
	}
	if i := strings.LastIndex(s, "@sha256:"); i >= 0 {
		if !sha256Digest.MatchString(s[i+1:]) {
			return Revision{}, fmt.Errorf("%w: revision %q is not <version>@sha256:<hex>", ErrInvalidRef, s)
		}
		return Revision{Ref: s[:i], Digest: s[i+1:]}, nil
	}
	ref, commit := "", s
	if i := strings.LastIndex(s, "@sha1:"); i >= 0 {
		ref, commit = s[:i], s[i+len("@sha1:"):]
	} else if rest, ok := strings.CutPrefix(s, "sha1:"); ok {
		commit = rest
	}
	if !fullSHA1.MatchString(commit) {
		return Revision{}, fmt.Errorf("%w: revision %q is not <ref>@sha1:<commit>", ErrInvalidRef, s)
	}
	return Revision{Ref: ref, Commit: commit}, nil
}

// NewCheckout is a lease of content another fetcher (charts, artifacts) keeps: release
// runs once, at Close.
func NewCheckout(dir string, rev Revision, release func()) *Checkout {
	return &Checkout{Dir: dir, Revision: rev, release: release}
}
