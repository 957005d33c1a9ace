package webhook_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/sync/source/webhook"
)

// A source is heard until it has been refused burst times; then it waits for the refill,
// and Retry-After says how long.
func TestRefusalsLimitASourceAfterItsBurst(t *testing.T) {
	r := webhook.NewRefusals(0.5, 3, 10) // one token every 2 s
	at := time.Unix(1_000_000, 0)
	for i := range 3 {
		if _, ok := r.Check("10.0.0.1", at); !ok {
			t.Fatalf("refusal %d of a burst of 3 was limited", i+1)
		}
		r.Refused("10.0.0.1", at)
	}
	wait, ok := r.Check("10.0.0.1", at)
	if ok || wait != 2*time.Second {
		t.Fatalf("after the burst: ok=%v retry after %s, want limited for 2s", ok, wait)
	}
	if _, ok := r.Check("10.0.0.2", at); !ok {
		t.Fatal("another source is limited by the first one's refusals")
	}
	if wait, ok := r.Check("10.0.0.1", at.Add(time.Second)); ok || wait != time.Second {
		t.Fatalf("half-way to a token: ok=%v retry after %s, want limited for 1s", ok, wait)
	}
	if _, ok := r.Check("10.0.0.1", at.Add(2*time.Second)); !ok {
		t.Fatal("a source is still limited once a token has come back")
	}
}

// Accepted requests are not charged: only Refused takes tokens, so a source that signs is
// never limited by its own volume.
func TestRefusalsRememberOnlyRefusedSources(t *testing.T) {
	r := webhook.NewRefusals(1, 1, 10)
	at := time.Unix(1_000_000, 0)
	for range 1000 {
		if _, ok := r.Check("10.0.0.1", at); !ok {
			t.Fatal("a source never refused was limited")
		}
	}
	if r.Len() != 0 {
		t.Fatalf("%d sources remembered, none was refused", r.Len())
	}
}

// The table is bounded: past maxSources the least recently refused source is forgotten,
// and a forgotten source starts again with a full bucket.
func TestRefusalsTableIsBounded(t *testing.T) {
	r := webhook.NewRefusals(1, 1, 100)
	at := time.Unix(1_000_000, 0)
	for i := range 1000 {
		r.Refused(fmt.Sprintf("10.0.%d.%d", i/256, i%256), at)
	}
	if r.Len() != 100 {
		t.Fatalf("%d sources remembered, want the bound of 100", r.Len())
	}
	if _, ok := r.Check("10.0.3.231", at); ok { // the last refused, i = 999
		t.Fatal("the most recently refused source was forgotten")
	}
	if _, ok := r.Check("10.0.0.0", at); !ok { // the first refused, evicted
		t.Fatal("the least recently refused source was kept past the bound")
	}
}

func TestSourceOf(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:4711":             "192.0.2.7",
		"[::ffff:192.0.2.7]:4711":    "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64", // the same subscriber's block
		"[2001:db8:1:3::1]:443":      "2001:db8:1:3::/64",
		"@":                          "@", // a unix socket's remote address
		"not an address":             "not an address",
		"127.0.0.2:1":                "127.0.0.2",
		"[fe80::1%eth0]:80":          "fe80::/64",
	} {
		if got := webhook.SourceOf(addr); got != want {
			t.Errorf("SourceOf(%q) = %q, want %q", addr, got, want)
		}
	}
}
