package inventory

import (
	"bytes"
	"compress/gzip"
	"errors"
	"testing"
)

func TestCompactKeepsSmallInventoriesReadable(t *testing.T) {
	inv := mustNew(t, longNames(10)...)
	c, err := inv.EncodeCompact()
	if err != nil {
		t.Fatal(err)
	}
	if c.Compressed != nil || len(c.Entries) != 1 || c.Count != 10 {
		t.Fatalf("10 objects: got %d entries, %d compressed bytes, count %d; want 1 readable entry, count 10", len(c.Entries), len(c.Compressed), c.Count)
	}
	back, err := DecodeCompact(c.Entries, c.Compressed)
	if err != nil || !back.Equal(inv) {
		t.Fatalf("round trip: %v, equal %v", err, back.Equal(inv))
	}
}

func TestCompactRoundTripAt10000Objects(t *testing.T) {
	entries := append(longNames(10000),
		Entry{ObjMetadata: ObjMetadata{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "a,b%c:d"}, Version: "v1"})
	inv := mustNew(t, entries...)
	c, err := inv.EncodeCompact()
	if err != nil {
		t.Fatal(err)
	}
	if c.Entries != nil || c.Count != 10001 {
		t.Fatalf("got %d readable entries, count %d; want none, count 10001", len(c.Entries), c.Count)
	}
	if len(c.Compressed) > 512<<10 {
		t.Fatalf("compressed inventory is %d bytes, want under 512 KiB", len(c.Compressed))
	}
	back, err := DecodeCompact(nil, c.Compressed)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(inv) {
		t.Fatalf("round trip lost objects: %d of %d", back.Len(), inv.Len())
	}
}

func TestDecodeCompactRefusesTooMuchAndGarbage(t *testing.T) {
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for range MaxDecompressed>>20 + 1 {
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeCompact(nil, bomb.Bytes()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("%d KiB inflating past the bound: got %v, want ErrTooLarge", bomb.Len()>>10, err)
	}
	if _, err := DecodeCompact(nil, []byte("not gzip")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("garbage: got %v, want ErrInvalid", err)
	}
	var bad bytes.Buffer
	zw = gzip.NewWriter(&bad)
	if _, err := zw.Write([]byte("_ConfigMap_shop_x_v1\nno-underscores")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeCompact(nil, bad.Bytes()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("malformed compressed entry: got %v, want ErrInvalid", err)
	}
}
