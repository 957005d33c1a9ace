package sandbox

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// A request is its length (8 bytes, big-endian) and its bytes. An answer is a status byte,
// its length, the child's peak resident memory so far (8 bytes each) and its bytes: the
// parent reads the length before the answer and refuses one over its bound unread.

const (
	statusOK       byte = 0
	statusFailed   byte = 1    // the answer is serve's error
	statusRetiring byte = 0x80 // the child exits after this answer
)

// maxRequest bounds what a child reads; the parent is trusted, this only stops a garbled
// length from allocating.
const maxRequest = 1 << 30

func writeRequest(w io.Writer, req []byte) error {
	var h [8]byte
	binary.BigEndian.PutUint64(h[:], uint64(len(req)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(req)
	return err
}

func readRequest(r *bufio.Reader) ([]byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err // io.EOF only when nothing of a next request came
	}
	n := binary.BigEndian.Uint64(h[:])
	if n > maxRequest {
		return nil, fmt.Errorf("a request of %d bytes", n)
	}
	req := make([]byte, n)
	if _, err := io.ReadFull(r, req); err != nil {
		return nil, fmt.Errorf("a request cut short: %w", io.ErrUnexpectedEOF)
	}
	return req, nil
}

func writeAnswer(w *bufio.Writer, status byte, answer []byte, peakRSS int64) error {
	var h [17]byte
	h[0] = status
	binary.BigEndian.PutUint64(h[1:9], uint64(len(answer)))
	binary.BigEndian.PutUint64(h[9:], uint64(peakRSS))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	if _, err := w.Write(answer); err != nil {
		return err
	}
	return w.Flush()
}

// answerHeader is what precedes an answer.
type answerHeader struct {
	status  byte
	length  int64
	peakRSS int64
}

func readAnswerHeader(r io.Reader) (answerHeader, error) {
	var h [17]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return answerHeader{}, err
	}
	return answerHeader{status: h[0], length: int64(binary.BigEndian.Uint64(h[1:9])),
		peakRSS: int64(binary.BigEndian.Uint64(h[9:]))}, nil
}
