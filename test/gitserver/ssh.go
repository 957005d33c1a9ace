package gitserver

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/landfall-dev/landfall/test/ports"
)

// sshdPath is Debian's sshd; it must be run by absolute path.
const sshdPath = "/usr/sbin/sshd"

// startSSH runs sshd on a free loopback port with its own host key and config, accepting
// one generated client key for the current user.
func (s *Server) startSSH(tb TB, root string) {
	tb.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		tb.Fatalf("gitserver: %s not found (run hack/install-test-deps.sh): %v", sshdPath, err)
	}
	me, err := user.Current()
	if err != nil {
		tb.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd refuses to start as root without its privilege-separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	dir := filepath.Join(root, "sshd")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	hostPub, hostKeyFile := writeKey(tb, dir, "host_ed25519")
	clientPub, _ := writeKey(tb, dir, "client_ed25519")
	s.ClientKey = readFile(tb, filepath.Join(dir, "client_ed25519"))
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		tb.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		port := freePort(tb)
		err := s.runSSHD(tb, dir, hostKeyFile, authorized, me.Username, port)
		if err == nil {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			s.KnownHosts = []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostPub) + "\n")
			s.SSHURL = fmt.Sprintf("ssh://%s@%s%s", me.Username, addr, s.BareDir)
			return
		}
		if attempt == 2 {
			tb.Fatalf("gitserver: sshd did not start: %v", err)
		}
	}
}

func (s *Server) runSSHD(tb TB, dir, hostKey, authorized, login string, port int) error {
	tb.Helper()
	config := filepath.Join(dir, "sshd_config")
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile none
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers %s
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
LogLevel ERROR
`, port, hostKey, authorized, login)
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		return err
	}
	var logs syncBuffer
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", config)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	if err := waitForBanner(port, exited); err != nil {
		stop()
		return fmt.Errorf("%w\nsshd log:\n%s", err, logs.String())
	}
	tb.Cleanup(stop)
	return nil
}

// waitForBanner polls until sshd answers with its SSH banner.
func waitForBanner(port int, exited <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("sshd exited")
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if len(line) > 4 && line[:4] == "SSH-" {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an outcome
	}
	return fmt.Errorf("sshd on %s did not answer within 15s", addr)
}

// writeKey generates an ed25519 key, writes it as an OpenSSH PEM file and returns the
// public key and the file's path.
func writeKey(tb TB, dir, name string) (ssh.PublicKey, string) {
	tb.Helper()
	pub, data := newKey(tb, "gitserver "+name)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return pub, path
}

// NewKnownHostsLine returns a known_hosts line for the server's address with a freshly
// generated key: a well-formed entry that does not match, for host-key refusal tests.
func (s *Server) NewKnownHostsLine(tb TB) []byte {
	tb.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	host, _, _ := bytes.Cut(s.KnownHosts, []byte(" "))
	return []byte(knownhosts.Line([]string{string(host)}, key) + "\n")
}

func readFile(tb TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func freePort(tb TB) int {
	tb.Helper()
	p, err := ports.Port()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// syncBuffer collects sshd's log from its output goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
