package source

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/sync/singleflight"
	"golang.org/x/sys/unix"
)

// Defaults for zero Options fields.
const (
	DefaultMaxCacheBytes   int64 = 2 << 30
	DefaultMaxCacheEntries       = 256
	DefaultMaxRepoBytes    int64 = 256 << 20
	DefaultMaxFiles              = 50_000
	DefaultMaxObjectBytes  int64 = 64 << 20
	DefaultTimeout               = time.Minute
)

// Options configure a Client. Zero values take the defaults above.
type Options struct {
	// CacheDir is the root of the checkout cache; required. The Client owns it.
	CacheDir string
	// MaxCacheBytes and MaxCacheEntries bound the cache; checkouts in use are kept.
	MaxCacheBytes   int64
	MaxCacheEntries int
	// MaxRepoBytes bounds one checkout's bytes; the fetched Git data may be twice that.
	MaxRepoBytes int64
	// MaxFiles bounds one checkout's files and symlinks.
	MaxFiles int
	// MaxObjectBytes bounds one Git object (a file, a tree) in a fetched pack, checked
	// from the object's header before it is inflated.
	MaxObjectBytes int64
	// AllowHTTP permits plain http:// URLs.
	AllowHTTP bool
	// Timeout bounds each remote operation (remote check, fetch) whose caller's context
	// has no deadline; a caller's deadline, longer or shorter, bounds it instead.
	Timeout time.Duration
}

// Stats counts remote operations since the Client was made.
type Stats struct {
	// RemoteChecks counts ref advertisements read (every Check, Checkout and ListRefs).
	RemoteChecks int64
	// Fetches counts object fetches, each one producing a new checkout.
	Fetches int64
	// CacheHits counts Checkouts served from the cache without a fetch.
	CacheHits int64
	// Verifications counts full verifications of cached checkouts against their commits;
	// VerifyFailures counts those (and the quick re-checks) that failed and discarded one.
	Verifications, VerifyFailures int64
	// MetadataComparisons counts the quick re-checks: walks of a whole checkout's file
	// metadata (a lease of a watched, untouched checkout needs none).
	MetadataComparisons int64
}

// Client fetches and caches Git checkouts. It is safe for concurrent use; use one per
// process so every caller shares the cache.
type Client struct {
	opts   Options
	cache  *diskCache
	watch  *treeWatch
	flight singleflight.Group

	remoteChecks, fetches, cacheHits atomic.Int64
	verifications, verifyFailures    atomic.Int64
	comparisons                      atomic.Int64
}

