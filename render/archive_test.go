package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/render/helm"
	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/test/memcap"
)

// tarEntry is one entry of a generated archive.
type tarEntry struct {
	name, link string
	typ        byte
	data       []byte
}

func tgz(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hd := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Mode: 0o644, Size: int64(len(e.data))}
		if typ != tar.TypeReg {
			hd.Size = 0
		}
		if err := tw.WriteHeader(hd); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data[:hd.Size]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func chartYAML(name string) tarEntry {
	return tarEntry{name: name + "/Chart.yaml", data: []byte("apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n")}
}

// chartWithArchive writes a chart vendoring archive as charts/dep.tgz.
func chartWithArchive(t testing.TB, archive []byte) Input {
	t.Helper()
	in := writeChart(t, "", `"ok"`)
	p := filepath.Join(in.Root, "chart/charts/dep.tgz")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestChartArchiveEntriesAreChecked(t *testing.T) {
	cm := func(name string) tarEntry {
		return tarEntry{name: name, data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-archive\n")}
	}
	ok := chartWithArchive(t, tgz(t, []tarEntry{chartYAML("dep"), cm("dep/templates/cm.yaml")}))
	res, err := New().Render(context.Background(), ok)
	if err != nil || len(res.Objects) != 2 {
		t.Fatalf("a healthy archive: %v, %d objects", err, len(res.Objects))
	}
	for _, tc := range []struct {
		name  string
		entry tarEntry
		names string
	}{
		{"climbing", cm("dep/templates/../../../etc/cm.yaml"), `"dep/templates/../../../etc/cm.yaml"`},
		{"absolute", cm("/etc/cm.yaml"), `"/etc/cm.yaml"`},
		{"symlink", tarEntry{name: "dep/templates/cm.yaml", link: "/etc/passwd", typ: tar.TypeSymlink}, `a link (to "/etc/passwd")`},
		{"hard link", tarEntry{name: "dep/templates/cm.yaml", link: "dep/Chart.yaml", typ: tar.TypeLink}, "a link"},
		{"device", tarEntry{name: "dep/templates/cm.yaml", typ: tar.TypeChar}, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := chartWithArchive(t, tgz(t, []tarEntry{chartYAML("dep"), tc.entry}))
			expectRefused(t, New(), badCase{tc.name, in, helm.ErrArchive, tc.names})
		})
	}
}

// archiveBomb is a chart archive and what its refusal names.
type archiveBomb struct {
	name    string
	archive func(t testing.TB) []byte
	names   string
}

func archiveBombs() []archiveBomb {
	zeros := make([]byte, 5<<20) // Helm's largest file
	// 19 files of 5 MiB: 95 MiB, under Helm's 100 MiB for one archive, in about 100 KiB.
	inner := []tarEntry{chartYAML("inner")}
	for i := range 19 {
		inner = append(inner, tarEntry{name: fmt.Sprintf("inner/files/f%02d", i), data: zeros})
	}
	return []archiveBomb{
		{"nested", func(t testing.TB) []byte {
			in := tgz(t, inner)
			outer := []tarEntry{chartYAML("dep")}
			for i := range 20 { // 1.9 GiB in about 2 MiB
				outer = append(outer, tarEntry{name: fmt.Sprintf("dep/charts/inner%02d.tgz", i), data: in})
			}
			return tgz(t, outer)
		}, "expand past 67108864 bytes (MaxArchiveBytes)"},
		{"entries", func(t testing.TB) []byte {
			entries := []tarEntry{chartYAML("dep")}
			for i := range helm.MaxArchiveEntries + 10 {
				entries = append(entries, tarEntry{name: fmt.Sprintf("dep/files/%06d", i)})
			}
			return tgz(t, entries)
		}, "more than 10000 entries (MaxArchiveEntries)"},
		{"deep", func(t testing.TB) []byte {
			a := tgz(t, []tarEntry{chartYAML("d")})
			for range 6 {
				a = tgz(t, []tarEntry{chartYAML("d"), {name: "d/charts/d.tgz", data: a}})
			}
			return a
		}, "nest more than 4 deep (MaxArchiveDepth)"},
	}
}

// Archives that expand far past what they weigh are refused while walked, before Helm
// loads any of them: within the budget of one render, without the sandbox.
func TestChartArchiveBombsAreBoundedWhileRead(t *testing.T) {
	for _, tc := range archiveBombs() {
		t.Run(tc.name, func(t *testing.T) {
			if memcap.Run(t, renderCap) {
				return
			}
			_, err := New().Render(context.Background(), chartWithArchive(t, tc.archive(t)))
			if !errors.Is(err, manifest.ErrLimit) || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("error = %v, want %v naming %q", err, manifest.ErrLimit, tc.names)
			}
		})
	}
}
