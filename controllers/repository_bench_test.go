package controllers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// BenchmarkWebhookToRevision measures what a developer waits for after git push: from
// the webhook request to status.revision naming the new commit, seen through a watch as
// the Application controller would see it. One op is 50 pushes; p50_ms and p99_ms are over
// every push. The push itself (git CLI) is not timed.
func BenchmarkWebhookToRevision(b *testing.B) {
	const pushes = 50
	srv := gitserver.New(b, gitserver.Options{})
	srv.Commit(b, "main", map[string]string{"README": "0"})
	ns := newNamespace(b)
	createSecret(b, ns, "git", map[string]string{"username": srv.Username, "password": srv.Password})
	createSecret(b, ns, "hook", map[string]string{"token": hookToken})
	repo := createRepository(b, ns, "config", landfallv1.RepositorySpec{
		URL: srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true, Interval: hourly,
		SecretRef:        &landfallv1.LocalObjectReference{Name: "git"},
		WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"},
	})
	timePushes(b, srv, repo, pushes)
}

// timePushes times, pushes times per op, a commit's way from the webhook request to the
// Repository's status, and reports p50_ms and p99_ms. The push itself is not timed.
func timePushes(b *testing.B, srv *gitserver.Server, repo *landfallv1.Repository, pushes int) {
	events := watchRepository(b, repo)
	body := []byte(githubPushBody)
	var latencies []time.Duration
	n := 0
	for b.Loop() {
		for range pushes {
			n++
			b.StopTimer()
			want := "main@sha1:" + srv.Commit(b, "main", map[string]string{"README": strconv.Itoa(n)})
			b.StartTimer()
			start := time.Now()
			if code, err := postWebhook(repo, githubPush(hookToken, body), body); err != nil || code != 200 {
				b.Fatalf("webhook: %d, %v", code, err)
			}
			awaitRevision(b, events, want)
			latencies = append(latencies, time.Since(start))
		}
	}
	b.ReportMetric(ms(percentile(latencies, 50)), "p50_ms")
	b.ReportMetric(ms(percentile(latencies, 99)), "p99_ms")
}

// watchRepository streams the Repository's changes until the benchmark ends.
func watchRepository(b *testing.B, repo *landfallv1.Repository) <-chan watch.Event {
	b.Helper()
	wc, err := client.NewWithWatch(restConfig, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	w, err := wc.Watch(context.Background(), &landfallv1.RepositoryList{},
		client.InNamespace(repo.Namespace), client.MatchingFields{"metadata.name": repo.Name})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	return w.ResultChan()
}

func awaitRevision(b *testing.B, events <-chan watch.Event, want string) {
	b.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				b.Fatal("watch closed")
			}
			if r, isRepo := ev.Object.(*landfallv1.Repository); isRepo && r.Status.Revision == want {
				return
			}
		case <-deadline:
			b.Fatalf("status.revision did not become %s within %s", want, timeout)
		}
	}
}

