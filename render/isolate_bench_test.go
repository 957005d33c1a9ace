package render

import (
	"os"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/sandbox"
)

// BenchmarkRenderHelm50Isolated is the cost of the sandbox on the common path: the same
// 50-object chart rendered (uncached) in this process and in a child process.
func BenchmarkRenderHelm50Isolated(b *testing.B) {
	root := b.TempDir()
	chart50(b, root)
	in := Input{Root: root, Path: "chart", Namespace: "shop", ReleaseName: "bench"}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	runner, err := sandbox.New(sandbox.Config{Command: []string{exe}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		e    *Engine
	}{{"in-process", New(WithCacheSize(0))}, {"child-process", New(WithCacheSize(0), WithIsolator(runner))}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				res, err := c.e.Render(b.Context(), in)
				if err != nil || len(res.Objects) != 50 {
					b.Fatalf("%v, %d objects", err, len(res.Objects))
				}
			}
			reportPerOp(b, "ms/render")
			if c.name == "child-process" {
				b.ReportMetric(float64(runner.PeakChildRSS())/(1<<20), "child-peak-RSS-MB")
			}
		})
	}
}

// BenchmarkHostileRender reports, for each hostile chart, the time until the render is
// refused and the peak memory of the child that ran it (the parent's stays flat).
func BenchmarkHostileRender(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name  string
		input func(testing.TB) Input
	}{
		{"repeat", func(tb testing.TB) Input { return writeChart(tb, "", `repeat 600000000 "x"`) }},
		{"nested-include", func(tb testing.TB) Input { return writeChart(tb, doubling(12), `include "x12" .`) }},
		{"until", func(tb testing.TB) Input { return writeChart(tb, "", `until 200000000 | len`) }},
	}
	for _, a := range archiveBombs() {
		cases = append(cases, struct {
			name  string
			input func(testing.TB) Input
		}{"archive-" + a.name, func(tb testing.TB) Input { return chartWithArchive(tb, a.archive(tb)) }})
	}
	for _, s := range schemaBombs {
		cases = append(cases, struct {
			name  string
			input func(testing.TB) Input
		}{"schema-" + s.name, func(tb testing.TB) Input { return chartWithSchema(tb, s.schema) }})
	}
	for _, v := range valuesBombs {
		cases = append(cases, struct {
			name  string
			input func(testing.TB) Input
		}{"values-" + strings.ReplaceAll(v.name, " ", "-"), v.in})
	}
	for _, k := range kustomizeBombs {
		cases = append(cases, struct {
			name  string
			input func(testing.TB) Input
		}{"kustomize-" + strings.ReplaceAll(k.name, " ", "-"), k.input})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			runner, err := sandbox.New(sandbox.Config{Command: []string{exe}})
			if err != nil {
				b.Fatal(err)
			}
			e := New(WithCacheSize(0), WithIsolator(runner))
			in := c.input(b)
			for b.Loop() {
				if _, err := e.Render(b.Context(), in); err == nil {
					b.Fatal("rendered, want a limit error")
				}
			}
			reportPerOp(b, "ms/refusal")
			b.ReportMetric(float64(runner.PeakChildRSS())/(1<<20), "child-peak-RSS-MB")
		})
	}
}
