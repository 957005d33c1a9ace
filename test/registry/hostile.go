package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Media types of a Helm chart in a registry.
const (
	chartLayer  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	chartConfig = "application/vnd.cncf.helm.config.v1+json"
)

// PushHugeChart pushes to <repo>:<tag> a Helm chart manifest whose chart layer claims
// 2 GiB: the registry keeps the manifest as it is (it checks only that the blob exists),
// as a hostile or broken registry would serve it.
func (r *Registry) PushHugeChart(t testing.TB, repo, tag string) {
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
		if err := rp.Push(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := push(chartConfig, []byte(`{"name":"huge","version":"1.0.0"}`))
	layer := push(chartLayer, []byte("tiny"))
	layer.Size = 2 << 30
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfg, Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := rp.PushReference(ctx, md, bytes.NewReader(m), tag); err != nil {
		t.Fatal(err)
	}
}
