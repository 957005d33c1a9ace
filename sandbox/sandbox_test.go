package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Main(serveTest) // the children of these tests are this test binary
	os.Exit(m.Run())
}

// serveTest answers the requests of these tests: "pid", "sleep", "fail", "crash",
// "alloc BYTES" and "write BYTES".
func serveTest(in io.Reader, out io.Writer) error {
	b, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	verb, arg, _ := strings.Cut(string(b), " ")
	n, _ := strconv.Atoi(arg)
	switch verb {
	case "pid":
		_, err = fmt.Fprint(out, os.Getpid())
	case "sleep":
		time.Sleep(time.Hour)
	case "fail":
		return errors.New("the request failed\nsecond line")
	case "crash":
		fmt.Fprintln(os.Stderr, "crashing on purpose")
		os.Exit(3)
	case "alloc":
		held := make([][]byte, 0)
		for len(held)*(1<<20) < n {
			chunk := make([]byte, 1<<20)
			for i := range chunk {
				chunk[i] = 1
			}
			held = append(held, chunk)
		}
		_, err = fmt.Fprint(out, len(held))
	case "write":
		_, err = out.Write(make([]byte, n))
	}
	return err
}

func runner(t *testing.T, cfg Config) *Runner {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Command = []string{exe}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func pid(t *testing.T, r *Runner) int {
	t.Helper()
	out, err := r.Run(context.Background(), []byte("pid"), 64)
	if err != nil {
		t.Fatalf("pid: %v", err)
	}
	p, err := strconv.Atoi(string(out))
	if err != nil {
		t.Fatalf("pid: answer %q", out)
	}
	return p
}

// waitGone polls until process p no longer exists (exited and waited for).
func waitGone(t *testing.T, p int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if errors.Is(syscall.Kill(p, 0), syscall.ESRCH) {
			return
		}
	}
	t.Fatalf("child %d still exists", p)
}

func TestAChildServesManyRequests(t *testing.T) {
	r := runner(t, Config{MaxConcurrent: 1})
	first := pid(t, r)
	if first == os.Getpid() {
		t.Fatal("the request ran in this process")
	}
	for range 5 {
		if p := pid(t, r); p != first {
			t.Fatalf("request served by child %d, want the idle child %d", p, first)
		}
	}
}

func TestAChildRetiresAfterMaxUses(t *testing.T) {
	r := runner(t, Config{MaxConcurrent: 1, MaxUses: 2})
	a, b, c := pid(t, r), pid(t, r), pid(t, r)
	if a != b || c == a {
		t.Fatalf("children %d, %d, %d: want the first two requests in one child and the third in a new one", a, b, c)
	}
	waitGone(t, a)
}

func TestAFailedChildIsReplaced(t *testing.T) {
	cases := []struct {
		request string
		cfg     Config
		limit   bool
		want    string
	}{
		{"crash", Config{}, false, "exit status 3: crashing on purpose"},
		{"sleep", Config{Timeout: 300 * time.Millisecond}, true, "did not finish within 300ms (the timeout)"},
		{"alloc 1073741824", Config{MaxMemory: 64 << 20}, true, "needed more than 64 MiB of memory (the memory limit)"},
		{"write 4096", Config{}, true, "wrote more than 100 bytes of output"},
	}
	for _, tc := range cases {
		t.Run(tc.request, func(t *testing.T) {
			tc.cfg.MaxConcurrent = 1
			r := runner(t, tc.cfg)
			before := pid(t, r)
			_, err := r.Run(context.Background(), []byte(tc.request), 100)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrLimit) != tc.limit {
				t.Fatalf("error = %v, want one naming %q (a limit: %v)", err, tc.want, tc.limit)
			}
			waitGone(t, before)
			if after := pid(t, r); after == before {
				t.Fatalf("the failed child %d served the next request", before)
			}
		})
	}
}

func TestAnErrorOfServeIsAnErrorAndTheChildStays(t *testing.T) {
	r := runner(t, Config{MaxConcurrent: 1})
	before := pid(t, r)
	_, err := r.Run(context.Background(), []byte("fail"), 100)
	if err == nil || err.Error() != "sandbox child: the request failed" || errors.Is(err, ErrLimit) {
		t.Fatalf("error = %v, want the first line of serve's error", err)
	}
	if after := pid(t, r); after != before {
		t.Fatalf("child %d after an error, want %d", after, before)
	}
}

func TestCancelledRequestKillsItsChild(t *testing.T) {
	r := runner(t, Config{MaxConcurrent: 1})
	before := pid(t, r)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if _, err := r.Run(ctx, []byte("sleep"), 100); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want %v", err, context.Canceled)
	}
	waitGone(t, before)
}

func TestIdleChildrenStop(t *testing.T) {
	r := runner(t, Config{IdleTimeout: 100 * time.Millisecond})
	waitGone(t, pid(t, r))
	r = runner(t, Config{})
	p := pid(t, r)
	r.Close()
	waitGone(t, p)
}

func TestConcurrentRequestsShareAtMostMaxConcurrentChildren(t *testing.T) {
	r := runner(t, Config{MaxConcurrent: 2})
	var mu sync.Mutex
	pids := map[int]bool{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			p := pid(t, r)
			mu.Lock()
			pids[p] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(pids) == 0 || len(pids) > 2 {
		t.Fatalf("%d children served 16 requests, want 1 or 2", len(pids))
	}
}
