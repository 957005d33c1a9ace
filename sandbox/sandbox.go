// Package sandbox runs one step of this binary in a child process whose memory and time
// are capped, for work whose cost the input decides and that Go cannot interrupt (a Helm
// template that builds a huge string). The child is the running binary itself: its main
// calls Main first, which serves the step and exits when the process is a child.
//
// Only the parent's own executable is started, never another program. The child caps its
// address space (RLIMIT_AS) before it reads any untrusted input and is killed, by its PID,
// at the timeout; either failure is an error wrapping ErrLimit, and the parent lives on.
package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrLimit means the child needed more memory, time or output than allowed. Such errors
// also have a method LimitExceeded, for callers that do not import this package.
var ErrLimit = errors.New("sandbox limit exceeded")

type limitError struct{ msg string }

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimit }

// LimitExceeded reports that this error is a limit.
func (e *limitError) LimitExceeded() bool { return true }

func overLimit(format string, args ...any) error {
	return &limitError{msg: fmt.Sprintf(format, args...)}
}

// Config bounds the children of a Runner. Zero fields take the defaults below.
type Config struct {
	// Command starts the child, usually []string{os.Executable()}; its main calls Main.
	Command []string
	// MaxMemory is the address space one child may add to what it starts with.
	MaxMemory int64
	// Timeout bounds one child.
	Timeout time.Duration
	// MaxConcurrent bounds the children running at once, and so their memory together.
	MaxConcurrent int
}

// Defaults.
const (
	DefaultMaxMemory     int64 = 320 << 20
	DefaultTimeout             = time.Minute
	DefaultMaxConcurrent       = 2
)

const (
	envChild  = "LANDFALL_SANDBOX"
	envMemory = "LANDFALL_SANDBOX_MEMORY"
)

// Runner starts children. It is safe for concurrent use.
type Runner struct {
	cfg     Config
	slots   chan struct{}
	peakRSS atomic.Int64
}

// PeakChildRSS returns the largest peak resident memory of any child that ended so far.
func (r *Runner) PeakChildRSS() int64 { return r.peakRSS.Load() }

func (r *Runner) notePeak(st *os.ProcessState) {
	if st == nil {
		return
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		rss := ru.Maxrss << 10 // kilobytes on Linux
		for old := r.peakRSS.Load(); rss > old && !r.peakRSS.CompareAndSwap(old, rss); old = r.peakRSS.Load() {
		}
	}
}

// New returns a Runner; cfg.Command is required.
func New(cfg Config) (*Runner, error) {
	if len(cfg.Command) == 0 {
		return nil, errors.New("sandbox: Config.Command is required")
	}
	cfg.MaxMemory = orDefault(cfg.MaxMemory, DefaultMaxMemory)
	cfg.Timeout = orDefault(cfg.Timeout, DefaultTimeout)
	cfg.MaxConcurrent = orDefault(cfg.MaxConcurrent, DefaultMaxConcurrent)
	return &Runner{cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent)}, nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Run starts a child with request on its standard input and returns what it wrote to its
// standard output, at most maxOutput bytes.
func (r *Runner) Run(ctx context.Context, request []byte, maxOutput int64) ([]byte, error) {
	if os.Getenv(envChild) != "" {
		// A child whose main did not call Main would start children of its own.
		return nil, errors.New("sandbox: this child process did not call sandbox.Main")
	}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	runCtx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, r.cfg.Command[0], r.cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), envChild+"=1", envMemory+"="+strconv.FormatInt(r.cfg.MaxMemory, 10))
	cmd.Stdin = bytes.NewReader(request)
	stdout, stderr := &capped{max: maxOutput}, &capped{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run() // CommandContext kills the child at the timeout
	r.notePeak(cmd.ProcessState)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case runCtx.Err() != nil:
		return nil, overLimit("did not finish within %s (the timeout)", r.cfg.Timeout)
	case err != nil && outOfMemory(stderr.String()):
		return nil, overLimit("needed more than %d MiB of memory (the memory limit)", r.cfg.MaxMemory>>20)
	case stdout.over:
		return nil, overLimit("wrote more than %d bytes of output", maxOutput)
	case err != nil:
		return nil, fmt.Errorf("sandbox child: %w: %s", err, firstLine(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func outOfMemory(stderr string) bool {
	return strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory") ||
		strings.Contains(stderr, "failed to create new OS thread")
}

// Main serves one request with serve and exits when this process is a child, and returns
// at once otherwise. Call it first in main, and in TestMain of tests whose Runner starts
// the test binary.
func Main(serve func(in io.Reader, out io.Writer) error) {
	if os.Getenv(envChild) == "" {
		return
	}
	os.Exit(child(serve))
}

func child(serve func(in io.Reader, out io.Writer) error) int {
	max, err := strconv.ParseInt(os.Getenv(envMemory), 10, 64)
	if err == nil {
		err = capMemory(max)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: capping memory:", err)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	if err := serve(os.Stdin, out); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 2
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: writing the answer:", err)
		return 2
	}
	return 0
}

// capMemory lets the process map at most max bytes more than it has mapped now (the Go
// runtime reserves address space at start), and makes the collector work hard before.
func capMemory(max int64) error {
	if RaceEnabled {
		go watchMemory(max)
		return nil
	}
	vsz, err := StatusBytes("VmSize")
	if err != nil {
		return err
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return err
	}
	rl.Cur = min(uint64(vsz+max), rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return err
	}
	debug.SetMemoryLimit(max * 3 / 4)
	return nil
}

// StatusBytes returns a memory field of /proc/self/status ("VmSize", "VmHWM") in bytes.
func StatusBytes(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

// capped keeps the first max bytes written to it and remembers that more came. A Go
// crash says why in its first lines.
type capped struct {
	bytes.Buffer
	max  int64
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - int64(c.Len()); int64(len(p)) > room {
		c.over = true
		p = p[:max(0, room)]
	}
	c.Buffer.Write(p)
	return n, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
