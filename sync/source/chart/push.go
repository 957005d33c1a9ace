package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/landfall-dev/landfall/sync/source"
)

// PushArtifact packages dir (its regular files and folders; .git left out; a symlink is
// refused) as a gzipped tar and pushes it to ref, oci://host/repo:tag, and returns
// the manifest's digest. The archive is reproducible: the same files give the same digest.
func PushArtifact(ctx context.Context, ref, dir string, auth source.Auth) (string, error) {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "oci" || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not oci://host/repo:tag", source.ErrInvalidURL, redact(ref))
	}
	name, tag, ok := strings.Cut(strings.Trim(u.Path, "/"), ":")
	if !ok || tag == "" || name == "" {
		return "", fmt.Errorf("%w: %q names no tag (oci://host/repo:tag)", source.ErrInvalidURL, redact(ref))
	}
	layerData, err := tarDir(dir)
	if err != nil {
		return "", err
	}
	reg, err := newRegistry(&url.URL{Scheme: "oci", Host: u.Host}, auth)
	if err != nil {
		return "", err
	}
	repo, err := reg.repo(name)
	if err != nil {
		return "", err
	}
	push := func(mediaType string, b []byte) (ocispec.Descriptor, error) {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if ok, err := repo.Exists(ctx, d); err == nil && ok {
			return d, nil
		}
		return d, repo.Push(ctx, d, bytes.NewReader(b))
	}
	cfg, err := push(ArtifactConfigMediaType, []byte("{}"))
	if err != nil {
		return "", reg.wrap(name, err)
	}
	layer, err := push(ArtifactLayerMediaType, layerData)
	if err != nil {
		return "", reg.wrap(name, err)
	}
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactConfigMediaType, Config: cfg, Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		return "", err
	}
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := repo.PushReference(ctx, md, bytes.NewReader(m), tag); err != nil {
		return "", reg.wrap(name+":"+tag, err)
	}
	return md.Digest.String(), nil
}

// tarDir is dir as a gzipped tar, entries in lexical order with fixed times and modes.
func tarDir(dir string) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Name: rel + "/", Typeflag: tar.TypeDir, Mode: 0o755, Format: tar.FormatPAX})
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: %w: only regular files and folders are packaged", rel, ErrArchive)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Typeflag: tar.TypeReg, Mode: 0o644, Size: st.Size(), Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("packaging %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
