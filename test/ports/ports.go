// Package ports hands out free loopback ports for servers that tests start in other
// processes. A port from listen(":0") comes from the kernel's ephemeral range, where the
// next outbound connection of any process may take it between the check and the server's
// own bind; ports below that range (Linux: from 32768) are never used for outbound
// connections. Test processes running in parallel reserve each port they hand out with a
// file in a shared folder, so two of them never pick the same one.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
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
		if !reserve(p) {
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

// reservations holds one file per port handed out; a file older than reservationTTL is
// left over from a finished run and may be taken again.
var reservations = filepath.Join(os.TempDir(), "landfall-ports")

const reservationTTL = time.Hour

// reserve claims p across processes by creating its file exclusively.
func reserve(p int) bool {
	if err := os.MkdirAll(reservations, 0o777); err != nil {
		return true // no shared folder: fall back to the bind check alone
	}
	path := filepath.Join(reservations, strconv.Itoa(p))
	for range 2 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_ = f.Close()
			return true
		}
		st, serr := os.Stat(path)
		if serr != nil || time.Since(st.ModTime()) < reservationTTL {
			return false
		}
		_ = os.Remove(path) // stale: try once more
	}
	return false
}
