//go:build race

package sandbox

import (
	"fmt"
	"os"
	"runtime/metrics"
	"time"
)

// RaceEnabled reports a binary built with -race. The race detector maps terabytes of
// shadow memory at fixed addresses, so such a process cannot run under an address-space
// cap. Only tests are built so; their children watch the Go runtime's own memory instead.
const RaceEnabled = true

// watchMemory ends the process as the address-space cap would once the Go runtime holds
// more than max bytes (the race detector's shadow memory is not counted). It samples
// often enough that one large allocation is caught before it is filled.
func watchMemory(max int64) {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	for range time.Tick(2 * time.Millisecond) {
		metrics.Read(sample)
		if v := sample[0].Value; v.Kind() == metrics.KindUint64 && int64(v.Uint64()) > max {
			fmt.Fprintln(os.Stderr, "sandbox: out of memory: the Go runtime holds more than the limit")
			os.Exit(2)
		}
	}
}
