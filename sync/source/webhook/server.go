package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Bounds of a receiver, besides MaxBodyBytes: whatever senders do, webhooks cost at most
// MaxConcurrentBodies × MaxBodyBytes of memory, and a body that drips is cut at the
// read timeout.
const (
	// ReadTimeout bounds reading one request, headers and body.
	ReadTimeout = 15 * time.Second
	// MaxConcurrentBodies bounds the bodies read at once.
	MaxConcurrentBodies = 32
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
)

var (
	// ErrTimeout means the body did not arrive within the read timeout.
	ErrTimeout = errors.New("webhook body not received within the read timeout")
	// ErrBusy means MaxConcurrentBodies bodies were being read for as long as the read
	// timeout.
	ErrBusy = errors.New("too many webhooks at once")
)

// NewServer returns the HTTP server of a receiver: readTimeout (ReadTimeout when zero)
// for each request, headers and body together, and MaxHeaderBytes of headers.
func NewServer(addr string, h http.Handler, readTimeout time.Duration) *http.Server {
	if readTimeout == 0 {
		readTimeout = ReadTimeout
	}
	// The answer is written after the read: a write deadline as short would leave a cut
	// sender without one.
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: min(5*time.Second, readTimeout),
		ReadTimeout: readTimeout, WriteTimeout: readTimeout + 15*time.Second, MaxHeaderBytes: MaxHeaderBytes}
}

// Bodies reads request bodies, at most a fixed number at once. It is safe for
// concurrent use.
type Bodies struct {
	slots chan struct{}
	wait  time.Duration
}

// NewBodies reads at most n bodies at once; a request waits at most wait for its turn.
func NewBodies(n int, wait time.Duration) *Bodies {
	return &Bodies{slots: make(chan struct{}, n), wait: wait}
}

// Read reads r's body, at most MaxBodyBytes: a longer one gives ErrTooLarge, unread past
// the limit, and the server closes the connection after the answer. A body cut by the
// server's read timeout gives ErrTimeout.
func (b *Bodies) Read(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	t := time.NewTimer(b.wait)
	defer t.Stop()
	select {
	case b.slots <- struct{}{}:
		defer func() { <-b.slots }()
	case <-t.C:
		return nil, fmt.Errorf("%w: %d are being read", ErrBusy, cap(b.slots))
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	body, err := ReadBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes+1), MaxBodyBytes)
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxBodyBytes)
	case errors.As(err, &netErr) && netErr.Timeout():
		return nil, ErrTimeout
	}
	return body, err
}
