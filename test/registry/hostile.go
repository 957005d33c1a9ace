package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Media types of a Helm chart and of an artifact of configuration in a registry.
const (
	chartLayer     = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	chartConfig    = "application/vnd.cncf.helm.config.v1+json"
	artifactLayer  = "application/vnd.landfall.content.v1.tar+gzip"
	artifactConfig = "application/vnd.landfall.config.v1+json"
)

// PushHugeChart pushes to <repo>:<tag> a Helm chart manifest whose chart layer claims
// 2 GiB: the registry keeps the manifest as it is (it checks only that the blob exists),
// as a hostile or broken registry would serve it.
func (r *Registry) PushHugeChart(t testing.TB, repo, tag string) {
	t.Helper()
	r.pushManifest(t, repo, tag, chartConfig, []byte(`{"name":"huge","version":"1.0.0"}`), chartLayer, []byte("tiny"), 2<<30)
}

// PushHugeArtifact pushes to <repo>:<tag> an artifact manifest whose content layer claims
// size bytes, though the blob is a few bytes.
func (r *Registry) PushHugeArtifact(t testing.TB, repo, tag string, size int64) {
	t.Helper()
	r.pushManifest(t, repo, tag, artifactConfig, []byte("{}"), artifactLayer, []byte("tiny"), size)
}

// PushArtifactLayer pushes to <repo>:<tag> an artifact whose content layer is layer as
// given (any gzipped tar, however it expands), and returns the manifest's digest.
func (r *Registry) PushArtifactLayer(t testing.TB, repo, tag string, layer []byte) string {
	t.Helper()
	return r.pushManifest(t, repo, tag, artifactConfig, []byte("{}"), artifactLayer, layer, int64(len(layer)))
}

// pushManifest pushes config and layer blobs and a manifest naming them, the layer's size
// given as size, and returns the manifest's digest.
func (r *Registry) pushManifest(t testing.TB, repo, tag, configType string, config []byte, layerType string, layer []byte, size int64) string {
	t.Helper()
	ctx := context.Background()
	rp, err := remote.NewRepository(r.Host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	rp.Client = &auth.Client{Client: r.Client(), Cache: auth.NewCache(),
		Credential: auth.StaticCredential(r.Host, auth.Credential{Username: r.Username, Password: r.Password})}
	push := func(mediaType string, b []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if ok, err := rp.Exists(ctx, d); err == nil && ok {
			return d
		}
		if err := rp.Push(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := push(configType, config)
	l := push(layerType, layer)
	l.Size = size
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfg, Layers: []ocispec.Descriptor{l}})
	if err != nil {
		t.Fatal(err)
	}
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := rp.PushReference(ctx, md, bytes.NewReader(m), tag); err != nil {
		t.Fatal(err)
	}
	return md.Digest.String()
}

// CorruptBlob overwrites the stored bytes of the blob with digest d by as many other bytes,
// as a failing disk or a tampering mirror would: the registry serves them under the same
// digest and size, and only a client that hashes what it reads notices.
func (r *Registry) CorruptBlob(t testing.TB, d string) {
	t.Helper()
	dg := digest.Digest(d)
	if err := dg.Validate(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(r.data, "docker", "registry", "v2", "blobs", dg.Algorithm().String(), dg.Encoded()[:2], dg.Encoded(), "data")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] ^= 0xff
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
