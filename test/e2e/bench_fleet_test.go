package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/ports"
)

// fleet is many Applications of one config repository (4 objects each), deployed by a
// controller of its own on a cluster of its own, so its memory and the apiserver's
// counters measure this and nothing else.
type fleet struct {
	e    *env
	f    *fixture
	apps int
	// resync is the controller's --resync: how often each Application compares its live objects.
	resync time.Duration
	// Set by deploy.
	deployed        bool
	syncWall        time.Duration // first Application created → last one Ready
	rawWall         time.Duration // the same objects (and namespaces) applied by rawWorkers in parallel
	rssBefore, peak int64
	// Where the sync's time went: CPU of the controller and of the apiserver, and the
	// controller's requests (rest_client_requests_total), during the sync.
	ctrlCPU, apiCPU time.Duration
	requests        float64
	byMethod        string     // the controller's requests by HTTP method
	writes          writeCount // the controller's requests, from the audit log
	renders         float64    // renders run (not answered from the cache) during the sync
	compared        float64    // uses of the checkout that compared all its metadata during the sync
	phases          string     // when the Applications were created, applied and Ready
	// profile, when set, is where the controller's CPU profile of the sync goes.
	profile, pprofAddr string
	heapProfile        string // a file: the controller's heap profile once all are Ready
}

// rawWorkers is how many server-side applies the raw baseline has in flight.
const rawWorkers = 16

