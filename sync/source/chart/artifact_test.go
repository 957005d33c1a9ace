package chart_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
	"github.com/landfall-dev/landfall/test/registry"
	"github.com/landfall-dev/landfall/test/testca"
)

// TestArtifactPushAndFetch: a folder pushed with PushArtifact comes back by tag, by semver
// range and by digest, file for file; a symlink is not packaged.
func TestArtifactPushAndFetch(t *testing.T) {
	reg := registry.Start(t, testca.New(t))
	auth := source.Auth{Username: reg.Username, Password: reg.Password, CAData: reg.CA.PEM}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "kustomization.yaml"), []byte("resources: [cm.yaml]\n"))
	must(t, os.MkdirAll(filepath.Join(dir, "base"), 0o755))
	writeFile(t, filepath.Join(dir, "base", "cm.yaml"), []byte("kind: ConfigMap\n"))
	ctx := context.Background()
	url := "oci://" + reg.Host + "/config/shop"
	d1, err := chart.PushArtifact(ctx, url+":1.0.0", dir, auth)
	must(t, err)
	again, err := chart.PushArtifact(ctx, url+":1.0.0", dir, auth)
	must(t, err)
	if again != d1 {
		t.Fatalf("the same folder pushed twice: %s, then %s", d1, again)
	}
	writeFile(t, filepath.Join(dir, "base", "cm.yaml"), []byte("kind: ConfigMap\nmetadata: {name: two}\n"))
	d2, err := chart.PushArtifact(ctx, url+":1.1.0", dir, auth)
	must(t, err)

	c := newClient(t)
	for _, tc := range []struct {
		spec chart.ArtifactSpec
		want string
	}{
		{chart.ArtifactSpec{URL: url, Tag: "1.0.0", Auth: auth}, "1.0.0@" + d1},
		{chart.ArtifactSpec{URL: url, SemVer: "^1.0.0", Auth: auth}, "1.1.0@" + d2},
		{chart.ArtifactSpec{URL: url, Digest: d1, Auth: auth}, d1},
	} {
		co, err := c.Artifact(ctx, tc.spec, source.Revision{})
		must(t, err)
		if co.Revision.String() != tc.want {
			t.Errorf("%+v: revision %s, want %s", tc.spec.Tag+tc.spec.SemVer+tc.spec.Digest, co.Revision, tc.want)
		}
		if _, err := os.Stat(filepath.Join(co.Dir, "base", "cm.yaml")); err != nil {
			t.Errorf("%s: %v", co.Revision, err)
		}
		co.Close()
	}
	// A past revision is fetched by its manifest digest, whatever the tag says now.
	past, err := newClient(t).Artifact(ctx, chart.ArtifactSpec{URL: url, SemVer: "^1.0.0", Auth: auth}, source.Revision{Ref: "1.0.0", Digest: d1})
	must(t, err)
	if past.Revision.String() != "1.0.0@"+d1 {
		t.Fatalf("past revision %s", past.Revision)
	}

	must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "link")))
	if _, err := chart.PushArtifact(ctx, url+":2.0.0", dir, auth); !errors.Is(err, chart.ErrArchive) {
		t.Fatalf("a symlink packaged: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
