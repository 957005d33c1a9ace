package gitserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostileSSH is an SSH Git server (golang.org/x/crypto/ssh, not sshd: it needs to send
// what no git-upload-pack would) that answers git-upload-pack with an Attack.
type HostileSSH struct {
	// URL is the repository's ssh:// URL.
	URL string
	// ClientKey is a private key (OpenSSH PEM) the server accepts; it accepts any.
	ClientKey []byte
	// KnownHosts holds the server's host key for its address.
	KnownHosts []byte
}

// NewHostileSSH starts a hostile SSH server on loopback; it stops, and every connection
// with it, when tb's test ends.
func NewHostileSSH(tb TB, attack Attack) *HostileSSH {
	tb.Helper()
	hostPub, hostPriv := newKey(tb, "hostile host")
	signer, err := ssh.ParsePrivateKey(hostPriv)
	if err != nil {
		tb.Fatal(err)
	}
	_, clientPriv := newKey(tb, "hostile client")
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
		return nil, nil
	}}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), HostileMaxDuration)
	h := &Hostile{Commit: strings.Repeat("1e", 20)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Go(func() { h.serveSSH(ctx, conn, cfg, attack) })
		}
	})
	tb.Cleanup(func() {
		cancel()
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	addr := l.Addr().String()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	return &HostileSSH{
		URL:        "ssh://git@127.0.0.1:" + port + "/repo.git",
		ClientKey:  clientPriv,
		KnownHosts: []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostPub) + "\n"),
	}
}

func (h *Hostile) serveSSH(ctx context.Context, conn net.Conn, cfg *ssh.ServerConfig, attack Attack) {
	defer func() { _ = conn.Close() }()
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer func() { _ = sc.Close() }()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go h.serveSession(ctx, ch, chReqs, attack)
	}
}

// serveSession runs one git-upload-pack: the advertisement, then, if the client asks for
// a pack, the attack's answer.
func (h *Hostile) serveSession(ctx context.Context, ch ssh.Channel, reqs <-chan *ssh.Request, attack Attack) {
	defer func() { _ = ch.Close() }()
	for req := range reqs {
		ok := req.Type == "exec" && strings.Contains(string(req.Payload), "git-upload-pack")
		_ = req.Reply(ok, nil)
		if !ok {
			continue
		}
		go ssh.DiscardRequests(reqs)
		w := &boundedWriter{ctx: ctx, w: ch, left: HostileMaxBytes}
		h.advertise(w, attack)
		if wantsPack(ch) {
			// go-git closes its side after "done" and fails the fetch with "closing
			// input: EOF" if the channel is gone first; a small pack written at once
			// could win that race, so wait for the client's EOF, as upload-pack does.
			_, _ = io.Copy(io.Discard, io.LimitReader(ch, 1<<20))
			h.uploadPack(w, attack)
		}
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
		return
	}
}

// wantsPack reads the client's pkt-lines: true once it says "done", false when it ends
// without a want (a listing).
func wantsPack(r io.Reader) bool {
	wanted := false
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return false
		}
		n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
		if err != nil {
			return false
		}
		if n < 4 {
			if !wanted {
				return false
			}
			continue
		}
		line := make([]byte, n-4)
		if _, err := io.ReadFull(r, line); err != nil {
			return false
		}
		switch s := string(line); {
		case strings.HasPrefix(s, "want "):
			wanted = true
		case strings.HasPrefix(s, "done"):
			return true
		}
	}
}

// newKey generates an ed25519 key and returns its public key and its OpenSSH PEM.
func newKey(tb TB, comment string) (ssh.PublicKey, []byte) {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		tb.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return sshPub, pem.EncodeToMemory(block)
}