// BenchmarkApplications measures LANDFALL_BENCH_APPS (default 1000) Applications × 4 objects,
// each Application with a folder of its own in one config repository:
//
//   - initial-sync: wall time from creating the Applications until all are Ready, and the
//     controller's peak RSS (VmHWM), next to a raw server-side-apply loop of the same
//     namespaces and objects (rawWorkers in parallel) in the same run. Targets ≤ 1.5× the
//     raw loop and ≤ 64 KiB per Application. Every request of the controller is counted
//     from the apiserver's audit log (the controller has a client certificate of its own,
//     and its reads are audited too), by verb and resource, per Application.
//   - steady-state: the baseline, a window (LANDFALL_BENCH_STEADY, default 60s) right after
//     the sync with nothing changed and no resync in it: the controller's requests by
//     verb and resource, CPU per minute, writes, dry runs and renders. Target 0 writes,
//     0 dry runs, 0 renders.
//   - one-commit: a push that changes the folder of one Application: every Application
//     takes the new revision, exactly one renders and applies (target: 1 render, 1 apply).
//   - periodic-comparison: from then until every Application has been reconciled once
//     more by its resync (LANDFALL_BENCH_RESYNC, default 3m, long enough for the sync and
//     the quiet window to fit before it): the same figures for one round of every
//     Application's periodic comparison (the second after the sync; the first records
//     the health that settled since), which is their cost per minute at --resync=1m.
//     Target 0 writes.
func BenchmarkApplications(b *testing.B) {
	apps := envInt(b, "LANDFALL_BENCH_APPS", 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	resync := envDuration(b, "LANDFALL_BENCH_RESYNC", 3*time.Minute)
	args := []string{"--resync=" + resync.String()}
	if c := os.Getenv("LANDFALL_BENCH_CONCURRENCY"); c != "" {
		args = append(args, "--concurrency="+c) // to compare with the default
	}
	if extra := os.Getenv("LANDFALL_BENCH_ARGS"); extra != "" {
		args = append(args, strings.Fields(extra)...) // flags to compare, such as --render-concurrency=4
	}
	profile := os.Getenv("LANDFALL_BENCH_CPUPROFILE") // a file: the controller's CPU profile of the sync
	pprofAddr, err := ports.Addr()
	must(b, err)
	heap := os.Getenv("LANDFALL_BENCH_HEAPPROFILE") // a file: the controller's heap once all are Ready
	if profile != "" || heap != "" {
		args = append(args, "--pprof-bind-address="+pprofAddr)
	}
	e, err := startEnvWith(ctx, envOptions{name: "fleet", nodes: 2, auditReads: true}, args...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.stop)
	e.dumpOnFailure(b)
	// Polling at the default interval (1m), as a user would leave it.
	fl := &fleet{e: e, apps: apps, resync: resync, profile: profile, heapProfile: heap, pprofAddr: pprofAddr, f: newFixtureInterval(b, e, fleetFiles(b, apps), nil)}

	b.Run("initial-sync", func(b *testing.B) {
		fl.deploy(b)
		b.ReportMetric(fl.syncWall.Seconds(), "sync_s")
		b.ReportMetric(fl.rawWall.Seconds(), "raw_s")
		b.ReportMetric(fl.syncWall.Seconds()/fl.rawWall.Seconds(), "ratio_to_raw")
		b.ReportMetric(float64(fl.peak)/(1<<20), "peak_rss_MiB")
		b.ReportMetric(float64(fl.peak-fl.rssBefore)/1024/float64(apps), "KiB/app")
		b.ReportMetric(fl.requests/float64(apps), "requests/app")
		b.ReportMetric(fl.renders/float64(apps), "renders/app")
		b.ReportMetric(fl.ctrlCPU.Seconds(), "ctrl_cpu_s")
		b.ReportMetric(fl.apiCPU.Seconds(), "apiserver_cpu_s")
		b.Logf("%d Applications × 4 objects: all Ready %s after the first was created; "+
			"raw server-side apply of the same %d namespaces and %d objects, %d at a time: %s (×%.2f, target ≤ 1.5); "+
			"controller RSS %.1f MiB before, peak %.1f MiB: %.1f KiB per Application (target ≤ 64)",
			apps, fl.syncWall.Round(time.Millisecond), apps, 4*apps, rawWorkers, fl.rawWall.Round(time.Millisecond),
			fl.syncWall.Seconds()/fl.rawWall.Seconds(), float64(fl.rssBefore)/(1<<20), float64(fl.peak)/(1<<20),
			float64(fl.peak-fl.rssBefore)/1024/float64(apps))
		b.Logf("during the sync: %.0f requests by the controller (%.1f per Application), CPU %s in the controller "+
			"and %s in the apiserver, on %d cores shared with etcd, the controller-manager, kwok and the test",
			fl.requests, fl.requests/float64(apps), fl.ctrlCPU.Round(time.Millisecond), fl.apiCPU.Round(time.Millisecond), runtime.NumCPU())
		b.Logf("the controller's requests since it started: %s; its writes during the sync (audit log): %d%s, and %d dry runs",
			fl.byMethod, fl.writes.writes, breakdown(fl.writes.byKind), fl.writes.dryRuns)
		b.Logf("timeline (since the first Application was created): %s", fl.phases)
		b.Logf("initial sync, requests per Application (audit log): %s; %.2f renders per Application; "+
			"%.0f uses of the checkout compared all its files' metadata (%.2f per Application; the rest were vouched for by inotify)",
			perApp(fl.writes.requests, apps), fl.renders/float64(apps), fl.compared, fl.compared/float64(apps))
	})
	b.Run("steady-state", func(b *testing.B) {
		fl.deploy(b)
		fl.quiet(b, envDuration(b, "LANDFALL_BENCH_STEADY", time.Minute))
	})
	b.Run("one-commit", func(b *testing.B) {
		fl.deploy(b)
		fl.oneCommit(b)
	})
	b.Run("periodic-comparison", func(b *testing.B) {
		fl.deploy(b)
		fl.round(b)
	})
}

// deploy runs the raw baseline, then creates the Applications and waits until all are
// Ready, once.
func (fl *fleet) deploy(b *testing.B) {
	if fl.deployed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	objs := decodeObjects(b, testdata(b, "fleet", "apps/api"), "")
	fl.rawWall = rawFleet(ctx, b, fl.e.k8s, objs, fl.apps)
	renders, comparisons := fl.renderCount(b), fl.comparisons(b)

	var err error
	if fl.rssBefore, _, err = fl.e.ctrl.memory(); err != nil {
		b.Fatal(err)
	}
	commit := fl.f.srv.Head(b, "refs/heads/main")
	usage := fl.usage(b)
	start := time.Now()
	if fl.profile != "" {
		go fl.cpuProfile(b, 10*time.Second)
	}
	fl.createApplications(ctx, b)
	last, err := waitAllReady(ctx, fl.e, fl.f.ns, fl.apps, commit)
	if err != nil {
		b.Fatal(err)
	}
	fl.syncWall = last.Sub(start)
	fl.phases = readyPhases(ctx, b, fl.e, fl.f.ns)
	if _, fl.peak, err = fl.e.ctrl.memory(); err != nil {
		b.Fatal(err)
	}
	if fl.heapProfile != "" {
		fl.saveProfile(b, "heap", fl.heapProfile)
	}
	fl.ctrlCPU, fl.apiCPU, fl.requests = usage()
	fl.byMethod = methods(requestsByMethod(b, fl.e.ctrl))
	fl.writes, err = auditedWrites(fl.e.cluster.AuditLog(), 0, controllerUser, start, time.Now())
	must(b, err)
	fl.renders = fl.renderCount(b) - renders
	fl.compared = fl.comparisons(b) - comparisons
	fl.deployed = true
}

// cpuProfile saves the controller's CPU profile of the next d to fl.profile.
func (fl *fleet) cpuProfile(b *testing.B, d time.Duration) {
	fl.saveProfile(b, fmt.Sprintf("profile?seconds=%d", int(d.Seconds())), fl.profile)
}

// saveProfile saves the controller's /debug/pprof/<what> to file.
func (fl *fleet) saveProfile(b *testing.B, what, file string) {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s", fl.pprofAddr, what))
	if err != nil {
		b.Log(err)
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(file, data, 0o644)
	}
	if err != nil {
		b.Log(err)
	}
}

// readyPhases tells, from the Applications' status, when the last one was created, when
// their objects were applied (median and last) and when they turned Ready (median and
// last), in seconds after the first was created: where the sync's time went. Times are
// the apiserver's and the controller's clocks, to the second.
func readyPhases(ctx context.Context, b *testing.B, e *env, ns string) string {
	list := &landfallv1.ApplicationList{}
	must(b, e.k8s.List(ctx, list, client.InNamespace(ns)))
	var created, applied, ready []time.Time
	for _, app := range list.Items {
		created = append(created, app.CreationTimestamp.Time)
		for _, st := range app.Status.Environments {
			if st.LastSyncTime != nil {
				applied = append(applied, st.LastSyncTime.Time)
			}
		}
		if c := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady); c != nil {
			ready = append(ready, c.LastTransitionTime.Time)
		}
	}
	if len(created) == 0 {
		return "no Applications"
	}
	sortTimes := func(ts []time.Time) { sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) }) }
	sortTimes(created)
	sortTimes(applied)
	sortTimes(ready)
	at := func(ts []time.Time, q float64) string {
		if len(ts) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0fs", ts[int(q*float64(len(ts)-1))].Sub(created[0]).Seconds())
	}
	return fmt.Sprintf("last created %s; applied: median %s, last %s; Ready: median %s, last %s",
		at(created, 1), at(applied, 0.5), at(applied, 1), at(ready, 0.5), at(ready, 1))
}

