// Package memcap runs one test in a child process whose address space is capped, so an
// input that makes the code under test allocate without bound fails that test (the child
// dies with "out of memory") instead of taking the machine down. The child reports its
// peak resident memory, which the parent checks against a budget.
//
// A test that uses it is named ...Bounded... (TestHugeInputIsBounded): make test runs the race
// packages without -race only for their memory-capped tests, selected by that word.
//
//	func TestHugeInputIsBounded(t *testing.T) {
//		if memcap.Run(t, memcap.Limits{AddressSpace: 2 << 30, PeakRSS: 300 << 20}) {
//			return // the parent: the child ran the body below and passed
//		}
//		... the test body, run in the capped child
//	}
package memcap

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/landfall-dev/landfall/sandbox"
)

// Limits of the child.
type Limits struct {
	// AddressSpace caps the child's virtual memory (RLIMIT_AS). The Go runtime reserves
	// address space it does not touch, so this is well above PeakRSS.
	AddressSpace int64
	// PeakRSS is the budget the child's peak resident memory (VmHWM) must stay under.
	PeakRSS int64
}

// Selector is the word in the name of every memory-capped test (go test -run Bounded).
const Selector = "Bounded"

const (
	envChild  = "LANDFALL_MEMCAP_CHILD"
	peakLabel = "memcap-peak-rss-bytes="
)

// Run returns true in the parent, after running the calling test in a capped child and
// failing t if the child failed or went over the budget. In the child it caps the
// process, arranges to report the peak when the test ends, and returns false: the caller
// then runs the test body.
func Run(t *testing.T, lim Limits) bool {
	t.Helper()
	if top, _, _ := strings.Cut(t.Name(), "/"); !strings.Contains(top, Selector) {
		t.Fatalf("memcap: %s runs under a memory cap, so its name must contain %q: make test runs the race packages' capped tests without -race by that word", top, Selector)
	}
	if sandbox.RaceEnabled {
		t.Skip("the race detector maps more address space than any cap allows; make test runs this test in its pass without -race")
	}
	if os.Getenv(envChild) == t.Name() {
		capChild(t, lim)
		return false
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run="+runPattern(t.Name()), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+t.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run() // the child stops its own processes; Run waits for it
	peak := parsePeak(out.String())
	if runErr != nil || peak < 0 {
		t.Fatalf("capped child (address space %d MiB): %v, peak %d; output:\n%s",
			lim.AddressSpace>>20, runErr, peak, tail(out.String(), 8000))
	}
	t.Logf("peak resident memory %d MiB (budget %d MiB)", peak>>20, lim.PeakRSS>>20)
	if peak > lim.PeakRSS {
		t.Errorf("peak resident memory %d MiB is over the budget of %d MiB", peak>>20, lim.PeakRSS>>20)
	}
	return true
}

// runPattern matches the test named name and no other: -test.run splits its pattern at
// slashes and matches each part against one level of subtest, so each part is anchored.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

func capChild(t *testing.T, lim Limits) {
	rl := syscall.Rlimit{Cur: uint64(lim.AddressSpace), Max: uint64(lim.AddressSpace)}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		t.Fatalf("memcap: setrlimit: %v", err)
	}
	t.Cleanup(func() {
		if peak, err := PeakRSS(); err == nil {
			fmt.Printf("\n%s%d\n", peakLabel, peak)
		}
	})
}

// PeakRSS returns this process's peak resident memory (VmHWM).
func PeakRSS() (int64, error) { return sandbox.StatusBytes("VmHWM") }

func parsePeak(out string) int64 {
	i := strings.LastIndex(out, peakLabel)
	if i < 0 {
		return -1
	}
	line, _, _ := strings.Cut(out[i+len(peakLabel):], "\n")
	n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
