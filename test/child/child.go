// Package child runs a test server as a child process: its output is kept for failure
// messages, and it is stopped by its PID when the test ends (SIGTERM, then SIGKILL if it
// lingers), on failure too.
package child

import (
	"bytes"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a started child.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    syncBuffer
}

// Start starts cmd, its stdout and stderr kept, and stops it when the test ends.
func Start(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// Exited is closed once the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Log is what the process printed so far.
func (p *Process) Log() string { return p.log.String() }

func (p *Process) stop(t testing.TB) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Logf("%s ignored SIGTERM; killing it", p.cmd.Path)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// syncBuffer collects output; stdout and stderr write concurrently.
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
