package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// go-git sizes allocations from what a pack says: its index writer reserves room for the
// object count in the header, and its parser holds each object whole in memory to resolve
// deltas. The checks here read the pack as it arrives and refuse a count or an object
// size over the limits before go-git acts on them.

// packLimits bound one fetched pack.
type packLimits struct {
	maxObjectBytes int64  // inflated size of one object, delta targets included
	maxObjects     uint32 // objects the header may claim
	// started is called when the first pack byte arrives: what the server sends before
	// it is bounded more tightly.
	started func()
	// exceeded is told of a limit the pack passed: go-git may report the failed write as
	// something else (over SSH, the closed session's EOF).
	exceeded func(error) error
}

// note passes a limit error to exceeded and returns err.
func (l packLimits) note(err error) error {
	if l.exceeded != nil && (errors.Is(err, ErrLimit) || errors.Is(err, ErrTooLarge)) {
		return l.exceeded(err)
	}
	return err
}

func (l packLimits) objectTooLarge(i uint32, size int64) error {
	return fmt.Errorf("%w: object %d in the pack is %d bytes, over the per-object limit of %d bytes (MaxObjectBytes)",
		ErrTooLarge, i, size, l.maxObjectBytes)
}

// boundedStorage is the fetch's object storage: packs written to it are checked on the
// way in.
type boundedStorage struct {
	*filesystem.Storage
	lim packLimits
}

// PackfileWriter implements storer.PackfileWriter, which go-git uses for every fetch.
func (s *boundedStorage) PackfileWriter() (io.WriteCloser, error) {
	inner, err := s.Storage.PackfileWriter()
	if err != nil {
		return nil, err
	}
	return &packCheck{inner: inner, lim: s.lim, done: make(chan error, 1)}, nil
}

const (
	packHeaderLen  = 12 // "PACK", version, object count
	packTrailerLen = 20 // SHA-1 of the pack
)

// packCheck passes a pack to go-git's writer while a second reader walks its object
// headers. go-git sees the header only after the count was checked, and the trailer only
// after every object was: its parser resolves (and allocates for) objects only once the
// trailer has arrived.
type packCheck struct {
	inner io.WriteCloser
	lim   packLimits
	head  []byte // the header, until it is complete and checked
	held  []byte // the last bytes written, kept from inner until the walk is done
	pw    *io.PipeWriter
	done  chan error
	err   error
}

func (c *packCheck) Write(p []byte) (int, error) {
	n, err := c.write(p)
	return n, c.lim.note(err)
}

func (c *packCheck) write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n := len(p)
	if c.pw == nil {
		if len(c.head) == 0 && len(p) > 0 && c.lim.started != nil {
			c.lim.started()
		}
		take := min(packHeaderLen-len(c.head), len(p))
		c.head = append(c.head, p[:take]...)
		if len(c.head) < packHeaderLen {
			return n, nil
		}
		if c.err = c.checkHeader(); c.err != nil {
			return 0, c.err
		}
		c.start()
		if c.err = c.forward(c.head); c.err != nil {
			return 0, c.err
		}
		p = p[take:]
	}
	if c.err = c.forward(p); c.err != nil {
		return 0, c.err
	}
	return n, nil
}

func (c *packCheck) checkHeader() error {
	if string(c.head[:4]) != "PACK" {
		return fmt.Errorf("%w: the server's answer is not a pack", packfile.ErrMalformedPackFile)
	}
	if n := binary.BigEndian.Uint32(c.head[8:]); n > c.lim.maxObjects {
		return fmt.Errorf("%w: the pack header claims %d objects, more than the limit of %d (20 × MaxFiles)",
			ErrLimit, n, c.lim.maxObjects)
	}
	return nil
}

func (c *packCheck) start() {
	pr, pw := io.Pipe()
	c.pw = pw
	go func() {
		err := c.lim.walk(pr)
		if err == nil {
			_, err = io.Copy(io.Discard, pr) // nothing should follow the trailer
		}
		_ = pr.CloseWithError(err)
		c.done <- err
	}()
}

// forward feeds p to the walk and passes all but the last packTrailerLen bytes on.
func (c *packCheck) forward(p []byte) error {
	if _, err := c.pw.Write(p); err != nil {
		return err // the walk's error
	}
	c.held = append(c.held, p...)
	if k := len(c.held) - packTrailerLen; k > 0 {
		if _, err := c.inner.Write(c.held[:k]); err != nil {
			return err
		}
		c.held = append(c.held[:0], c.held[k:]...)
	}
	return nil
}

// Close waits for the walk and, if it passed, hands go-git the trailer.
func (c *packCheck) Close() error {
	return c.lim.note(c.close())
}

func (c *packCheck) close() error {
	err := c.err
	switch {
	case c.pw == nil && err == nil:
		_, err = c.inner.Write(c.head) // too short to be a pack: go-git says so
	case c.pw != nil:
		_ = c.pw.Close()
		werr := <-c.done
		if err == nil {
			err = werr
		}
		if err == nil {
			_, err = c.inner.Write(c.held)
		}
	}
	return errors.Join(err, c.inner.Close())
}

// walk reads the pack's object headers, inflating each object only to find the next, and
// checks every declared size against the limit.
func (l packLimits) walk(r io.Reader) error {
	s := packfile.NewScanner(r)
	_, count, err := s.Header()
	if err != nil {
		return err
	}
	for i := range count {
		oh, err := s.NextObjectHeader()
		if err != nil {
			return fmt.Errorf("object %d of %d in the pack: %w", i, count, err)
		}
		if oh.Length > l.maxObjectBytes {
			return l.objectTooLarge(i, oh.Length)
		}
		var delta deltaHeader
		if _, _, err := s.NextObject(&delta); err != nil {
			return fmt.Errorf("object %d of %d in the pack: %w", i, count, err)
		}
		if oh.Type.IsDelta() {
			if target := delta.targetSize(); target > l.maxObjectBytes {
				return l.objectTooLarge(i, target)
			}
		}
	}
	_, err = s.Checksum()
	return err
}

// deltaHeader keeps the first bytes of an object, which for a delta hold its base and
// target sizes, and discards the rest.
type deltaHeader struct {
	b [20]byte
	n int
}

func (d *deltaHeader) Write(p []byte) (int, error) {
	d.n += copy(d.b[d.n:], p)
	return len(p), nil
}

// targetSize decodes the second LEB128 number of a delta (the first is the base's size).
// A malformed header counts as too large: go-git would refuse the delta anyway.
func (d *deltaHeader) targetSize() int64 {
	b := d.b[:d.n]
	var v uint64
	for range 2 {
		var n int
		v, n = binary.Uvarint(b)
		if n <= 0 || v > 1<<62 {
			return 1 << 62
		}
		b = b[n:]
	}
	return int64(v)
}
