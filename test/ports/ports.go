// Package ports hands out free loopback ports for servers that tests start in other
// processes. A port from listen(":0") comes from the kernel's ephemeral range, where the
// next outbound connection of any process may take it between the check and the server's
// own bind; ports below that range (Linux: from 32768) are never used for outbound
// connections, so only another test picking the same port could race, and picks are random.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

const (
	low  = 20000
	high = 32767 // below Linux's default ephemeral range
)

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Port returns a free loopback port that this process has not handed out before.
func Port() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	for range 1000 {
		p := low + rand.IntN(high-low+1)
		if given[p] {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		_ = l.Close()
		given[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("no free port between %d and %d", low, high)
}

// Addr returns "127.0.0.1:<port>" for a free port.
func Addr() (string, error) {
	p, err := Port()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}
