package source

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// go-git reads a server's ref advertisement and the lines before a pack (shallow lines,
// acknowledgements) into memory for as long as the server sends them; only the timeout
// stops it. Over HTTP(S) every response body goes through a counting reader that cuts
// these parts off at fixed sizes; over SSH the connection counts (transport_ssh.go).
const (
	// MaxAdvertisementBytes bounds a server's ref advertisement: room for some 200,000
	// refs.
	MaxAdvertisementBytes int64 = 32 << 20
	// MaxPrePackBytes bounds what an upload-pack answer holds before the pack data: a
	// shallow fetch of one ref needs a few lines.
	MaxPrePackBytes int64 = 1 << 20
)

func init() {
	// One process-wide transport; without bounds in the request's context (nothing of
	// this package made it) it is a plain HTTP client.
	c := githttp.NewClient(&http.Client{Transport: boundedTransport{}})
	client.InstallProtocol("http", c)
	client.InstallProtocol("https", c)
}

// remoteBounds travel in the context of one remote operation to its HTTP requests.
type remoteBounds struct {
	ca []byte // extra trusted CAs (PEM)
	// maxAnswer bounds one upload-pack answer: the pack, its sideband framing and any
	// progress messages.
	maxAnswer   int64
	packStarted atomic.Bool
	// listing: the operation reads only the ref advertisement (over SSH, where the count
	// cannot tell the parts apart).
	listing bool

	mu  sync.Mutex
	err error
}

type boundsKey struct{}

func withBounds(ctx context.Context, b *remoteBounds) context.Context {
	return context.WithValue(ctx, boundsKey{}, b)
}

// fail records the first limit hit, which is the cause whatever go-git makes of the
// failed read.
func (b *remoteBounds) fail(err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
	}
	return err
}

func (b *remoteBounds) exceeded() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

type boundedTransport struct{}

func (boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	b, _ := req.Context().Value(boundsKey{}).(*remoteBounds)
	if b == nil {
		return baseTransport.RoundTrip(req)
	}
	rt, err := transportFor(b.ca)
	if err != nil {
		return nil, err
	}
	res, err := rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	adv := req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/info/refs")
	res.Body = &boundedBody{ReadCloser: res.Body, b: b, adv: adv}
	return res, nil
}

// boundedBody counts what it reads and fails past the part's limit.
type boundedBody struct {
	io.ReadCloser
	b   *remoteBounds
	adv bool
	n   int64
}

func (r *boundedBody) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n += int64(n)
	switch {
	case r.adv && r.n > MaxAdvertisementBytes:
		return 0, r.b.fail(fmt.Errorf("%w: the ref advertisement passes %d bytes (MaxAdvertisementBytes)",
			ErrLimit, MaxAdvertisementBytes))
	case !r.adv && !r.b.packStarted.Load() && r.n > MaxPrePackBytes:
		return 0, r.b.fail(fmt.Errorf("%w: the server sent more than %d bytes before the pack data "+
			"(shallow, acknowledgement or progress lines; MaxPrePackBytes)", ErrLimit, MaxPrePackBytes))
	case !r.adv && r.n > r.b.maxAnswer:
		return 0, r.b.fail(fmt.Errorf("%w: the upload-pack answer passes %d bytes (twice MaxRepoBytes plus %d)",
			ErrLimit, r.b.maxAnswer, MaxPrePackBytes))
	}
	return n, err
}

var (
	baseTransport = http.DefaultTransport.(*http.Transport).Clone()
	caMu          sync.Mutex
	caTransports  = map[[32]byte]*http.Transport{}
)

// transportFor returns a transport trusting the system CAs plus ca, one per bundle, so
// connections are reused.
func transportFor(ca []byte) (*http.Transport, error) {
	if len(ca) == 0 {
		return baseTransport, nil
	}
	key := sha256.Sum256(ca)
	caMu.Lock()
	defer caMu.Unlock()
	if t, ok := caTransports[key]; ok {
		return t, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%w: the CA bundle has no PEM certificate", ErrInvalidAuth)
	}
	if len(caTransports) >= 64 { // bundles rotate; drop the old ones
		for k, t := range caTransports {
			t.CloseIdleConnections()
			delete(caTransports, k)
		}
	}
	t := baseTransport.Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	caTransports[key] = t
	return t, nil
}
