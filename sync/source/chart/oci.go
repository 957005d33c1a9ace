package chart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/Masterminds/semver/v3"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/landfall-dev/landfall/sync/source"
)

// Media types of a Helm chart in a registry.
const (
	ChartLayerMediaType  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	ChartConfigMediaType = "application/vnd.cncf.helm.config.v1+json"
)

// Bounds of a registry's answers.
const (
	// MaxManifestBytes bounds a manifest and a page of tags.
	MaxManifestBytes int64 = 4 << 20
	// MaxTags bounds the tags listed to match a range.
	MaxTags = 10_000
)

// registry is a repository prefix in an OCI registry; a chart is <prefix>/<name>.
type registry struct {
	host, prefix string
	client       *auth.Client
	plainHTTP    bool
}

func newRegistry(u *url.URL, cred source.Auth) (*registry, error) {
	hc, err := httpClient(u.Host, cred.CAData)
	if err != nil {
		return nil, err
	}
	c := &auth.Client{Client: hc, Cache: auth.NewCache()}
	switch {
	case cred.Username != "" && cred.BearerToken != "":
		return nil, fmt.Errorf("%w: set username and password, or bearerToken, not both", source.ErrInvalidAuth)
	case cred.BearerToken != "":
		c.Credential = auth.StaticCredential(u.Host, auth.Credential{AccessToken: cred.BearerToken})
	case cred.Username != "" || cred.Password != "":
		c.Credential = auth.StaticCredential(u.Host, auth.Credential{Username: cred.Username, Password: cred.Password})
	}
	return &registry{host: u.Host, prefix: strings.Trim(u.Path, "/"), client: c}, nil
}

func (r *registry) repo(name string) (*remote.Repository, error) {
	ref := r.host + "/" + strings.TrimPrefix(r.prefix+"/"+name, "/")
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: oci://%s: %w", source.ErrInvalidURL, ref, err)
	}
	repo.Client, repo.PlainHTTP, repo.MaxMetadataBytes = r.client, r.plainHTTP, MaxManifestBytes
	return repo, nil
}

func (r *registry) resolve(ctx context.Context, chart, version string) (source.Revision, error) {
	repo, err := r.repo(chart)
	if err != nil {
		return source.Revision{}, err
	}
	tag, err := pickTag(ctx, repo, version)
	if err != nil {
		return source.Revision{}, r.wrap(chart, err)
	}
	layer, err := chartLayer(ctx, repo, tag)
	if err != nil {
		return source.Revision{}, r.wrap(chart+":"+tag, err)
	}
	return source.Revision{Ref: strings.ReplaceAll(tag, "_", "+"), Digest: layer.Digest.String()}, nil
}

func (r *registry) archive(ctx context.Context, chart string, rev source.Revision) ([]byte, error) {
	repo, err := r.repo(chart)
	if err != nil {
		return nil, err
	}
	tag := strings.ReplaceAll(rev.Ref, "+", "_")
	layer, err := chartLayer(ctx, repo, tag)
	if err != nil {
		return nil, r.wrap(chart+":"+tag, err)
	}
	if layer.Digest.String() != rev.Digest {
		return nil, fmt.Errorf("chart %s %s: %w: the registry's layer is %s, the revision is %s", chart, rev.Ref, ErrDigestMismatch, layer.Digest, rev.Digest)
	}
	rc, err := repo.Fetch(ctx, layer)
	if err != nil {
		return nil, r.wrap(chart+":"+tag, err)
	}
	defer rc.Close()
	return readBlob(rc, layer, fmt.Sprintf("chart %s %s from oci://%s", chart, rev.Ref, r.host))
}

