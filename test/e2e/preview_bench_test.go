package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// BenchmarkPreviews measures pull-request previews on a cluster and controller of their own:
//
//   - push-to-healthy: 20 pull requests opened one after another; each is timed from the
//     opened webhook (sent right after the ref is pushed) until the Preview's status shows
//     it Healthy at its commit, which includes listing the refs, creating the namespace, the
//     child Repository and Application, the fetch, render and apply, and kwok running the
//     Deployment's two pods. Reports p50, p90 and max.
//   - 50-open: 30 more pull requests (50 open), then a quiet window
//     (LANDFALL_BENCH_STEADY, default 60s) with the Repository polling every 30 s: the
//     controller process's CPU (user+system, from /proc) per minute, and its RSS.
func BenchmarkPreviews(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	e, err := startEnv(ctx, "previews", 2)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.stop)
	e.dumpOnFailure(b)
	f := newFixtureInterval(b, e, testdata(b, "web-seed", "apps/web"), &metav1.Duration{Duration: 30 * time.Second})
	createPreview(b, f, func(s *landfallv1.PreviewSpec) { s.MaxPreviews = 60 })
	events := watchPreviews(ctx, b, e, f.ns)
	opened := 0

	b.Run("push-to-healthy", func(b *testing.B) {
		var latencies []time.Duration
		for b.Loop() {
			latencies = latencies[:0]
			for range 20 {
				opened++
				b.StopTimer()
				commit := openPullRequest(b, f, opened, previewFiles(b, opened, "v1"))
				b.StartTimer()
				start := time.Now()
				pullRequestHook(b, f, "opened", opened)
				awaitPreview(b, events, func(got *landfallv1.Preview) bool { return healthyAt(got, opened, commit) })
				latencies = append(latencies, time.Since(start))
			}
		}
		b.ReportMetric(ms(percentile(latencies, 50)), "p50_ms")
		b.ReportMetric(ms(percentile(latencies, 90)), "p90_ms")
		b.ReportMetric(ms(percentile(latencies, 100)), "max_ms")
		b.Logf("opened webhook → preview Healthy over %d pull requests: p50 %s, p90 %s, max %s", len(latencies),
			percentile(latencies, 50).Round(time.Millisecond), percentile(latencies, 90).Round(time.Millisecond),
			percentile(latencies, 100).Round(time.Millisecond))
	})
	b.Run("50-open", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			commits := map[int]string{}
			for opened < 50 {
				opened++
				commits[opened] = openPullRequest(b, f, opened, previewFiles(b, opened, "v1"))
			}
			f.webhook(b)
			awaitPreview(b, events, func(got *landfallv1.Preview) bool { return allHealthy(got, 50) })
			b.StartTimer()
			steadyPreviews(b, e, envDuration(b, "LANDFALL_BENCH_STEADY", time.Minute))
		}
	})

}

// steadyPreviews measures the controller's CPU and memory over a quiet window.
func steadyPreviews(b *testing.B, e *env, window time.Duration) {
	if err := e.ctrl.waitIdle(context.Background(), 5*time.Minute); err != nil {
		b.Fatal(err)
	}
	cpuBefore, err := processCPU(e.ctrl.pid())
	must(b, err)
	offset, from := fileSize(e.cluster.AuditLog()), time.Now()
	// The window is the measurement itself: nothing is awaited, time has to pass.
	select {
	case <-time.After(window):
	case <-e.ctrl.done:
		b.Fatal("the controller exited during the window")
	}
	cpuAfter, err := processCPU(e.ctrl.pid())
	must(b, err)
	wc, err := auditedWrites(e.cluster.AuditLog(), offset, controllerUser, from, time.Now())
	must(b, err)
	rss, peak, err := e.ctrl.memory()
	must(b, err)
	perMin := float64(cpuAfter-cpuBefore) / float64(time.Millisecond) / window.Minutes()
	b.ReportMetric(perMin, "cpu_ms/min")
	b.ReportMetric(float64(rss)/(1<<20), "rss_MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak_rss_MiB")
	b.ReportMetric(float64(wc.writes), "landfall_writes")
	b.Logf("50 open previews (50 Applications, 50 Repositories, 100 pods), polling every 30s, over %s: "+
		"controller CPU %.0f ms per minute (%.2f%% of one core), RSS %.1f MiB (peak %.1f MiB), "+
		"%d write requests by the audit log%s", window, perMin, perMin/600, float64(rss)/(1<<20), float64(peak)/(1<<20),
		wc.writes, breakdown(wc.byKind))
}

// processCPU is a process's user plus system CPU time, from /proc/<pid>/stat (fields 14 and
// 15, in clock ticks of 1/100 s, the USER_HZ Linux reports on every architecture it runs).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it are positional.
	_, rest, ok := strings.Cut(string(b), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, b)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime: fields 14 and 15 of the whole line
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// watchPreviews streams the Previews of ns until the benchmark ends.
func watchPreviews(ctx context.Context, b *testing.B, e *env, ns string) <-chan watch.Event {
	wc, err := client.NewWithWatch(e.cluster.Config, client.Options{Scheme: scheme})
	must(b, err)
	w, err := wc.Watch(ctx, &landfallv1.PreviewList{}, client.InNamespace(ns))
	must(b, err)
	b.Cleanup(w.Stop)
	return w.ResultChan()
}

// awaitPreview waits for a watch event whose Preview passes done.
func awaitPreview(b *testing.B, events <-chan watch.Event, done func(*landfallv1.Preview) bool) {
	b.Helper()
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				b.Fatal("the watch of Previews closed")
			}
			if p, isPreview := ev.Object.(*landfallv1.Preview); isPreview && done(p) {
				return
			}
		case <-deadline:
			b.Fatal("the Preview did not reach the state awaited within 5m")
		}
	}
}

func healthyAt(p *landfallv1.Preview, n int, commit string) bool {
	ref := fmt.Sprintf("refs/pull/%d/head", n)
	for _, e := range p.Status.Previews {
		if e.Ref == ref {
			return e.State == landfallv1.PreviewRunning && e.Health == landfallv1.HealthHealthy && strings.HasSuffix(e.Revision, commit)
		}
	}
	return false
}

func allHealthy(p *landfallv1.Preview, n int) bool {
	healthy := 0
	for _, e := range p.Status.Previews {
		if e.State == landfallv1.PreviewRunning && e.Health == landfallv1.HealthHealthy {
			healthy++
		}
	}
	return healthy >= n
}