// New makes a Client, cleaning leftovers of interrupted fetches from the cache directory.
func New(opts Options) (*Client, error) {
	if opts.CacheDir == "" {
		return nil, errors.New("source: Options.CacheDir is required")
	}
	if opts.MaxCacheBytes < 0 || opts.MaxCacheEntries < 0 || opts.MaxRepoBytes < 0 ||
		opts.MaxFiles < 0 || opts.MaxObjectBytes < 0 || opts.Timeout < 0 {
		return nil, errors.New("source: limits and timeout must not be negative")
	}
	opts.MaxCacheBytes = or(opts.MaxCacheBytes, DefaultMaxCacheBytes)
	opts.MaxCacheEntries = or(opts.MaxCacheEntries, DefaultMaxCacheEntries)
	opts.MaxRepoBytes = or(opts.MaxRepoBytes, DefaultMaxRepoBytes)
	opts.MaxFiles = or(opts.MaxFiles, DefaultMaxFiles)
	opts.MaxObjectBytes = or(opts.MaxObjectBytes, DefaultMaxObjectBytes)
	opts.Timeout = or(opts.Timeout, DefaultTimeout)
	cache, err := openCache(opts.CacheDir, opts.MaxCacheBytes, opts.MaxCacheEntries)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	c := &Client{opts: opts, cache: cache, watch: newTreeWatch()}
	if c.watch.fd >= 0 {
		runtime.AddCleanup(c, func(fd int) { _ = unix.Close(fd) }, c.watch.fd)
	}
	return c, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Stats returns the operation counters.
func (c *Client) Stats() Stats {
	return Stats{RemoteChecks: c.remoteChecks.Load(), Fetches: c.fetches.Load(), CacheHits: c.cacheHits.Load(),
		Verifications: c.verifications.Load(), VerifyFailures: c.verifyFailures.Load(), MetadataComparisons: c.comparisons.Load()}
}

// CacheUsage returns the bytes and number of checkouts in the cache.
func (c *Client) CacheUsage() (bytes int64, entries int) { return c.cache.usage() }

// Check resolves ref against the remote's advertised refs, without fetching objects. It
// authenticates even for a pinned commit, whose existence it cannot prove without a
// fetch: Checkout does that.
func (c *Client) Check(ctx context.Context, url string, ref Ref, auth Auth) (Revision, error) {
	req, err := c.prepare(url, ref, auth)
	if err != nil {
		return Revision{}, err
	}
	advertised, err := c.list(ctx, req)
	if err != nil {
		return Revision{}, err
	}
	rev, _, err := resolve(ref, advertised)
	if err != nil {
		return Revision{}, fmt.Errorf("resolving %s in %s: %w", ref, req.ep.redacted, err)
	}
	return rev, nil
}

// ListRefs returns the remote refs whose full names match any glob (path.Match syntax,
// e.g. "refs/pull/*/head"), mapped to the commits they point to.
func (c *Client) ListRefs(ctx context.Context, url string, globs []string, auth Auth) (map[string]string, error) {
	if err := validGlobs(globs); err != nil {
		return nil, err
	}
	req, err := c.prepare(url, Ref{Commit: zeroCommit}, auth)
	if err != nil {
		return nil, err
	}
	advertised, err := c.list(ctx, req)
	if err != nil {
		return nil, err
	}
	return advertised.match(globs)
}

// zeroCommit is a placeholder ref for operations that take no ref.
const zeroCommit = "0000000000000000000000000000000000000000"

// request is a validated remote operation.
type request struct {
	ep     endpoint
	ref    Ref
	method transport.AuthMethod
	ca     []byte
}

// prepare validates the URL, ref and credentials before anything touches the network.
func (c *Client) prepare(rawURL string, ref Ref, auth Auth) (request, error) {
	ep, err := parseURL(rawURL, c.opts.AllowHTTP)
	if err != nil {
		return request{}, err
	}
	if err := ref.Validate(); err != nil {
		return request{}, err
	}
	method, err := auth.method(ep)
	if err != nil {
		return request{}, fmt.Errorf("%s: %w", ep.redacted, err)
	}
	return request{ep: ep, ref: ref, method: method, ca: auth.CAData}, nil
}

// bounds are the limits of one remote operation's HTTP answers.
func (c *Client) bounds(req request) *remoteBounds {
	return &remoteBounds{ca: req.ca, maxAnswer: 2*c.opts.MaxRepoBytes + MaxPrePackBytes}
}

// list reads the remote's advertised refs, peeled tags included.
func (c *Client) list(ctx context.Context, req request) (refMap, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	c.remoteChecks.Add(1)
	bounds := c.bounds(req)
	bounds.listing = true
	viaSSH, end := sshProxy(req.ep, bounds)
	defer end()
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{req.ep.url}})
	refs, err := remote.ListContext(withBounds(ctx, bounds), &git.ListOptions{
		Auth: req.method, PeelingOption: git.AppendPeeled, ProxyOptions: viaSSH,
	})
	if lim := bounds.exceeded(); lim != nil {
		err = lim
	}
	if err != nil {
		return nil, classify("listing refs of", req.ep.redacted, err)
	}
	out := make(refMap, len(refs))
	for _, r := range refs {
		if r.Hash().IsZero() {
			continue // symbolic refs such as HEAD
		}
		out[r.Name().String()] = r.Hash().String()
	}
	return out, nil
}
