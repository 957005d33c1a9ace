package helmrepo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"testing"
)

// ArchiveBomb is a chart archive of name at 1.0.0 of a few hundred KiB that expands to
// 80 MiB, past the 64 MiB all chart archives may expand to together.
func ArchiveBomb(t testing.TB, name string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	add := func(file string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name + "/" + file, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add("Chart.yaml", []byte("apiVersion: v2\nname: "+name+"\nversion: 1.0.0\n"))
	zeros := make([]byte, 4<<20)
	for i := range 20 {
		add(fmt.Sprintf("files/zero-%02d", i), zeros)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
