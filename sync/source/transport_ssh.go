package source

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/net/proxy"
)

// go-git's SSH transport reads the server's stream through an ssh.Session it builds
// itself, with no hook for a reader. What it does let a caller choose is the dialer, by a
// proxy URL: a proxy scheme of this package's own dials directly and counts what the
// connection reads, so an SSH answer is cut while it arrives, as an HTTP one is. The
// count is of encrypted bytes, which cannot tell the advertisement from the lines after
// it: before the pack one sum bounds them all, with room for the SSH handshake, framing
// and flow-control window.
const (
	boundedScheme = "landfall-bounded"
	// sshSlack covers the handshake, packet framing and the channel's 2 MiB window.
	sshSlack int64 = 4 << 20
)

var (
	sshBounds sync.Map // id → *remoteBounds, while its operation runs
	sshSeq    atomic.Uint64
)

func init() {
	proxy.RegisterDialerType(boundedScheme, func(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
		b, ok := sshBounds.Load(u.Host)
		if !ok {
			return nil, fmt.Errorf("no remote operation %s is running", u.Host)
		}
		return boundedDialer{b.(*remoteBounds)}, nil
	})
}

// sshProxy returns the proxy options that bound an SSH operation by b, and the function
// that ends them; for other endpoints it returns none.
func sshProxy(ep endpoint, b *remoteBounds) (transport.ProxyOptions, func()) {
	if !ep.ssh {
		return transport.ProxyOptions{}, func() {}
	}
	id := strconv.FormatUint(sshSeq.Add(1), 10)
	sshBounds.Store(id, b)
	return transport.ProxyOptions{URL: boundedScheme + "://" + id}, func() { sshBounds.Delete(id) }
}

type boundedDialer struct{ b *remoteBounds }

func (d boundedDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d boundedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &boundedConn{Conn: conn, b: d.b}, nil
}

// boundedConn counts the bytes one SSH connection reads and fails past the bound of the
// operation's phase.
type boundedConn struct {
	net.Conn
	b *remoteBounds
	n int64
}

func (c *boundedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	if lim := c.b.sshLimit(c.n); lim != nil {
		_ = c.Close()
		return 0, lim
	}
	return n, err
}

// sshLimit is the error for a connection that has read n bytes, or nil.
func (b *remoteBounds) sshLimit(n int64) error {
	prePack := MaxAdvertisementBytes + MaxPrePackBytes + sshSlack
	switch {
	case b.listing && n > MaxAdvertisementBytes+sshSlack:
		return b.fail(fmt.Errorf("%w: the ref advertisement over SSH passes %d bytes (MaxAdvertisementBytes, with %d for SSH itself)",
			ErrLimit, MaxAdvertisementBytes+sshSlack, sshSlack))
	case !b.packStarted.Load() && n > prePack:
		return b.fail(fmt.Errorf("%w: the SSH server sent more than %d bytes before the pack data "+
			"(the ref advertisement and the shallow, acknowledgement or progress lines; MaxAdvertisementBytes + MaxPrePackBytes, "+
			"with %d for SSH itself)", ErrLimit, prePack, sshSlack))
	case n > b.maxAnswer+prePack:
		return b.fail(fmt.Errorf("%w: the SSH answer passes %d bytes (twice MaxRepoBytes, plus what may come before the pack)",
			ErrLimit, b.maxAnswer+prePack))
	}
	return nil
}
