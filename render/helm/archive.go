package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/landfall-dev/landfall/render/manifest"
)

// Bounds of the chart archives (charts/*.tgz) one chart vendors, archives within archives
// included, all together. Helm's loader bounds each archive's file data and each file,
// but not the number of entries, their headers and names, nor what archives nested in
// archives add up to (each gets a fresh 100 MiB); and it loads a symlink as an empty file.
// Each archive is walked with these bounds before Helm loads it.
const (
	// MaxArchiveBytes bounds the expanded bytes of all archives: data, headers, names.
	MaxArchiveBytes int64 = 64 << 20
	// MaxArchiveEntries bounds the entries of all archives.
	MaxArchiveEntries = 10_000
	// MaxArchiveDepth bounds how deep archives nest.
	MaxArchiveDepth = 4
)

// ErrArchive means a chart archive has an entry Landfall does not load: a name with "..",
// an absolute name, a link or a device.
var ErrArchive = errors.New("chart archive entry refused")

// archiveBudget is what the archives of one chart have left.
type archiveBudget struct {
	bytes   int64
	entries int
}

func newArchiveBudget() *archiveBudget {
	return &archiveBudget{bytes: MaxArchiveBytes, entries: MaxArchiveEntries}
}

// isArchiveDependency reports whether Helm loads name (relative to a chart) as a
// subchart archive.
func isArchiveDependency(name string) bool {
	return path.Ext(name) == ".tgz" && path.Base(path.Dir(name)) == "charts"
}

// check walks the archive name holds, and the archives in it, within the budget.
func (b *archiveBudget) check(name string, data []byte, depth int) error {
	if depth > MaxArchiveDepth {
		return fmt.Errorf("%s: archives nest more than %d deep (MaxArchiveDepth): %w", name, MaxArchiveDepth, manifest.ErrLimit)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	cr := &countingReader{r: zr, left: b.bytes}
	defer func() { b.bytes = cr.left }()
	tr := tar.NewReader(cr)
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return b.readErr(name, cr, err)
		}
		if b.entries--; b.entries < 0 {
			return fmt.Errorf("%s: the chart's archives hold more than %d entries (MaxArchiveEntries): %w",
				name, MaxArchiveEntries, manifest.ErrLimit)
		}
		if err := checkEntry(hd); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if hd.Typeflag != tar.TypeReg {
			continue
		}
		// Helm drops the archive's top folder: what is left is the name in the chart.
		_, inChart, _ := strings.Cut(hd.Name, "/")
		if !isArchiveDependency(inChart) {
			if _, err := io.Copy(io.Discard, tr); err != nil {
				return b.readErr(name, cr, err)
			}
			continue
		}
		inner, err := io.ReadAll(io.LimitReader(tr, loader.MaxDecompressedFileSize+1))
		if err != nil {
			return b.readErr(name, cr, err)
		}
		if int64(len(inner)) > loader.MaxDecompressedFileSize {
			return fmt.Errorf("%s: %s is over Helm's %d-byte file limit: %w", name, hd.Name, loader.MaxDecompressedFileSize, manifest.ErrLimit)
		}
		if err := b.check(name+"!"+hd.Name, inner, depth+1); err != nil {
			return err
		}
	}
}

func (b *archiveBudget) readErr(name string, cr *countingReader, err error) error {
	if cr.over {
		return fmt.Errorf("%s: the chart's archives expand past %d bytes (MaxArchiveBytes): %w", name, MaxArchiveBytes, manifest.ErrLimit)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// checkEntry refuses names that climb or are absolute, and anything but files and folders.
func checkEntry(hd *tar.Header) error {
	n := strings.ReplaceAll(hd.Name, `\`, "/")
	if path.IsAbs(n) || slices.Contains(strings.Split(n, "/"), "..") {
		return fmt.Errorf("entry %q: %w: its name leaves the chart", hd.Name, ErrArchive)
	}
	switch hd.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeXGlobalHeader, tar.TypeXHeader:
		return nil
	case tar.TypeSymlink, tar.TypeLink:
		return fmt.Errorf("entry %q: %w: a link (to %q)", hd.Name, ErrArchive, hd.Linkname)
	}
	return fmt.Errorf("entry %q: %w: not a regular file (type %q)", hd.Name, ErrArchive, hd.Typeflag)
}

// countingReader fails once more than left bytes were read.
type countingReader struct {
	r    io.Reader
	left int64
	over bool
}

var errArchiveBytes = errors.New("archive bytes exhausted")

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		c.over = true
		return 0, errArchiveBytes
	}
	return n, err
}

// CheckArchive walks a chart archive fetched from a repository (and the archives in it)
// within the same bounds and confinement as a vendored one, before anything loads it.
func CheckArchive(name string, data []byte) error {
	return newArchiveBudget().check(name, data, 1)
}
