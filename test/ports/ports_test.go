package ports

import (
	"net"
	"strconv"
	"testing"
)

func TestPortsAreFreeDistinctAndBelowTheEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := Port()
		if err != nil {
			t.Fatal(err)
		}
		if p < low || p > high || seen[p] {
			t.Fatalf("port %d: out of [%d, %d] or handed out twice", p, low, high)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		_ = l.Close()
	}
}

func TestReservationKeepsAPortFromOtherProcesses(t *testing.T) {
	p, err := Port()
	if err != nil {
		t.Fatal(err)
	}
	// Another process (simulated: the reservation file is shared) cannot claim it.
	if reserve(p) {
		t.Fatalf("port %d was reserved twice", p)
	}
}
