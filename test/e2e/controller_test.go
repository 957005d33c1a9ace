package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/landfall-dev/landfall/test/ports"
)

// controller is the landfall binary running as a child process.
type controller struct {
	cmd         *exec.Cmd
	logPath     string
	webhookAddr string
	metricsAddr string
	probeAddr   string
	// dashboardAddr serves the web dashboard (users sign in with bearer tokens).
	dashboardAddr string
	done          chan struct{}
}

// startController runs `landfall controller` against kubeconfig with free loopback ports,
// its output in dir/controller.log, and returns once it is ready and takes webhooks.
func startController(ctx context.Context, dir, kubeconfig string, extraArgs ...string) (*controller, error) {
	bin, err := landfallBinary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addrs, err := freeAddrs(4)
	if err != nil {
		return nil, err
	}
	c := &controller{logPath: filepath.Join(dir, "controller.log"), metricsAddr: addrs[0], probeAddr: addrs[1],
		webhookAddr: addrs[2], dashboardAddr: addrs[3], done: make(chan struct{})}
	out, err := os.Create(c.logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"controller", "--kubeconfig", kubeconfig, "--leader-elect=false",
		"--metrics-bind-address", c.metricsAddr, "--health-probe-bind-address", c.probeAddr,
		"--webhook-bind-address", c.webhookAddr, "--dashboard-bind-address", c.dashboardAddr, "--cache-dir", filepath.Join(dir, "cache"), "--log-json=false"},
		extraArgs...)
	c.cmd = exec.Command(bin, args...)
	c.cmd.Stdout, c.cmd.Stderr = out, out
	// The controller must not outlive a test binary that crashes or is killed.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	go func() { _ = c.cmd.Wait(); out.Close(); close(c.done) }()
	if err := c.waitServing(ctx, 60*time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// waitServing waits for /readyz and for the webhook receiver to answer (any HTTP status).
func (c *controller) waitServing(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		ready := httpStatus(hc, http.MethodGet, "http://"+c.probeAddr+"/readyz") == http.StatusOK
		if ready && httpStatus(hc, http.MethodPost, "http://"+c.webhookAddr+"/hooks/none/none") > 0 {
			return nil
		}
		if !c.alive() {
			return fmt.Errorf("the controller exited while starting; log:\n%s", c.logSince(0, 50))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the controller did not serve within %s; log %s", timeout, c.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func httpStatus(hc *http.Client, method, url string) int {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (c *controller) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func (c *controller) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM and waits, then kills. It signals only the process it started.
func (c *controller) stop() {
	if !c.alive() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(40 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// memory returns VmRSS and VmHWM (the peak RSS since the process started), in bytes.
func (c *controller) memory() (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.pid()))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || fields[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		switch fields[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	if rss == 0 || peak == 0 {
		return 0, 0, fmt.Errorf("no VmRSS/VmHWM in /proc/%d/status", c.pid())
	}
	return rss, peak, sc.Err()
}

func (c *controller) logSize() int64 {
	st, err := os.Stat(c.logPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logSince returns the log written after offset, at most its last maxLines lines.
func (c *controller) logSince(offset int64, maxLines int) string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err.Error()
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > maxLines {
		lines = append([]string{fmt.Sprintf("[… %d earlier lines in %s]", len(lines)-maxLines, c.logPath)},
			lines[len(lines)-maxLines:]...)
	}
	return strings.Join(lines, "\n")
}

// freeAddrs returns n distinct free loopback addresses, below the ephemeral port range so
// no outbound connection takes one before the controller binds it.
func freeAddrs(n int) ([]string, error) {
	var addrs []string
	for range n {
		a, err := ports.Addr()
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}
