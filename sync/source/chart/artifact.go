package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/landfall-dev/landfall/sync/source"
)

// Media types of an artifact of configuration: a gzipped tar of a folder of manifests or a
// Kustomize tree. Flux's layer type is read too, so `flux push artifact` output deploys.
const (
	ArtifactLayerMediaType     = "application/vnd.landfall.content.v1.tar+gzip"
	ArtifactConfigMediaType    = "application/vnd.landfall.config.v1+json"
	fluxArtifactLayerMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
)

// Bounds of an artifact: as fetched, and as expanded (those of a Git checkout).
const (
	MaxArtifactBytes         int64 = 64 << 20
	MaxArtifactExpandedBytes int64 = 256 << 20
	MaxArtifactFiles               = 50_000
)

// ArtifactSpec is an OCI artifact of configuration, as plain values.
type ArtifactSpec struct {
	// URL is oci://host/repository.
	URL string
	// Exactly one of Tag, SemVer (a range over tags, the highest wins) and Digest (the
	// manifest's, sha256:…).
	Tag, SemVer, Digest string
	Auth                source.Auth
}

// Artifact resolves the artifact's tag, range or digest to its manifest, fetches its
// content unless cached, and leases it expanded. The revision is <tag>@<manifest digest>
// (the digest alone for a pinned digest). When want has a digest, the manifest must have it.
func (c *Client) Artifact(ctx context.Context, spec ArtifactSpec, want source.Revision) (*source.Checkout, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	u, err := url.Parse(spec.URL)
	if err != nil || u.Scheme != "oci" || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not oci://host/repository", source.ErrInvalidURL, redact(spec.URL))
	}
	reg, err := newRegistry(&url.URL{Scheme: "oci", Host: u.Host}, spec.Auth)
	if err != nil {
		return nil, err
	}
	name := strings.Trim(u.Path, "/")
	repo, err := reg.repo(name)
	if err != nil {
		return nil, err
	}
	ref, tag := spec.Digest, ""
	switch {
	case want.Digest != "":
		ref, tag = want.Digest, want.Ref
	case spec.Digest == "":
		version := spec.Tag
		if spec.SemVer != "" {
			version = spec.SemVer
		}
		if tag, err = pickTag(ctx, repo, version); err != nil {
			return nil, reg.wrap(name, err)
		}
		if spec.Tag != "" {
			tag = spec.Tag // a tag need not be a version
		}
		ref = tag
	}
	manifest, layer, err := artifactLayer(ctx, repo, ref)
	if err != nil {
		return nil, reg.wrap(name+"@"+ref, err)
	}
	rev := source.Revision{Ref: tag, Digest: manifest.Digest.String()}
	if co, ok := c.Cached(rev); ok {
		return co, nil
	}
	v, err, _ := c.flight.Do(rev.Digest, func() (any, error) {
		data, err := c.cachedBlob("artifact "+spec.URL, layer.Digest.String(), func() ([]byte, error) {
			rc, err := repo.Fetch(ctx, layer)
			if err != nil {
				return nil, reg.wrap(name+"@"+ref, err)
			}
			defer rc.Close()
			return readBlob(rc, layer, "artifact "+spec.URL+" "+ref)
		})
		if err != nil {
			return nil, err
		}
		return c.expand(rev, data)
	})
	if err != nil {
		return nil, err
	}
	return source.NewCheckout(v.(string), rev, func() {}), nil
}

// artifactLayer reads the manifest at ref and its content layer, refusing one larger than
// MaxArtifactBytes before any of it is fetched.
func artifactLayer(ctx context.Context, repo interface {
	FetchReference(context.Context, string) (ocispec.Descriptor, io.ReadCloser, error)
}, ref string) (ocispec.Descriptor, ocispec.Descriptor, error) {
	m, desc, err := readManifest(ctx, repo, ref)
	if err != nil {
		return desc, ocispec.Descriptor{}, err
	}
	for _, l := range m.Layers {
		if l.MediaType != ArtifactLayerMediaType && l.MediaType != fluxArtifactLayerMediaType {
			continue
		}
		if l.Size > MaxArtifactBytes || l.Size < 0 {
			return desc, l, fmt.Errorf("content layer of %d bytes, over %d (MaxArtifactBytes): %w", l.Size, MaxArtifactBytes, source.ErrTooLarge)
		}
		return desc, l, nil
	}
	return desc, ocispec.Descriptor{}, fmt.Errorf("%w: the manifest has no layer of type %s", ErrNotFound, ArtifactLayerMediaType)
}

// expand writes the artifact's files into a directory of this process's cache: regular
// files and folders only, names that stay inside, within the checkout bounds.
func (c *Client) expand(rev source.Revision, data []byte) (string, error) {
	tmp, err := os.MkdirTemp(filepath.Join(c.opts.CacheDir, "tmp"), "artifact-*")
	if err != nil {
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	if err := untar(tmp, data); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("artifact %s: %w", rev, err)
	}
	return c.keep(tmp, rev.Digest)
}

func untar(dir string, data []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	cr := &limited{r: zr, left: MaxArtifactExpandedBytes}
	tr := tar.NewReader(cr)
	var declared int64 // the sizes the headers give, summed: refused before their bytes are read
	for files := 0; ; files++ {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return cr.explain(err)
		}
		if files >= MaxArtifactFiles {
			return fmt.Errorf("more than %d entries (MaxArtifactFiles): %w", MaxArtifactFiles, source.ErrTooManyFiles)
		}
		name := strings.TrimPrefix(path.Clean("/"+hd.Name), "/")
		if name == "" || strings.Contains(hd.Name, "..") || path.IsAbs(hd.Name) {
			return fmt.Errorf("entry %q: %w: its name leaves the artifact", hd.Name, ErrArchive)
		}
		if declared += hd.Size; hd.Size < 0 || declared > MaxArtifactExpandedBytes {
			return fmt.Errorf("entry %q of %d bytes: expands past %d bytes (MaxArtifactExpandedBytes): %w", hd.Name, hd.Size, MaxArtifactExpandedBytes, source.ErrTooLarge)
		}
		full := filepath.Join(dir, filepath.FromSlash(name))
		switch hd.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(full, 0o700)
		case tar.TypeReg:
			err = writeEntry(full, tr)
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
		default:
			return fmt.Errorf("entry %q: %w: not a regular file or folder (type %q)", hd.Name, ErrArchive, hd.Typeflag)
		}
		if err != nil {
			return cr.explain(err)
		}
	}
}

func writeEntry(full string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(full, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}

// limited fails once more than left bytes were read.
type limited struct {
	r    io.Reader
	left int64
	over bool
}

var errExpanded = errors.New("expanded bytes exhausted")

func (l *limited) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.left -= int64(n); l.left < 0 {
		l.over = true
		return 0, errExpanded
	}
	return n, err
}

func (l *limited) explain(err error) error {
	if l.over {
		return fmt.Errorf("expands past %d bytes (MaxArtifactExpandedBytes): %w", MaxArtifactExpandedBytes, source.ErrTooLarge)
	}
	return err
}
