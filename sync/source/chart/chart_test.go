package chart_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
	"github.com/landfall-dev/landfall/test/helmrepo"
	"github.com/landfall-dev/landfall/test/testca"
)

func newClient(t testing.TB) *chart.Client {
	t.Helper()
	c, err := chart.New(chart.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func repoSpec(r *helmrepo.Repo, name, version string) chart.Spec {
	return chart.Spec{URL: r.URL, Chart: name, Version: version,
		Auth: source.Auth{Username: r.Username, Password: r.Password, CAData: r.CA.PEM}}
}

// renderChart renders a laid-out chart offline, as an Application environment would.
func renderChart(t *testing.T, co *source.Checkout) []string {
	t.Helper()
	res, err := render.New().Render(context.Background(), render.Input{Root: co.Dir, Namespace: "shop", ReleaseName: "shop",
		Revision: co.Revision.ID()})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var names []string
	for _, o := range res.Objects {
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	return names
}

func TestHelmRepositoryRangeDigestAndDependency(t *testing.T) {
	ca := testca.New(t)
	r := helmrepo.Serve(t, ca)
	src := t.TempDir()
	r.Package(t, writeChart(t, src, "lib", "1.0.0", "lib-config", ""))
	r.Package(t, writeChart(t, src, "app", "1.0.0", "app-one", ""))
	// 1.1.0 depends on lib from this repository and does not vendor it.
	r.Write(t, "app-1.1.0.tgz", packNoVendor(t, writeChart(t, src, "app", "1.1.0", "app-two", r.URL)))
	r.Package(t, writeChart(t, src, "app", "2.0.0", "app-three", ""))
	r.Index(t)

	c := newClient(t)
	co, err := c.Checkout(context.Background(), repoSpec(r, "app", ">=1.0.0 <2.0.0"), source.Revision{})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if co.Revision.Ref != "1.1.0" || !strings.HasPrefix(co.Revision.Digest, "sha256:") {
		t.Fatalf("revision %s, want 1.1.0@sha256:…", co.Revision)
	}
	if _, err := os.Stat(filepath.Join(co.Dir, "charts", "lib-1.0.0.tgz")); err != nil {
		t.Fatalf("the dependency is not vendored from the repository: %v", err)
	}
	got := strings.Join(renderChart(t, co), ",")
	if got != "ConfigMap/app-two,ConfigMap/lib-config" {
		t.Fatalf("rendered %s", got)
	}

	// Cached by digest: the same version again reads only the index.
	before := r.Requests()
	co2, err := c.Checkout(context.Background(), repoSpec(r, "app", ">=1.0.0 <2.0.0"), source.Revision{})
	if err != nil {
		t.Fatal(err)
	}
	co2.Close()
	if n := r.Requests() - before; n != 1 {
		t.Fatalf("a cached version cost %d requests, want 1 (the index)", n)
	}
	// A past revision by its version, checked against its digest.
	past, err := c.Checkout(context.Background(), repoSpec(r, "app", "*"), source.Revision{Ref: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	past.Close()
	_, err = c.Checkout(context.Background(), repoSpec(r, "app", "*"),
		source.Revision{Ref: "1.0.0", Digest: co.Revision.Digest})
	if !errors.Is(err, chart.ErrDigestMismatch) {
		t.Fatalf("a version whose digest is not the revision's: %v, want ErrDigestMismatch", err)
	}
}

func TestHelmRepositoryRefusals(t *testing.T) {
	ca := testca.New(t)
	r := helmrepo.Serve(t, ca)
	src := t.TempDir()
	tgz := r.Package(t, writeChart(t, src, "app", "1.0.0", "app-one", ""))
	r.Index(t)
	index, err := os.ReadFile(filepath.Join(r.Dir, "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("credentials", func(t *testing.T) {
		spec := repoSpec(r, "app", "1.0.0")
		spec.Auth.Password = "wrong"
		_, err := newClient(t).Checkout(context.Background(), spec, source.Revision{})
		if !errors.Is(err, source.ErrAuthentication) || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("wrong password: %v", err)
		}
	})
	t.Run("wrong digest", func(t *testing.T) {
		r.Write(t, "index.yaml", []byte(replaceDigest(t, string(index))))
		defer r.Write(t, "index.yaml", index)
		_, err := newClient(t).Checkout(context.Background(), repoSpec(r, "app", "1.0.0"), source.Revision{})
		if !errors.Is(err, chart.ErrDigestMismatch) {
			t.Fatalf("archive not matching the index's digest: %v", err)
		}
	})
	t.Run("another host", func(t *testing.T) {
		r.Write(t, "index.yaml", []byte(strings.Replace(string(index), "- app-1.0.0.tgz", "- https://127.0.0.2:1/app-1.0.0.tgz", 1)))
		defer r.Write(t, "index.yaml", index)
		_, err := newClient(t).Checkout(context.Background(), repoSpec(r, "app", "1.0.0"), source.Revision{})
		if !errors.Is(err, chart.ErrOtherHost) {
			t.Fatalf("index pointing to another host: %v", err)
		}
	})
	t.Run("archive expanding past the limit", func(t *testing.T) {
		bomb := helmrepo.ArchiveBomb(t, "app")
		data, err := os.ReadFile(tgz)
		if err != nil {
			t.Fatal(err)
		}
		r.Write(t, "app-1.0.0.tgz", bomb)
		defer r.Write(t, "app-1.0.0.tgz", data)
		r.Index(t)
		defer r.Write(t, "index.yaml", index)
		_, err = newClient(t).Checkout(context.Background(), repoSpec(r, "app", "1.0.0"), source.Revision{})
		if !errors.Is(err, manifest.ErrLimit) || !strings.Contains(err.Error(), "MaxArchiveBytes") {
			t.Fatalf("archive bomb: %v", err)
		}
	})
}
