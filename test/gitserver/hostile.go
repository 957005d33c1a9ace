package gitserver

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1" //nolint:gosec // Git's pack checksum
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Attack is what a Hostile server does to a client that fetches from it.
type Attack string

// The attacks. Each answers the ref advertisement (one branch, main) and then misbehaves;
// every endless stream stops when the client hangs up, after HostileMaxBytes, or after
// HostileMaxDuration, whichever comes first.
const (
	// BigObject sends a pack with one blob whose header declares HostileObjectSize bytes,
	// and then streams its zlib-compressed zeros: a few MiB on the wire.
	BigObject Attack = "big-object"
	// HugeCount sends a pack whose header claims 2³²−1 objects and holds one.
	HugeCount Attack = "huge-count"
	// ShallowFlood answers the shallow fetch with an endless stream of shallow lines.
	ShallowFlood Attack = "shallow-flood"
	// SidebandFlood negotiates side-band-64k and sends endless progress messages.
	SidebandFlood Attack = "sideband-flood"
	// RefFlood sends an endless ref advertisement.
	RefFlood Attack = "ref-flood"
	// HugeDelta sends a pack of a one-byte blob and a few-byte delta against it whose
	// header declares a target of HostileDeltaTarget bytes.
	HugeDelta Attack = "huge-delta"
)

// Attacks lists every attack.
var Attacks = []Attack{BigObject, HugeCount, ShallowFlood, SidebandFlood, RefFlood, HugeDelta}

// Bounds of every stream a Hostile server sends, so a test that goes wrong still ends.
const (
	HostileMaxBytes    int64 = 8 << 30
	HostileMaxDuration       = 2 * time.Minute
	// HostileObjectSize is the size BigObject declares and streams.
	HostileObjectSize int64 = 2 << 30
	// HostileDeltaTarget is the target size HugeDelta declares.
	HostileDeltaTarget int64 = 1 << 40
)

// Hostile is a smart-HTTP Git server that speaks just enough of the protocol to reach the
// part of the client it attacks.
type Hostile struct {
	// URL is the repository's URL (anonymous, plain HTTP).
	URL string
	// Commit is the commit main is advertised at.
	Commit string
}

// NewHostile starts a hostile server on loopback; it stops when tb's test ends.
func NewHostile(tb TB, attack Attack) *Hostile {
	tb.Helper()
	h := &Hostile{Commit: strings.Repeat("1e", 20)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), HostileMaxDuration)
		defer cancel()
		bw := &boundedWriter{ctx: ctx, w: w, left: HostileMaxBytes}
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			bw.pkt("# service=git-upload-pack\n")
			bw.flush()
			h.advertise(bw, attack)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
			w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
			h.uploadPack(bw, attack)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ErrorLog = quiet
	srv.Start()
	tb.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	h.URL = srv.URL + "/repo.git"
	return h
}

func (h *Hostile) advertise(w *boundedWriter, attack Attack) {
	caps := "multi_ack_detailed thin-pack ofs-delta shallow no-progress symref=HEAD:refs/heads/main agent=hostile"
	if attack == SidebandFlood {
		caps = strings.Replace(caps, "no-progress", "side-band-64k", 1)
	}
	w.pkt(h.Commit + " HEAD\x00" + caps + "\n")
	w.pkt(h.Commit + " refs/heads/main\n")
	for i := 0; attack == RefFlood && w.ok(); i++ {
		w.pkt(fmt.Sprintf("%s refs/heads/flood/%0200d\n", h.Commit, i))
	}
	w.flush()
}

func (h *Hostile) uploadPack(w *boundedWriter, attack Attack) {
	w.pkt("shallow " + h.Commit + "\n")
	for attack == ShallowFlood && w.ok() {
		w.pkt("shallow " + h.Commit + "\n")
	}
	w.flush()
	w.pkt("NAK\n")
	switch attack {
	case SidebandFlood:
		for w.ok() {
			w.pkt("\x02Counting objects: 100% (1/1), done." + strings.Repeat(" ", 8000) + "\r")
		}
	case BigObject:
		w.raw(packHeader(1))
		w.raw(objectHeader(3, HostileObjectSize)) // a blob
		zw := zlib.NewWriter(w)
		zero := make([]byte, 1<<20)
		for n := int64(0); n < HostileObjectSize && w.ok(); n += int64(len(zero)) {
			_, _ = zw.Write(zero)
		}
		_ = zw.Close()
	case HugeCount:
		w.raw(packHeader(1<<32 - 1))
		w.raw(objectHeader(3, 1))
		zw := zlib.NewWriter(w)
		_, _ = zw.Write([]byte("x"))
		_ = zw.Close()
	case HugeDelta:
		w.raw(hugeDeltaPack())
	}
}

// hugeDeltaPack is a complete pack, checksum included: a blob "x" and an offset delta
// against it that claims HostileDeltaTarget bytes and inserts one.
func hugeDeltaPack() []byte {
	var b bytes.Buffer
	b.Write(packHeader(2))
	b.Write(objectHeader(3, 1))
	b.Write(deflate([]byte("x")))
	offset := b.Len() - packHeaderLen
	delta := binary.AppendUvarint(binary.AppendUvarint(nil, 1), uint64(HostileDeltaTarget))
	delta = append(delta, 1, 'y') // insert one byte
	b.Write(objectHeader(6, int64(len(delta))))
	b.WriteByte(byte(offset)) // the distance back to the base, under 128: one byte
	b.Write(deflate(delta))
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

const packHeaderLen = 12

func deflate(p []byte) []byte {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	_, _ = zw.Write(p)
	_ = zw.Close()
	return b.Bytes()
}

func packHeader(count uint32) []byte {
	b := []byte("PACK\x00\x00\x00\x02\x00\x00\x00\x00")
	binary.BigEndian.PutUint32(b[8:], count)
	return b
}

// objectHeader encodes a pack entry's type and inflated size.
func objectHeader(typ byte, size int64) []byte {
	b := []byte{typ<<4 | byte(size&0x0f)}
	for size >>= 4; size > 0; size >>= 7 {
		b[len(b)-1] |= 0x80
		b = append(b, byte(size&0x7f))
	}
	return b
}

// boundedWriter stops writing at its byte budget, its deadline or the first write error.
type boundedWriter struct {
	ctx  context.Context
	w    io.Writer
	left int64
	err  error
}

func (b *boundedWriter) ok() bool {
	if b.err == nil && b.ctx.Err() != nil {
		b.err = b.ctx.Err()
	}
	return b.err == nil && b.left > 0
}

func (b *boundedWriter) Write(p []byte) (int, error) {
	if !b.ok() {
		return 0, io.ErrClosedPipe
	}
	n, err := b.w.Write(p)
	b.left -= int64(n)
	b.err = err
	return n, err
}

func (b *boundedWriter) raw(p []byte) { _, _ = b.Write(p) }

func (b *boundedWriter) pkt(s string) { b.raw([]byte(fmt.Sprintf("%04x%s", len(s)+4, s))) }

func (b *boundedWriter) flush() { b.raw([]byte("0000")) }
