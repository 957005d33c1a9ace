package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// webResources are the kinds of the web app's objects the push benchmarks watch.
var webResources = []schema.GroupVersionResource{{Group: "apps", Version: "v1", Resource: "deployments"},
	{Version: "v1", Resource: "services"}, {Version: "v1", Resource: "configmaps"}}

// stampAnnotation carries a push number on every object of the push benchmark.
const stampAnnotation = "bench.landfall.dev/push"

// stampTracker watches objects of some kinds in one namespace and records when each one
// first carried each push number: the moment the apiserver told the watch, a few
// milliseconds after the write, with no polling load on the apiserver.
type stampTracker struct {
	mu      sync.Mutex
	stamps  map[string]int       // "<resource>/<name>" → latest push number seen
	reached map[string]time.Time // when it was first seen
	changed chan struct{}
}

func trackStamps(ctx context.Context, cfg *rest.Config, ns string, resources ...schema.GroupVersionResource) (*stampTracker, error) {
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	t := &stampTracker{stamps: map[string]int{}, reached: map[string]time.Time{}, changed: make(chan struct{}, 1)}
	for _, gvr := range resources {
		list, err := mc.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, o := range list.Items {
			t.saw(gvr.Resource+"/"+o.Name, o.Annotations[stampAnnotation])
		}
		w, err := mc.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			return nil, err
		}
		go t.consume(gvr.Resource, w)
	}
	return t, nil
}

func (t *stampTracker) consume(resource string, w watch.Interface) {
	defer w.Stop()
	for ev := range w.ResultChan() {
		if o, ok := ev.Object.(*metav1.PartialObjectMetadata); ok {
			t.saw(resource+"/"+o.Name, o.Annotations[stampAnnotation])
		}
	}
}

func (t *stampTracker) saw(name, stamp string) {
	n, err := strconv.Atoi(stamp)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if n > t.stamps[name] {
		t.stamps[name], t.reached[name] = n, time.Now()
	}
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// wait blocks until count objects carry push n, and returns when the last of them did.
func (t *stampTracker) wait(ctx context.Context, n, count int) (time.Time, error) {
	for {
		t.mu.Lock()
		var last time.Time
		done := 0
		for name, s := range t.stamps {
			if s >= n {
				done++
				if t.reached[name].After(last) {
					last = t.reached[name]
				}
			}
		}
		t.mu.Unlock()
		if done >= count {
			return last, nil
		}
		select {
		case <-t.changed:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%d of %d objects reached push %d: %w", done, count, n, ctx.Err())
		}
	}
}

// percentile is the nearest-rank percentile p (0–100) of samples.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// writeCount is what one client wrote according to the apiserver's audit log, and every
// request it made where the log records its reads too (cluster.Options.AuditReadsOf).
type writeCount struct {
	writes  int            // create, update, patch, delete, deletecollection; dry runs excluded
	dryRuns int            // the same verbs with dryRun=All: reads that cost a write's work
	byKind  map[string]int // "<verb> <resource>[/<subresource>]" → writes
	// requests counts every request in the log, reads and dry runs included, by
	// "<verb> <resource>[/<subresource>]" ("… (dry run)" for dry runs).
	requests map[string]int
}

// reads is how many get, list and watch requests the log holds.
func (w writeCount) reads() int {
	n := 0
	for k, v := range w.requests {
		if isRead(strings.Fields(k)[0]) {
			n += v
		}
	}
	return n
}

func isRead(verb string) bool { return verb == "get" || verb == "list" || verb == "watch" }

// auditedWrites counts user's requests in the audit log that completed in [from, to]
// (a watch: that began), reading from offset (the log's size when the window began).
func auditedWrites(path string, offset int64, user string, from, to time.Time) (writeCount, error) {
	wc := writeCount{byKind: map[string]int{}, requests: map[string]int{}}
	f, err := os.Open(path)
	if err != nil {
		return wc, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return wc, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Stage, Verb, RequestURI string
			User                    struct{ Username string }
			ObjectRef               struct{ Resource, Subresource string }
			StageTimestamp          time.Time
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return wc, fmt.Errorf("audit log: %w", err)
		}
		counted := "ResponseComplete"
		if ev.Verb == "watch" {
			counted = "ResponseStarted" // a watch completes when it ends, long after
		}
		if ev.Stage != counted || ev.User.Username != user ||
			ev.StageTimestamp.Before(from) || ev.StageTimestamp.After(to) {
			continue
		}
		kind := ev.Verb + " " + ev.ObjectRef.Resource
		if ev.ObjectRef.Subresource != "" {
			kind += "/" + ev.ObjectRef.Subresource
		}
		if ev.ObjectRef.Resource == "" { // discovery, /version
			kind = ev.Verb + " " + strings.SplitN(ev.RequestURI, "?", 2)[0]
		}
		switch {
		case isRead(ev.Verb):
		case strings.Contains(ev.RequestURI, "dryRun="):
			wc.dryRuns++
			kind += " (dry run)"
		default:
			wc.writes++
			wc.byKind[kind]++
		}
		wc.requests[kind]++
	}
	return wc, sc.Err()
}

// apiserverWrites sums apiserver_request_total over the write verbs (APPLY is a
// server-side apply PATCH), dry runs excluded, for every client: the apiserver's metrics
// have no label that names the client.
func apiserverWrites(ctx context.Context, cs kubernetes.Interface) (float64, error) {
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	return sumSamples(string(body), "apiserver_request_total", func(labels string) bool {
		if strings.Contains(labels, `dry_run="All"`) {
			return false
		}
		for _, v := range []string{"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"} {
			if strings.Contains(labels, `verb="`+v+`"`) {
				return true
			}
		}
		return false
	})
}

// sumSamples adds up the samples of a metric in Prometheus text format whose label set
// passes keep.
func sumSamples(text, metric string, keep func(labels string) bool) (float64, error) {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		var labels, value string
		if rest, ok := strings.CutPrefix(line, metric+"{"); ok {
			if labels, value, ok = strings.Cut(rest, "} "); !ok {
				continue
			}
		} else if value, ok = strings.CutPrefix(line, metric+" "); !ok {
			continue // another metric, or a comment
		}
		if !keep(labels) {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", line, err)
		}
		sum += v
	}
	return sum, nil
}

// controllerMetric sums a metric of the controller's own /metrics over the label sets
// that contain every one of labels.
func (c *controller) metric(name string, labels ...string) (float64, error) {
	resp, err := http.Get("http://" + c.metricsAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, errors.New("controller /metrics: " + resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return sumSamples(string(b), name, func(set string) bool {
		for _, l := range labels {
			if !strings.Contains(set, l) {
				return false
			}
		}
		return true
	})
}

// cpuTime is the CPU time (user and system) a process has used, from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its ")" are fixed.
	_, after, ok := strings.Cut(string(b), ") ")
	fields := strings.Fields(after)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime and stime, fields 14 and 15 of the line
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// componentPID finds a cluster component's process in the pids file the harness writes.
func (e *env) componentPID(name string) (int, error) {
	b, err := os.ReadFile(e.cluster.Dir + "/pids")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == name {
			return strconv.Atoi(fields[1])
		}
	}
	return 0, fmt.Errorf("%s is not in %s/pids", name, e.cluster.Dir)
}