// readBlob reads exactly the descriptor's size (checked against a bound before the fetch)
// and verifies the digest: bytes that do not hash to it, or more bytes than it says, are
// ErrDigestMismatch.
func readBlob(rc io.Reader, desc ocispec.Descriptor, label string) ([]byte, error) {
	data, err := content.ReadAll(rc, desc)
	switch {
	case errors.Is(err, content.ErrMismatchedDigest), errors.Is(err, content.ErrTrailingData):
		return nil, fmt.Errorf("%s: %w: the layer's bytes are not %s: %w", label, ErrDigestMismatch, desc.Digest, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return data, nil
}

// pickTag is the tag of an exact version, or the highest tag a range matches. Helm writes
// "+" in versions as "_" in tags.
func pickTag(ctx context.Context, repo *remote.Repository, version string) (string, error) {
	if v, err := semver.StrictNewVersion(version); err == nil {
		return strings.ReplaceAll(v.Original(), "+", "_"), nil
	}
	rng, err := semver.NewConstraint(or(version, "*"))
	if err != nil {
		return "", fmt.Errorf("%w: version %q is neither a version nor a range: %w", source.ErrInvalidRef, version, err)
	}
	var best *semver.Version
	seen := 0
	err = repo.Tags(ctx, "", func(tags []string) error {
		for _, t := range tags {
			if seen++; seen > MaxTags {
				return fmt.Errorf("more than %d tags: %w", MaxTags, source.ErrLimit)
			}
			v, err := semver.NewVersion(strings.ReplaceAll(t, "_", "+"))
			if err == nil && rng.Check(v) && (best == nil || v.GreaterThan(best)) {
				best = v
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if best == nil {
		return "", fmt.Errorf("%w: no tag matches %q", ErrNotFound, version)
	}
	return strings.ReplaceAll(best.Original(), "+", "_"), nil
}

// chartLayer reads the manifest of tag and returns its chart layer, refusing one larger
// than MaxChartBytes before any of it is fetched.
func chartLayer(ctx context.Context, repo *remote.Repository, tag string) (ocispec.Descriptor, error) {
	m, _, err := readManifest(ctx, repo, tag)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, l := range m.Layers {
		if l.MediaType != ChartLayerMediaType {
			continue
		}
		if l.Size > MaxChartBytes || l.Size < 0 {
			return ocispec.Descriptor{}, fmt.Errorf("chart layer of %d bytes, over %d (MaxChartBytes): %w", l.Size, MaxChartBytes, source.ErrTooLarge)
		}
		if l.Digest.Algorithm() != "sha256" || l.Digest.Validate() != nil {
			return ocispec.Descriptor{}, fmt.Errorf("chart layer digest %q is not sha256", l.Digest)
		}
		return l, nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("%w: the manifest has no layer of type %s (not a Helm chart)", ErrNotFound, ChartLayerMediaType)
}

// readManifest reads the image manifest at ref, at most MaxManifestBytes, its digest
// checked.
func readManifest(ctx context.Context, repo interface {
	FetchReference(context.Context, string) (ocispec.Descriptor, io.ReadCloser, error)
}, ref string) (ocispec.Manifest, ocispec.Descriptor, error) {
	var m ocispec.Manifest
	desc, rc, err := repo.FetchReference(ctx, ref)
	if err != nil {
		return m, desc, err
	}
	defer rc.Close()
	if desc.Size > MaxManifestBytes {
		return m, desc, fmt.Errorf("manifest of %d bytes, over %d: %w", desc.Size, MaxManifestBytes, source.ErrTooLarge)
	}
	data, err := content.ReadAll(rc, desc)
	if err != nil {
		return m, desc, fmt.Errorf("manifest: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, desc, fmt.Errorf("manifest: %w", err)
	}
	return m, desc, nil
}

// wrap names the place and maps the registry's refusals to the source errors.
func (r *registry) wrap(what string, err error) error {
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("oci://%s/%s: %w (%d)", r.host, strings.TrimPrefix(r.prefix+"/"+what, "/"), source.ErrAuthentication, resp.StatusCode)
		case http.StatusNotFound:
			return fmt.Errorf("oci://%s/%s: %w", r.host, strings.TrimPrefix(r.prefix+"/"+what, "/"), ErrNotFound)
		}
	}
	return fmt.Errorf("oci://%s/%s: %w", r.host, strings.TrimPrefix(r.prefix+"/"+what, "/"), err)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
