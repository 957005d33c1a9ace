package chart_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
	"github.com/landfall-dev/landfall/test/helmrepo"
	"github.com/landfall-dev/landfall/test/registry"
	"github.com/landfall-dev/landfall/test/testca"
)

// BenchmarkChartFetchRender: a chart from a Helm repository (over loopback HTTPS, with a
// dependency fetched from the same repository) fetched, laid out and rendered: cold, by a
// new client with an empty cache each time; cached, by one client, where a fetch reads only
// the index and the render reads the laid-out chart.
func BenchmarkChartFetchRender(b *testing.B) {
	ca := testca.New(b)
	r := helmrepo.Serve(b, ca)
	src := b.TempDir()
	r.Package(b, writeChart(b, src, "lib", "1.0.0", "lib-config", ""))
	r.Write(b, "app-1.0.0.tgz", packNoVendor(b, writeChart(b, src, "app", "1.0.0", "app-one", r.URL)))
	r.Index(b)
	spec := repoSpec(r, "app", "^1.0.0")
	run := func(b *testing.B, c *chart.Client) {
		co, err := c.Checkout(context.Background(), spec, source.Revision{})
		if err != nil {
			b.Fatal(err)
		}
		// A new engine each time: the render cache is not what is measured.
		if _, err := render.New().Render(context.Background(), render.Input{Root: co.Dir, Namespace: "shop", ReleaseName: "shop"}); err != nil {
			b.Fatal(err)
		}
		co.Close()
	}
	b.Run("cold", func(b *testing.B) {
		before := r.Requests()
		for i := 0; b.Loop(); i++ {
			c, err := chart.New(chart.Options{CacheDir: filepath.Join(b.TempDir(), "c")})
			if err != nil {
				b.Fatal(err)
			}
			run(b, c)
		}
		b.ReportMetric(float64(r.Requests()-before)/float64(b.N), "requests/op")
	})
	b.Run("cached", func(b *testing.B) {
		c := newClient(b)
		run(b, c)
		before := r.Requests()
		for b.Loop() {
			run(b, c)
		}
		b.ReportMetric(float64(r.Requests()-before)/float64(b.N), "requests/op")
	})
}

// BenchmarkRegistryPoll: one poll of a chart, and of an artifact, in the registry whose
// version is cached: the tag list (for a range) and the manifest, over loopback HTTPS with
// basic auth; the artifact's poll also leases the expanded tree from the cache.
func BenchmarkRegistryPoll(b *testing.B) {
	reg := registry.Start(b, testca.New(b))
	src, out := b.TempDir(), b.TempDir()
	app := filepath.Join(out, "app-1.0.0.tgz")
	writeFile(b, app, packNoVendor(b, writeChart(b, src, "app", "1.0.0", "app-one", "")))
	reg.PushChart(b, app, "charts")
	c := newClient(b)
	auth := source.Auth{Username: reg.Username, Password: reg.Password, CAData: reg.CA.PEM}
	url := "oci://" + reg.Host + "/config/app"
	if _, err := chart.PushArtifact(context.Background(), url+":1.0.0", src, auth); err != nil {
		b.Fatal(err)
	}
	for _, version := range []string{"1.0.0", "^1.0.0"} {
		spec := chart.ArtifactSpec{URL: url, Tag: version, Auth: auth}
		if version != "1.0.0" {
			spec = chart.ArtifactSpec{URL: url, SemVer: version, Auth: auth}
		}
		b.Run("artifact="+version, func(b *testing.B) {
			for b.Loop() {
				co, err := c.Artifact(context.Background(), spec, source.Revision{})
				if err != nil {
					b.Fatal(err)
				}
				co.Close()
			}
		})
	}
	for _, version := range []string{"1.0.0", "^1.0.0"} {
		spec := ociSpec(reg, "app", version)
		b.Run("chart="+version, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Check(context.Background(), spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
