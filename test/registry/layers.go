package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sort"
	"testing"
)

// Layer is a gzipped tar of files (name → content), as an artifact's content layer.
func Layer(t testing.TB, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return tarGz(t, true, func(tw *tar.Writer) error {
		for _, n := range names {
			if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := io.WriteString(tw, files[n]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ZerosLayer is a gzipped tar of one file of size zero bytes: about a thousandth of size
// as pushed.
func ZerosLayer(t testing.TB, size int64) []byte {
	t.Helper()
	return tarGz(t, true, func(tw *tar.Writer) error {
		if err := tw.WriteHeader(&tar.Header{Name: "zeros.yaml", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.CopyN(tw, zeros{}, size)
		return err
	})
}

// TruncatedLayer is a gzipped tar whose one header, zeros.yaml, claims size bytes, followed
// by 1 KiB and the end of the stream: a reader that reads the entry before it weighs the
// header fails on the short stream.
func TruncatedLayer(t testing.TB, size int64) []byte {
	t.Helper()
	return tarGz(t, false, func(tw *tar.Writer) error {
		if err := tw.WriteHeader(&tar.Header{Name: "zeros.yaml", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(make([]byte, 1024))
		return err
	})
}

// ManyFilesLayer is a gzipped tar of n empty files.
func ManyFilesLayer(t testing.TB, n int) []byte {
	t.Helper()
	return tarGz(t, true, func(tw *tar.Writer) error {
		for i := range n {
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f/%d.yaml", i), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
				return err
			}
		}
		return nil
	})
}

// tarGz gzips the tar fill writes; closeTar false leaves the tar unfinished.
func tarGz(t testing.TB, closeTar bool, fill func(*tar.Writer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	if err := fill(tw); err != nil {
		t.Fatal(err)
	}
	if closeTar {
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