// requestsByMethod counts the controller's requests since it started, by HTTP method.
func requestsByMethod(b *testing.B, c *controller) map[string]float64 {
	by := map[string]float64{}
	for _, m := range []string{"GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "DELETE"} {
		v, err := c.metric("rest_client_requests_total", `method="`+m+`"`)
		must(b, err)
		if v > 0 {
			by[m] = v
		}
	}
	return by
}

// methods lists requests by method, in alphabetical order.
func methods(by map[string]float64) string {
	var parts []string
	for m, v := range by {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s ×%.0f", m, v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// usage starts accounting; the function it returns tells the CPU time of the controller
// and of the apiserver, and the controller's requests, since.
func (fl *fleet) usage(b *testing.B) func() (ctrlCPU, apiCPU time.Duration, requests float64) {
	apiPID, err := fl.e.componentPID("kube-apiserver")
	must(b, err)
	read := func() (time.Duration, time.Duration, float64) {
		c, err := cpuTime(fl.e.ctrl.pid())
		must(b, err)
		a, err := cpuTime(apiPID)
		must(b, err)
		r, err := fl.e.ctrl.metric("rest_client_requests_total")
		must(b, err)
		return c, a, r
	}
	c0, a0, r0 := read()
	return func() (time.Duration, time.Duration, float64) {
		c1, a1, r1 := read()
		return c1 - c0, a1 - a0, r1 - r0
	}
}

// rawFleet applies a namespace and the objects for each app, rawWorkers requests at a
// time: what a tight server-side-apply loop costs the apiserver, the bound Landfall is
// measured against. An app's namespace is applied before its objects.
func rawFleet(ctx context.Context, b *testing.B, c client.Client, objs []*unstructured.Unstructured, apps int) time.Duration {
	start := time.Now()
	inParallel(b, rawWorkers, apps, func(i int) error {
		ns := &unstructured.Unstructured{}
		ns.SetAPIVersion("v1")
		ns.SetKind("Namespace")
		ns.SetName(fmt.Sprintf("raw-%04d", i))
		if err := rawApply(ctx, c, ns); err != nil {
			return err
		}
		for _, o := range objs {
			o := o.DeepCopy()
			o.SetNamespace(ns.GetName())
			if err := rawApply(ctx, c, o); err != nil {
				return err
			}
		}
		return nil
	})
	return time.Since(start)
}

// inParallel runs do for 0…n-1 from workers goroutines and fails b with the first error.
func inParallel(b *testing.B, workers, n int, do func(i int) error) {
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, n)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// fleetFiles is the config repository: the fleet's four objects in a folder per Application.
func fleetFiles(b *testing.B, apps int) map[string]string {
	files := map[string]string{}
	for i := range apps {
		for name, content := range testdata(b, "fleet", fleetPath(i)) {
			files[name] = content
		}
	}
	return files
}

func fleetPath(i int) string { return fmt.Sprintf("apps/api-%04d", i) }

// renderCount is how many renders the controller has run (cache hits not counted).
func (fl *fleet) renderCount(b *testing.B) float64 {
	v, err := fl.e.ctrl.metric("landfall_renders_total")
	must(b, err)
	return v
}

// comparisons is how many uses of a checkout compared all its files' metadata.
func (fl *fleet) comparisons(b *testing.B) float64 {
	v, err := fl.e.ctrl.metric("landfall_checkout_metadata_comparisons_total")
	must(b, err)
	return v
}

// applySets is how many times the controller has applied an environment's objects.
func (fl *fleet) applySets(b *testing.B) float64 {
	v, err := fl.e.ctrl.metric("landfall_sync_duration_seconds_count")
	must(b, err)
	return v
}

// perApp lists requests by verb and resource, divided by apps, most frequent first.
func perApp(requests map[string]int, apps int) string {
	keys := make([]string, 0, len(requests))
	total := 0
	for k, n := range requests {
		keys = append(keys, k)
		total += n
	}
	sort.Slice(keys, func(i, j int) bool {
		if requests[keys[i]] != requests[keys[j]] {
			return requests[keys[i]] > requests[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := []string{fmt.Sprintf("%.2f in all", float64(total)/float64(apps))}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(requests[k])/float64(apps)))
	}
	return strings.Join(parts, ", ")
}

// createApplications creates the Applications from a few goroutines, as kubectl apply of
// a folder of them would.
func (fl *fleet) createApplications(ctx context.Context, b *testing.B) {
	inParallel(b, 8, fl.apps, func(i int) error {
		return fl.e.k8s.Create(ctx, &landfallv1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("api-%04d", i), Namespace: fl.f.ns},
			Spec: landfallv1.ApplicationSpec{RepositoryRef: landfallv1.LocalObjectReference{Name: fl.f.repo.Name},
				Path: fleetPath(i), Prune: true, SelfHeal: true, Environments: []landfallv1.Environment{
					{Name: "prod", Namespace: fmt.Sprintf("api-%04d", i)}}},
		})
	})
}

// waitAllReady watches the Applications of ns until n of them are Ready at commit, and
// returns when the last one became so.
func waitAllReady(ctx context.Context, e *env, ns string, n int, commit string) (time.Time, error) {
	wc, err := client.NewWithWatch(e.cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		return time.Time{}, err
	}
	ready := map[string]bool{}
	count := func() int {
		c := 0
		for _, r := range ready {
			if r {
				c++
			}
		}
		return c
	}
	for {
		list := &landfallv1.ApplicationList{}
		if err := wc.List(ctx, list, client.InNamespace(ns)); err != nil {
			return time.Time{}, err
		}
		for i := range list.Items {
			ready[list.Items[i].Name] = appReady(&list.Items[i], commit)
		}
		if count() >= n {
			return time.Now(), nil
		}
		w, err := wc.Watch(ctx, &landfallv1.ApplicationList{}, client.InNamespace(ns),
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
		if err != nil {
			return time.Time{}, err
		}
		for ev := range w.ResultChan() {
			if app, ok := ev.Object.(*landfallv1.Application); ok {
				ready[app.Name] = appReady(app, commit)
				if count() >= n {
					w.Stop()
					return time.Now(), nil
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return time.Time{}, fmt.Errorf("%d of %d Applications Ready: %w", count(), n, err)
		}
	}
}

func appReady(app *landfallv1.Application, commit string) bool {
	return apimeta.IsStatusConditionTrue(app.Status.Conditions, landfallv1.ConditionReady) &&
		strings.HasSuffix(app.Status.Revision, commit) && app.Status.ObservedGeneration == app.Generation
}

// phase is what the controller did in one steady-state window.
type phase struct {
	wall       time.Duration
	ctrlCPU    time.Duration
	requests   float64
	byMethod   map[string]float64 // the controller's requests by HTTP method
	reconciles float64            // of Applications
	writes     writeCount         // the controller's requests, from the audit log
	allWrites  float64            // every client's writes, by apiserver_request_total
	renders    float64            // renders run, cache hits not counted
	applies    float64            // environments applied
	apps       int
}

// measure counts what the controller does from now until done returns.
func (fl *fleet) measure(b *testing.B, done func() bool) phase {
	ctx := context.Background()
	cs := fl.e.cluster.Clientset()
	allBefore, err := apiserverWrites(ctx, cs)
	must(b, err)
	methods, reconciles := requestsByMethod(b, fl.e.ctrl), fl.reconciles(b)
	renders, applies := fl.renderCount(b), fl.applySets(b)
	offset := fileSize(fl.e.cluster.AuditLog())
	from := time.Now()
	usage := fl.usage(b)
	// The window is the measurement itself: time has to pass, checked once a second.
	for !done() {
		select {
		case <-time.After(time.Second):
		case <-fl.e.ctrl.done:
			b.Fatal("the controller exited during the steady-state window")
		}
	}
	to := time.Now()
	p := phase{wall: to.Sub(from), byMethod: requestsByMethod(b, fl.e.ctrl), reconciles: fl.reconciles(b) - reconciles,
		renders: fl.renderCount(b) - renders, applies: fl.applySets(b) - applies, apps: fl.apps}
	p.ctrlCPU, _, p.requests = usage()
	for m, v := range methods {
		p.byMethod[m] -= v
	}
	allAfter, err := apiserverWrites(ctx, cs)
	must(b, err)
	p.allWrites = allAfter - allBefore
	p.writes, err = auditedWrites(fl.e.cluster.AuditLog(), offset, controllerUser, from, to)
	must(b, err)
	return p
}

// reconciles is how many times the controller has reconciled an Application.
func (fl *fleet) reconciles(b *testing.B) float64 {
	v, err := fl.e.ctrl.metric("controller_runtime_reconcile_total", `controller="application"`)
	must(b, err)
	return v
}

// report prints a phase's figures, scaled by per (a minute, or one round), as metrics
// with the unit suffix and as one line of the side-by-side table.
func (p phase) report(b *testing.B, name, unit string, per float64) {
	b.ReportMetric(p.requests*per, "requests/"+unit)
	for _, m := range []string{"GET", "PUT", "PATCH", "POST", "DELETE"} {
		b.ReportMetric(p.byMethod[m]*per, m+"/"+unit)
	}
	b.ReportMetric(float64(p.writes.writes), "landfall_writes")
	b.ReportMetric(float64(p.writes.dryRuns), "landfall_dry_runs")
	b.ReportMetric(p.ctrlCPU.Seconds()*per, "ctrl_cpu_s/"+unit)
	b.ReportMetric(p.reconciles, "reconciles")
	b.ReportMetric(p.renders, "renders")
	b.ReportMetric(p.applies, "apply_sets")
	b.ReportMetric(p.wall.Seconds(), "window_s")
	scaled := map[string]float64{}
	for m, v := range p.byMethod {
		scaled[m] = v * per
	}
	b.Logf("%-28s %9.0f requests/%s (%s), %d writes%s, %d dry runs, %6.2f s controller CPU/%s, "+
		"%.0f reconciles in %s; all clients %.0f writes",
		name, p.requests*per, unit, methods(scaled), p.writes.writes, breakdown(p.writes.byKind),
		p.writes.dryRuns, p.ctrlCPU.Seconds()*per, unit, p.reconciles, p.wall.Round(time.Second), p.allWrites)
	b.Logf("%-28s %.0f renders, %.0f apply sets, %d reads; requests per Application per %s (audit log): %s",
		"", p.renders, p.applies, p.writes.reads(), unit, perApp(scaleCounts(p.writes.requests, per), p.apps))
}

// scaleCounts multiplies counts by per (a window's counts to a minute's).
func scaleCounts(counts map[string]int, per float64) map[string]int {
	out := make(map[string]int, len(counts))
	for k, n := range counts {
		out[k] = int(float64(n)*per + 0.5)
	}
	return out
}

// quiet measures a window with nothing changed and no resync in it: the baseline.
func (fl *fleet) quiet(b *testing.B, window time.Duration) {
	if err := fl.e.ctrl.waitIdle(context.Background(), 5*time.Minute); err != nil {
		b.Fatal(err)
	}
	end := time.Now().Add(window)
	b.ResetTimer()
	p := fl.measure(b, func() bool { return !time.Now().Before(end) })
	b.StopTimer()
	p.report(b, "quiet (no resync):", "min", time.Minute.Seconds()/p.wall.Seconds())
	if p.reconciles > 0 {
		b.Logf("%.0f reconciles fell in the quiet window: the fleet took longer to sync than --resync=%s allows for", p.reconciles, fl.resync)
	}
}

// oneCommit pushes a commit that changes the folder of the first Application only, and
// measures until every Application runs it and the controller is idle: one render and one
// apply set are needed; every other Application only moves to the new revision.
func (fl *fleet) oneCommit(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := fl.e.ctrl.waitIdle(ctx, 5*time.Minute); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var commit string
	var waitErr error
	p := fl.measure(b, func() bool {
		if commit == "" {
			commit = fl.f.push(b, func(dir string) {
				file := filepath.Join(dir, fleetPath(0), "configmap.yaml")
				old, err := os.ReadFile(file)
				must(b, err)
				must(b, os.WriteFile(file, []byte(strings.Replace(string(old), "LOG_LEVEL: info", "LOG_LEVEL: debug", 1)), 0o644))
			})
			_, waitErr = waitAllReady(ctx, fl.e, fl.f.ns, fl.apps, commit)
		}
		return waitErr != nil || fl.e.ctrl.waitIdle(ctx, 0) == nil
	})
	b.StopTimer()
	if waitErr != nil {
		b.Fatal(waitErr)
	}
	p.report(b, "one commit, 1 of the apps:", "commit", 1)
	b.Logf("a commit that changes 1 of %d Applications' folders: %.0f renders and %.0f apply sets (target 1 and 1), "+
		"%d writes by the controller, %s from the push until all %d run it and the controller is idle",
		fl.apps, p.renders, p.applies, p.writes.writes, p.wall.Round(time.Millisecond), fl.apps)
}

// round measures the periodic comparison of every Application, nothing having changed.
// The first resync after the sync is not it: it records the health that settled since
// (one status patch per Application), so it is printed for context and the second round
// is the one reported.
func (fl *fleet) round(b *testing.B) {
	first := fl.nextRound(b)
	first.report(b, "first resync after the sync:", "round", 1)
	b.ResetTimer()
	p := fl.nextRound(b)
	b.StopTimer()
	p.report(b, "periodic comparison (round):", "round", 1)
	b.Logf("a round is every Application's periodic comparison (%d Applications, --resync=%s): "+
		"its cost per minute at --resync=1m, per 10 minutes at the default --resync=10m", fl.apps, fl.resync)
}

// nextRound measures from now until the controller has reconciled every Application once
// more (its resync) and is idle.
func (fl *fleet) nextRound(b *testing.B) phase {
	if err := fl.e.ctrl.waitIdle(context.Background(), 5*time.Minute); err != nil {
		b.Fatal(err)
	}
	limit := 2*fl.resync + 5*time.Minute
	start, deadline := fl.reconciles(b), time.Now().Add(limit)
	return fl.measure(b, func() bool {
		if time.Now().After(deadline) {
			b.Fatalf("not every Application was reconciled within %s", limit)
		}
		return fl.reconciles(b)-start >= float64(fl.apps) && fl.e.ctrl.waitIdle(context.Background(), 0) == nil
	})
}

func breakdown(byKind map[string]int) string {
	if len(byKind) == 0 {
		return ""
	}
	var parts []string
	for k, n := range byKind {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

// waitIdle waits until neither controller has work queued or in progress.
func (c *controller) waitIdle(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		busy := 0.0
		for _, m := range []string{"workqueue_depth", "controller_runtime_active_workers"} {
			v, err := c.metric(m)
			if err != nil {
				return err
			}
			busy += v
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the controller still had work after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration such as 60s", name, v)
	}
	return d
}
