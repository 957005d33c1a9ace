package inventory

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CompressAbove is the size of the encoded entries above which EncodeCompact gzips them:
// small inventories stay readable in status, large ones stay well under the apiserver's
// request limit (10,000 250-character names are 2.4 MiB as entries, ~0.4 MiB gzipped).
const CompressAbove = 64 << 10

// MaxDecompressed bounds what DecodeCompact inflates: a status (or a hostile edit of it)
// must not make the controller allocate without limit. Twice render's 10,000 objects (an
// inventory holds the old and the new revision's objects while it prunes) of names of the
// longest length Kubernetes allows fit with room to spare.
const MaxDecompressed = 32 << 20

// Compact is an inventory as stored in status: either readable entries, or (above
// CompressAbove) the same entries joined by "\n" and gzipped. Count is the number of
// objects either way.
type Compact struct {
	Entries    []string
	Compressed []byte
	Count      int
}

// EncodeCompact returns the inventory's stored form.
func (inv Inventory) EncodeCompact() (Compact, error) {
	entries := inv.Encode()
	size := 0
	for _, e := range entries {
		size += len(e) + 1
	}
	if size <= CompressAbove {
		return Compact{Entries: entries, Count: inv.Len()}, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := io.WriteString(zw, strings.Join(entries, "\n")); err != nil {
		return Compact{}, fmt.Errorf("compressing the inventory: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Compact{}, fmt.Errorf("compressing the inventory: %w", err)
	}
	return Compact{Compressed: buf.Bytes(), Count: inv.Len()}, nil
}

// ErrTooLarge is returned for compressed entries that inflate past MaxDecompressed.
var ErrTooLarge = errors.New("inventory too large")

// DecodeCompact parses what EncodeCompact writes: the readable entries and the compressed
// ones (a status holds one or the other; both are read if both are set). Like Decode, an
// inventory that cannot be read is an error, never a smaller inventory.
func DecodeCompact(entries []string, compressed []byte) (Inventory, error) {
	if len(compressed) == 0 {
		return Decode(entries)
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return Inventory{}, fmt.Errorf("%w: compressed entries: %w", ErrInvalid, err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, MaxDecompressed+1))
	if err != nil {
		return Inventory{}, fmt.Errorf("%w: compressed entries: %w", ErrInvalid, err)
	}
	if len(raw) > MaxDecompressed {
		return Inventory{}, fmt.Errorf("%w: compressed entries inflate past %d bytes", ErrTooLarge, MaxDecompressed)
	}
	all := entries
	if len(raw) > 0 {
		all = append(append([]string(nil), entries...), strings.Split(string(raw), "\n")...)
	}
	return Decode(all)
}
