package webhook_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/sync/source/webhook"
	"github.com/landfall-dev/landfall/test/memcap"
)

// receiver serves a handler that reads bodies as the controller's receiver does and
// answers with the status and error; it returns the address.
func receiver(t *testing.T, readTimeout time.Duration, bodies *webhook.Bodies) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := webhook.NewServer("", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := bodies.Read(w, r)
		msg := fmt.Sprintf("%d bytes", len(body))
		if err != nil {
			msg = err.Error()
		}
		http.Error(w, msg, webhook.StatusCode(err))
	}), readTimeout)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// send writes a request declaring length body bytes and then body, until the server
// closes the connection; it returns the answer's status line and how many body bytes
// were written.
func send(t *testing.T, addr string, length int64, body io.Reader) (string, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	// A test that goes wrong still ends; no passing case comes near this.
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	fmt.Fprintf(conn, "POST /hooks/ns/repo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", length)
	var sent atomic.Int64
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := body.Read(buf)
			if n > 0 {
				if _, werr := conn.Write(buf[:n]); werr != nil {
					return
				}
				sent.Add(int64(n))
			}
			if err != nil {
				return
			}
		}
	}()
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v (after %d body bytes)", err, sent.Load())
	}
	return strings.TrimSpace(status), sent.Load()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A sender declaring and streaming 4 GiB is answered 413 after the first MiB; the rest is
// never read, and the receiver's memory stays flat.
func TestOversizedBodyIsBoundedWhileRead(t *testing.T) {
	if memcap.Run(t, memcap.Limits{AddressSpace: 2 << 30, PeakRSS: 64 << 20}) {
		return
	}
	addr := receiver(t, time.Minute, webhook.NewBodies(webhook.MaxConcurrentBodies, time.Minute))
	status, sent := send(t, addr, 4<<30, zeros{})
	if status != "HTTP/1.1 413 Request Entity Too Large" {
		t.Errorf("answer %q, want 413", status)
	}
	if sent > 64<<20 {
		t.Errorf("the sender wrote %d MiB before the answer, want the body cut after 1 MiB", sent>>20)
	}
}

// drip sends one byte at a time, forever.
type drip struct{}

func (drip) Read(p []byte) (int, error) {
	time.Sleep(50 * time.Millisecond) // the attack's pace, not a wait for an outcome
	p[0] = '{'
	return 1, nil
}

// A body that never ends, one byte at a time, is cut by the read timeout with 408.
func TestSlowDripBodyIsCutByTheReadTimeout(t *testing.T) {
	addr := receiver(t, time.Second, webhook.NewBodies(webhook.MaxConcurrentBodies, time.Second))
	status, _ := send(t, addr, webhook.MaxBodyBytes, drip{})
	if status != "HTTP/1.1 408 Request Timeout" {
		t.Errorf("answer %q, want 408", status)
	}
}

// With every slot held by a sender that drips, the next request is answered 503 once its
// wait ends, without its body being read.
func TestBodiesReadAtOnceAreBounded(t *testing.T) {
	bodies := webhook.NewBodies(1, 500*time.Millisecond)
	addr := receiver(t, time.Minute, bodies)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	fmt.Fprintf(conn, "POST /hooks/ns/repo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
	// Until its handler holds the slot, the next requests may still be read.
	deadline := time.Now().Add(time.Minute)
	for {
		status, _ := send(t, addr, 2, strings.NewReader("{}"))
		if status == "HTTP/1.1 503 Service Unavailable" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("answer %q while the only slot is held, want 503", status)
		}
	}
}
