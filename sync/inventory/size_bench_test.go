package inventory

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// etcdRequestLimit is etcd's default --max-request-bytes: a status write (the whole
// object) larger than this is refused ("etcdserver: request is too large").
const etcdRequestLimit = 1536 << 10

// longNames returns n ConfigMaps whose names are 250 characters, distinct past a prefix
// (hashes), as generated names are.
func longNames(n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		name := fmt.Sprintf("settings-%05d-", i) + strings.Repeat(hex.EncodeToString(sum[:]), 4)
		out[i] = Entry{ObjMetadata: ObjMetadata{Kind: "ConfigMap", Namespace: "shop", Name: name[:250]}, Version: "v1"}
	}
	return out
}

// BenchmarkStatusSize reports the inventory's size in status at 1,000 and 10,000 objects
// with 250-character names: as plain entries (JSON), as gzip of that JSON, and as stored
// (EncodeCompact, in status as JSON), next to the request limit the whole Application must
// stay under.
func BenchmarkStatusSize(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			inv := mustNew(b, longNames(n)...)
			var raw []byte
			var packed bytes.Buffer
			for b.Loop() {
				var err error
				if raw, err = json.Marshal(inv); err != nil {
					b.Fatal(err)
				}
				packed.Reset()
				zw := gzip.NewWriter(&packed)
				if _, err := zw.Write(raw); err != nil {
					b.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					b.Fatal(err)
				}
			}
			c, err := inv.EncodeCompact()
			if err != nil {
				b.Fatal(err)
			}
			stored, err := json.Marshal(c)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(raw))/1024, "json-KiB")
			b.ReportMetric(float64(len(stored))/1024, "stored-KiB")
			b.ReportMetric(float64(packed.Len())/1024, "gzip-KiB")
			b.ReportMetric(etcdRequestLimit/1024, "limit-KiB")
		})
	}
}