// percentile is the nearest-rank percentile of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 × n)
	return s[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkRepositoryPolling measures the controller's CPU for 100 Repositories polled
// every 10 s with an unchanged remote, the steady state of a quiet fleet: each poll is a
// remote check (ref advertisement), a status patch and the watch event it causes.
//
// The CPU is the benchmark process's own (getrusage), which holds the manager and nothing
// else busy: the Git server runs in a child process (this test binary re-run as
// TestGitServerProcess), and etcd and kube-apiserver are processes of their own, so none
// of them is counted. The process's idle CPU is measured first over one interval and
// reported as idle_cpu_ms_per_cycle; cpu_ms_per_cycle is all of the process's CPU per
// interval while polling, and cpu_ms_per_poll the share of one poll above idle. The Git
// server's CPU (its process and the git-http-backend children it forks) is reported
// as git_server_cpu_ms_per_cycle for comparison. The window is measured, not assumed:
// cycles are polls counted by the landfall_git_operation_duration_seconds histogram,
// divided by 100.
func BenchmarkRepositoryPolling(b *testing.B) {
	const repos, interval = 100, 10 * time.Second
	g := NewWithT(b)
	srv := startGitServerProcess(b)
	idle := measureCPU(interval) // nothing to poll yet: the manager's background

	ns := newNamespace(b)
	createSecret(b, ns, "git", map[string]string{"username": srv.Username, "password": srv.Password})
	for i := range repos {
		createRepository(b, ns, fmt.Sprintf("repo-%03d", i), landfallv1.RepositorySpec{
			URL: srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true,
			Interval: &metav1.Duration{Duration: interval}, SecretRef: &landfallv1.LocalObjectReference{Name: "git"},
		})
	}
	g.Eventually(func(g Gomega) int { return revisionsIn(g, ns) }, 3*time.Minute, time.Second).Should(Equal(repos))

	var cpu, serverCPU time.Duration
	var polls float64
	for b.Loop() {
		// The window spans three intervals, so every Repository polls about three times.
		serverBefore, checksBefore := srv.cpu(b), checkCount(g)
		cpu += measureCPU(3 * interval)
		serverCPU += srv.cpu(b) - serverBefore
		polls += checkCount(g) - checksBefore
	}
	cycles := polls / repos
	b.ReportMetric(ms(cpu)/cycles, "cpu_ms_per_cycle")
	b.ReportMetric(ms(idle), "idle_cpu_ms_per_cycle")
	b.ReportMetric((ms(cpu)-ms(idle)*cycles)/polls, "cpu_ms_per_poll")
	b.ReportMetric(ms(serverCPU)/cycles, "git_server_cpu_ms_per_cycle")
}

// measureCPU returns the CPU the process used during window. The wait is the measurement
// window itself, not a wait for an outcome.
func measureCPU(window time.Duration) time.Duration {
	start := processCPU()
	<-time.After(window)
	return processCPU() - start
}

// processCPU is the user and system CPU time of every thread of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// checkCount is the number of remote checks the controller has made.
func checkCount(g Gomega) float64 {
	var n float64
	for _, s := range series(g, "landfall_git_operation_duration_seconds") {
		if s.labels["operation"] == "check" {
			n += s.value
		}
	}
	return n
}

// revisionsIn counts the Repositories in ns with a revision.
func revisionsIn(g Gomega, ns string) int {
	list := &landfallv1.RepositoryList{}
	g.Expect(k8s.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	n := 0
	for _, r := range list.Items {
		if r.Status.Revision != "" {
			n++
		}
	}
	return n
}

// gitServerProcessEnv makes the test binary serve Git for a benchmark instead of testing.
const gitServerProcessEnv = "LANDFALL_BENCH_GIT_SERVER"

func isGitServerProcess() bool { return os.Getenv(gitServerProcessEnv) == "1" }

// gitServerInfo is what the Git server process tells the benchmark: where it serves and,
// on request, how much CPU it and its git children have used.
type gitServerInfo struct {
	URL, Username, Password string
	CPUNanos                int64
}

// TestGitServerProcess is the Git server process of BenchmarkRepositoryPolling: with
// gitServerProcessEnv set it serves one repository, prints where, answers every line on
// stdin with its CPU time, and stops when stdin closes.
func TestGitServerProcess(t *testing.T) {
	if !isGitServerProcess() {
		t.Skip("runs only as the Git server process that BenchmarkRepositoryPolling starts")
	}
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"README": "polled"})
	out := json.NewEncoder(os.Stdout)
	info := gitServerInfo{URL: srv.URL, Username: srv.Username, Password: srv.Password}
	in := bufio.NewScanner(os.Stdin)
	for {
		info.CPUNanos = int64(processCPU() + childrenCPU())
		if err := out.Encode(info); err != nil {
			t.Fatal(err)
		}
		if !in.Scan() {
			return
		}
	}
}

func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gitServerProcess is the benchmark's handle on the Git server process.
type gitServerProcess struct {
	gitServerInfo
	in  io.Writer
	out *json.Decoder
}

func startGitServerProcess(b *testing.B) *gitServerProcess {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestGitServerProcess$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), gitServerProcessEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = in.Close() // the server process stops when stdin closes
		_ = cmd.Wait()
	})
	p := &gitServerProcess{in: in, out: json.NewDecoder(out)}
	if err := p.out.Decode(&p.gitServerInfo); err != nil {
		b.Fatalf("git server process: %v", err)
	}
	return p
}

// cpu asks the Git server process for its CPU time so far.
func (p *gitServerProcess) cpu(b *testing.B) time.Duration {
	b.Helper()
	if _, err := io.WriteString(p.in, "cpu\n"); err != nil {
		b.Fatal(err)
	}
	if err := p.out.Decode(&p.gitServerInfo); err != nil {
		b.Fatal(err)
	}
	return time.Duration(p.CPUNanos)
}
