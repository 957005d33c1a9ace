// Package chart fetches Helm charts from chart repositories (an index.yaml over HTTPS) and
// OCI registries (oci://), for Repositories that name a chart.
//
// A version (or the highest version a semver range matches) resolves to the digest of its
// archive: the index's digest, or the chart layer's in the registry. The archive is fetched
// once, bounded in size while it is read, checked against that digest (a mismatch is
// refused), and kept in a cache by digest; a cached archive is hashed again on every read.
// The chart is then laid out as a directory for the renderer, which reads it offline: the
// archive is walked within the bounds and confinement of a vendored chart archive (names
// that leave the chart, links, devices, entry count, expanded bytes; render/helm) before
// Helm's loader reads it, and the dependencies Chart.yaml declares but the archive does not
// vendor are fetched from the same repository (or registry) the same way and vendored into
// charts/ as archives, where the renderer walks them again. A dependency from any other
// place is not fetched, so the render refuses it as before. Credentials go only to the host
// of the Repository's URL: an index whose URLs point to another host, or a redirect to one,
// is refused.
package chart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/landfall-dev/landfall/render/helm"
	"github.com/landfall-dev/landfall/sync/source"
)

// Bounds of what a fetch reads.
const (
	// MaxChartBytes bounds one chart archive as fetched (compressed).
	MaxChartBytes int64 = 16 << 20
	// MaxIndexBytes bounds a repository's index.yaml.
	MaxIndexBytes int64 = 32 << 20
	// MaxDependencies bounds the dependencies fetched for one chart.
	MaxDependencies = 64
)

// Errors, for errors.Is. Their messages are fit to show to users.
var (
	// ErrDigestMismatch means an archive is not the one its index or manifest names.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrOtherHost means an index or a redirect points to a host other than the repository's.
	ErrOtherHost = errors.New("points to another host")
	// ErrArchive means an archive entry leaves the chart, or is a link or a device.
	ErrArchive = helm.ErrArchive
	// ErrNotFound means the repository has no chart or version matching the request.
	ErrNotFound = errors.New("chart not found")
)

// Spec is one chart of one repository, as plain values.
type Spec struct {
	// URL is the repository: https://host/path (its index is URL/index.yaml) or
	// oci://host/path (the chart is oci://host/path/<Chart>).
	URL string
	// Chart is the chart's name.
	Chart string
	// Version is an exact version or a semver range; the highest match wins.
	Version string
	// Auth holds basic credentials or a bearer token, and extra CAs.
	Auth source.Auth
	// AllowHTTP allows a plain http:// repository.
	AllowHTTP bool
}

// Options configure a Client.
type Options struct {
	// CacheDir holds the archives (blobs/) and the laid-out charts (trees/).
	CacheDir string
	// Timeout bounds one fetch when the context has no deadline. Default 1m.
	Timeout time.Duration
}

// Client fetches charts. It is safe for concurrent use.
type Client struct {
	opts   Options
	flight singleflight.Group

	mu    sync.Mutex
	trees map[string]string // digest → directory laid out by this process
}

// New makes a Client, creating its cache directories.
func New(opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	for _, d := range []string{"blobs", "trees", "tmp"} {
		if err := os.MkdirAll(filepath.Join(opts.CacheDir, d), 0o700); err != nil {
			return nil, fmt.Errorf("chart cache: %w", err)
		}
	}
	// Trees of an earlier process are not trusted: each process lays out its own from
	// archives it hashes.
	_ = os.RemoveAll(filepath.Join(opts.CacheDir, "trees"))
	_ = os.RemoveAll(filepath.Join(opts.CacheDir, "tmp"))
	for _, d := range []string{"trees", "tmp"} {
		if err := os.MkdirAll(filepath.Join(opts.CacheDir, d), 0o700); err != nil {
			return nil, fmt.Errorf("chart cache: %w", err)
		}
	}
	return &Client{opts: opts, trees: map[string]string{}}, nil
}

// repository is what a fetch talks to: an index over HTTP(S) or a registry.
type repository interface {
	// resolve picks the version the range asks for and the digest of its archive.
	resolve(ctx context.Context, chart, version string) (source.Revision, error)
	// archive fetches the archive of an exact version, bounded and checked against digest.
	archive(ctx context.Context, chart string, rev source.Revision) ([]byte, error)
}

