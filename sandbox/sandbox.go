// Package sandbox runs steps of this binary in child processes whose memory and time are
// capped, for work whose cost the input decides and that Go cannot interrupt (a Helm
// template that builds a huge string). The child is the running binary itself: its main
// calls Main first, which serves requests and exits when the process is a child. A child
// serves one request at a time and many in its life, so a request costs no process start.
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
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// Timeout bounds one request.
	Timeout time.Duration
	// MaxConcurrent bounds the children running at once, and so their memory together.
	MaxConcurrent int
	// MaxUses is how many requests one child serves before it is replaced.
	MaxUses int
	// IdleTimeout is how long a child waits for its next request before it is stopped.
	IdleTimeout time.Duration
}

// Defaults.
const (
	DefaultMaxMemory     int64 = 320 << 20
	DefaultTimeout             = time.Minute
	DefaultMaxConcurrent       = 2
	DefaultMaxUses             = 100
	DefaultIdleTimeout         = 30 * time.Second
)

const (
	envChild  = "LANDFALL_SANDBOX"
	envMemory = "LANDFALL_SANDBOX_MEMORY"
	envUses   = "LANDFALL_SANDBOX_USES"
)

// Runner keeps up to MaxConcurrent children, each serving one request at a time: a request
// goes to an idle child, or to a new one. A child that fails, runs over a limit or is
// cancelled is killed and never used again; one that served MaxUses requests, or whose
// memory grew past half of MaxMemory, exits after its answer; one idle for IdleTimeout is
// stopped. It is safe for concurrent use.
type Runner struct {
	cfg     Config
	slots   chan struct{}
	peakRSS atomic.Int64

	mu     sync.Mutex
	idle   []*worker
	closed bool
}

// PeakChildRSS returns the largest peak resident memory any child reported so far.
func (r *Runner) PeakChildRSS() int64 { return r.peakRSS.Load() }

func (r *Runner) notePeak(rss int64) {
	for old := r.peakRSS.Load(); rss > old && !r.peakRSS.CompareAndSwap(old, rss); old = r.peakRSS.Load() {
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
	cfg.MaxUses = orDefault(cfg.MaxUses, DefaultMaxUses)
	cfg.IdleTimeout = orDefault(cfg.IdleTimeout, DefaultIdleTimeout)
	return &Runner{cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent)}, nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Run hands request to a child and returns its answer, at most maxOutput bytes.
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
	w, err := r.take()
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	h, out, err := w.call(runCtx, request, maxOutput)
	r.notePeak(h.peakRSS)
	switch {
	case err == nil && h.status&statusRetiring == 0:
		r.put(w)
	case err == nil:
		w.close()
	default:
		w.kill()
	}
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case runCtx.Err() != nil:
		return nil, overLimit("did not finish within %s (the timeout)", r.cfg.Timeout)
	case errors.Is(err, errOutput):
		return nil, overLimit("wrote more than %d bytes of output", maxOutput)
	case err != nil:
		return nil, w.crash(r.cfg.MaxMemory)
	case h.status&^statusRetiring == statusFailed:
		return nil, fmt.Errorf("sandbox child: %s", firstLine(string(out)))
	}
	return out, nil
}

// take returns an idle child that is still running, or starts one.
func (r *Runner) take() (*worker, error) {
	r.mu.Lock()
	for len(r.idle) > 0 {
		w := r.idle[len(r.idle)-1]
		r.idle = r.idle[:len(r.idle)-1]
		w.idle.Stop()
		if w.alive() {
			r.mu.Unlock()
			return w, nil
		}
		go w.kill() // exited while idle (killed from outside): its pipes are closed here
	}
	r.mu.Unlock()
	return r.startWorker()
}

// put keeps w for the next request, and stops it once it has been idle too long.
func (r *Runner) put(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		go w.close()
		return
	}
	r.idle = append(r.idle, w)
	w.idle = time.AfterFunc(r.cfg.IdleTimeout, func() {
		r.mu.Lock()
		i := slices.Index(r.idle, w)
		if i >= 0 {
			r.idle = slices.Delete(r.idle, i, i+1)
		}
		r.mu.Unlock()
		if i >= 0 {
			w.close()
		}
	})
}

// Close stops the idle children and those still serving once they answer.
func (r *Runner) Close() {
	r.mu.Lock()
	idle := r.idle
	r.idle, r.closed = nil, true
	r.mu.Unlock()
	for _, w := range idle {
		w.idle.Stop()
		w.close()
	}
}

func outOfMemory(stderr string) bool {
	return strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory") ||
		strings.Contains(stderr, "failed to create new OS thread")
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
