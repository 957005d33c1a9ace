package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/landfall-dev/landfall/test/ports"
	"github.com/landfall-dev/landfall/test/testbin"
)

// process is one running component.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// run starts a testbin binary with its output in logs/<name>.log.
func (c *Cluster) run(name, binary string, args ...string) (*process, error) {
	logPath := c.path("logs", name+".log")
	// A component started again after an outage appends to its log: the first run's lines
	// explain the test's failures as much as the second's.
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if c.proc(name) != nil {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	out, err := os.OpenFile(logPath, flags, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(testbin.Path(binary), args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = cleanEnv()
	// Own process group: a signal to the test does not reach the components early, and
	// a detached cluster outlives the command that started it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !c.opts.Detach {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); out.Close(); close(p.done) }()
	c.replaceOrAppend(p)
	if err := c.recordPIDs(); err != nil {
		return nil, err
	}
	return p, nil
}

// cleanEnv drops ETCD_* variables (etcd reads them as flags) and proxies (all traffic is local).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k := strings.ToUpper(strings.SplitN(kv, "=", 2)[0])
		if strings.HasPrefix(k, "ETCD_") || strings.HasSuffix(k, "_PROXY") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// proc returns the component called name, running or not, or nil.
func (c *Cluster) proc(name string) *process {
	for _, p := range c.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// replaceOrAppend records p, in the place of an earlier run of the same component so the
// start order (and so the reverse stop order) stays as it was.
func (c *Cluster) replaceOrAppend(p *process) {
	for i, old := range c.procs {
		if old.name == p.name {
			c.procs[i] = p
			return
		}
	}
	c.procs = append(c.procs, p)
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits, then SIGKILL. It signals only the process it started.
func (p *process) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// recordPIDs writes "name pid" lines to <dir>/pids, so `make cluster-down` stops exactly
// what this cluster started.
func (c *Cluster) recordPIDs() error {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "%s %d %s\n", p.name, p.cmd.Process.Pid, p.cmd.Path)
	}
	return os.WriteFile(c.path("pids"), []byte(b.String()), 0o644)
}

// waitFor polls check until it succeeds, a component exits, or the timeout passes.
func (c *Cluster) waitFor(ctx context.Context, what string, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var last error
	for {
		if last = check(ctx); last == nil {
			c.opts.Log("%s ready after %s", what, time.Since(start).Round(time.Millisecond))
			return nil
		}
		for _, p := range c.procs {
			if p.exited() {
				return fmt.Errorf("%s %w while waiting for %s; log %s:\n%s", p.name, errExited, what, p.log, tail(p.log, 15))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v); logs in %s", what, ctx.Err(), last, c.path("logs")) //nolint:errorlint // the deadline is the cause; the last error is context
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts finds n free loopback ports; the ports package never hands out one twice.
func freePorts(n int) ([]int, error) {
	var out []int
	for range n {
		p, err := ports.Port()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// StopRecorded stops the processes listed in <dir>/pids by a detached cluster (make
// cluster-down), in reverse start order, checking each PID still runs the same binary.
func StopRecorded(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		return fmt.Errorf("no cluster recorded in %s: %w", dir, err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var name, path string
		var pid int
		if _, err := fmt.Sscanf(lines[i], "%s %d %s", &name, &pid, &path); err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != path {
			continue // gone, or the PID now belongs to something else
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for j := 0; j < 150 && alive(pid, path); j++ {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(pid, path) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "etcd-data")); err == nil {
		_ = os.RemoveAll(strings.TrimSpace(string(data)))
	}
	return os.Remove(filepath.Join(dir, "pids"))
}

func alive(pid int, path string) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && exe == path
}