func (c *Client) open(spec Spec) (repository, error) {
	u, err := url.Parse(spec.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not a chart repository URL", source.ErrInvalidURL, redact(spec.URL))
	}
	u.User = nil
	switch u.Scheme {
	case "oci":
		return newRegistry(u, spec.Auth)
	case "https":
		return newIndex(u, spec.Auth)
	case "http":
		if !spec.AllowHTTP {
			return nil, fmt.Errorf("%w: plain http:// needs insecure", source.ErrInvalidURL)
		}
		return newIndex(u, spec.Auth)
	}
	return nil, fmt.Errorf("%w: %s: a chart repository is https:// or oci://", source.ErrInvalidURL, u.Redacted())
}

// Check resolves the version without fetching the archive.
func (c *Client) Check(ctx context.Context, spec Spec) (source.Revision, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	repo, err := c.open(spec)
	if err != nil {
		return source.Revision{}, err
	}
	return repo.resolve(ctx, spec.Chart, spec.Version)
}

// Checkout resolves the version, fetches the chart and its dependencies unless cached, and
// leases the laid-out chart. When want has a digest, the version resolved must have it.
func (c *Client) Checkout(ctx context.Context, spec Spec, want source.Revision) (*source.Checkout, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	repo, err := c.open(spec)
	if err != nil {
		return nil, err
	}
	version := spec.Version
	if want.Ref != "" {
		version = want.Ref
	}
	rev, err := repo.resolve(ctx, spec.Chart, version)
	if err != nil {
		return nil, err
	}
	if want.Digest != "" && rev.Digest != want.Digest {
		return nil, fmt.Errorf("chart %s %s: %w: the repository has %s, the revision is %s", spec.Chart, rev.Ref, ErrDigestMismatch, rev.Digest, want.Digest)
	}
	if co, ok := c.Cached(rev); ok {
		return co, nil
	}
	v, err, _ := c.flight.Do(rev.Digest, func() (any, error) {
		return c.layOut(ctx, repo, spec, rev)
	})
	if err != nil {
		return nil, err
	}
	return source.NewCheckout(v.(string), rev, func() {}), nil
}

// Cached leases a chart this process has laid out, with no remote operation.
func (c *Client) Cached(rev source.Revision) (*source.Checkout, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dir, ok := c.trees[rev.Digest]
	if !ok {
		return nil, false
	}
	return source.NewCheckout(dir, rev, func() {}), true
}

func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.opts.Timeout)
}

// blob returns the archive of rev: from the cache when it hashes to its digest, else
// fetched (and checked) and stored.
func (c *Client) blob(ctx context.Context, repo repository, chart string, rev source.Revision) ([]byte, error) {
	return c.cachedBlob(fmt.Sprintf("chart %s %s", chart, rev.Ref), rev.Digest, func() ([]byte, error) {
		return repo.archive(ctx, chart, rev)
	})
}

// cachedBlob returns the bytes of digest from the cache when they hash to it, else from
// fetch, checked and stored.
func (c *Client) cachedBlob(label, digest string, fetch func() ([]byte, error)) ([]byte, error) {
	hexDigest, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexDigest) != 64 {
		return nil, fmt.Errorf("%s: digest %q is not sha256:<hex>", label, digest)
	}
	file := filepath.Join(c.opts.CacheDir, "blobs", hexDigest+".tgz")
	if data, err := os.ReadFile(file); err == nil && digestOf(data) == digest {
		return data, nil
	}
	data, err := fetch()
	if err != nil {
		return nil, err
	}
	if got := digestOf(data); got != digest {
		return nil, fmt.Errorf("%s: %w: the archive is %s, its repository says %s", label, ErrDigestMismatch, got, digest)
	}
	tmp, err := os.CreateTemp(filepath.Join(c.opts.CacheDir, "tmp"), "blob-*")
	if err != nil {
		return nil, err
	}
	_, werr := tmp.Write(data)
	if err := errors.Join(werr, tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("chart cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return nil, fmt.Errorf("chart cache: %w", err)
	}
	return data, nil
}

// keep moves a finished tree into trees/<hex> and records it for its digest.
func (c *Client) keep(tmp, digest string) (string, error) {
	dir := filepath.Join(c.opts.CacheDir, "trees", strings.TrimPrefix(digest, "sha256:"))
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("chart cache: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trees[digest] = dir
	return dir, nil
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// redact drops user info from a URL for messages.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		u.User = nil
		return u.String()
	}
	return "<unparsable URL>"
}
