package chart_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
	"github.com/landfall-dev/landfall/test/registry"
	"github.com/landfall-dev/landfall/test/testca"
)

// TestArtifactLimits: an artifact over a bound is refused with the bound named, and no
// file of it is left in the cache: a layer the manifest says is over MaxArtifactBytes
// before any of it is fetched (the blob is a few bytes, so a fetch would fail otherwise);
// a layer that expands past MaxArtifactExpandedBytes, refused from its tar header before
// the entry's bytes are read (a header claiming too much over a short stream is refused
// for the bound, not for the stream); one of more than MaxArtifactFiles entries.
func TestArtifactLimits(t *testing.T) {
	reg := registry.Start(t, testca.New(t))
	auth := source.Auth{Username: reg.Username, Password: reg.Password, CAData: reg.CA.PEM}
	reg.PushHugeArtifact(t, "config/huge", "1.0.0", chart.MaxArtifactBytes+1)
	reg.PushHugeArtifact(t, "config/huger", "1.0.0", 2<<30)
	bomb := registry.ZerosLayer(t, chart.MaxArtifactExpandedBytes+1)
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes as pushed, meant to be small", len(bomb))
	}
	reg.PushArtifactLayer(t, "config/bomb", "1.0.0", bomb)
	reg.PushArtifactLayer(t, "config/truncated", "1.0.0", registry.TruncatedLayer(t, chart.MaxArtifactExpandedBytes+1))
	reg.PushArtifactLayer(t, "config/many", "1.0.0", registry.ManyFilesLayer(t, chart.MaxArtifactFiles+1))
	for _, tc := range []struct {
		repo, want string
		is         error
	}{
		{"config/huge", "67108865 bytes, over 67108864 (MaxArtifactBytes)", source.ErrTooLarge},
		{"config/huger", "2147483648 bytes, over 67108864 (MaxArtifactBytes)", source.ErrTooLarge},
		{"config/bomb", "expands past 268435456 bytes (MaxArtifactExpandedBytes)", source.ErrTooLarge},
		{"config/truncated", "entry \"zeros.yaml\" of 268435457 bytes: expands past 268435456 bytes (MaxArtifactExpandedBytes)", source.ErrTooLarge},
		{"config/many", "more than 50000 entries (MaxArtifactFiles)", source.ErrTooManyFiles},
	} {
		t.Run(strings.TrimPrefix(tc.repo, "config/"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			c, err := chart.New(chart.Options{CacheDir: dir})
			must(t, err)
			_, err = c.Artifact(context.Background(), chart.ArtifactSpec{URL: "oci://" + reg.Host + "/" + tc.repo, Tag: "1.0.0", Auth: auth}, source.Revision{})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v naming %q", err, tc.is, tc.want)
			}
			expectNoTrees(t, dir)
		})
	}
}

// expectNoTrees fails when the cache holds a laid-out tree or a temporary one.
func expectNoTrees(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"trees", "tmp"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		must(t, err)
		if len(entries) != 0 {
			t.Errorf("%s/ holds %d entries after a refusal", sub, len(entries))
		}
	}
}

// TestCorruptLayerRefused: a registry serving, under a layer's digest and size, bytes that
// do not hash to it (its storage corrupted) is refused as a digest mismatch, for a chart
// and for an artifact; nothing is cached.
func TestCorruptLayerRefused(t *testing.T) {
	reg := registry.Start(t, testca.New(t))
	auth := source.Auth{Username: reg.Username, Password: reg.Password, CAData: reg.CA.PEM}
	src, out := t.TempDir(), t.TempDir()
	app := filepath.Join(out, "app-1.0.0.tgz")
	writeFile(t, app, packNoVendor(t, writeChart(t, src, "app", "1.0.0", "app-one", "")))
	reg.PushChart(t, app, "charts")
	reg.CorruptBlob(t, digestOfFile(t, app))

	layer := registry.Layer(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n"})
	reg.PushArtifactLayer(t, "config/app", "1.0.0", layer)
	reg.CorruptBlob(t, digest.FromBytes(layer).String())

	for name, fetch := range map[string]func(*chart.Client) error{
		"chart": func(c *chart.Client) error {
			_, err := c.Checkout(context.Background(), ociSpec(reg, "app", "1.0.0"), source.Revision{})
			return err
		},
		"artifact": func(c *chart.Client) error {
			_, err := c.Artifact(context.Background(), chart.ArtifactSpec{URL: "oci://" + reg.Host + "/config/app", Tag: "1.0.0", Auth: auth}, source.Revision{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			c, err := chart.New(chart.Options{CacheDir: dir})
			must(t, err)
			if err := fetch(c); !errors.Is(err, chart.ErrDigestMismatch) {
				t.Fatalf("a corrupt layer: %v, want %v", err, chart.ErrDigestMismatch)
			}
			expectNoTrees(t, dir)
			blobs, err := os.ReadDir(filepath.Join(dir, "blobs"))
			must(t, err)
			if len(blobs) != 0 {
				t.Errorf("blobs/ holds %d entries after a refusal", len(blobs))
			}
		})
	}
}
