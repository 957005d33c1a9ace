package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/shard"
)

// shardGroup is the shard group of these tests' replicas; their Leases are in leaseNamespace.
const (
	shardGroup = "landfall"
	shardApps  = 24
)

func shardArgs(id string) []string {
	return []string{"--shard-group=" + shardGroup, "--shard-id=" + id, "--leader-election-namespace=" + leaseNamespace}
}

// shards is a cluster with controller processes of one shard group, by shard id.
type shards struct {
	e     *env
	procs map[string]*controller
}

func (s *shards) start(t testing.TB, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := startController(ctx, filepath.Join(s.e.dir, id), filepath.Join(s.e.dir, "controller.kubeconfig"), shardArgs(id)...)
	must(t, err)
	t.Cleanup(c.stop)
	mark := c.logSize()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", id, c.logPath, c.logSince(mark, 200))
		}
	})
	s.procs[id] = c
}

// live are the shard ids of the processes running, sorted.
func (s *shards) live() []string {
	var ids []string
	for id, c := range s.procs {
		if c.alive() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// expectShares waits until each live replica says it owns the Applications rendezvous
// hashing gives it among the live ones, and returns that split.
func (s *shards) expectShares(g *WithT, apps []*landfallv1.Application, within time.Duration) map[string]int {
	want := map[string]int{}
	for _, a := range apps {
		want[shard.Owner(a.Namespace+"/"+a.Name, s.live())]++
	}
	g.Eventually(func(g Gomega) {
		for _, id := range s.live() {
			v, err := s.procs[id].metric("landfall_shard_owned_objects", `kind="Application"`)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(int(v)).To(Equal(want[id]), "Applications %s owns", id)
		}
	}, within, poll).Should(Succeed())
	return want
}

// TestShardedReplicas runs three controller processes of one shard group on a full
// cluster, as the chart's replicas: 3 does. Each reconciles the Applications rendezvous
// hashing gives it; one SIGKILLed has its share taken over by the others once its Lease
// expires; a new replica joining takes its share from them; one stopped with SIGTERM hands
// its share over at once. The apiserver's audit log shows that no Application was written
// by two replicas at once.
func TestShardedReplicas(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e, err := startEnv(ctx, "shards", 1, shardArgs("replica-0")...)
	if err != nil {
		t.Fatalf("starting environment: %v", err)
	}
	t.Cleanup(e.stop)
	e.dumpOnFailure(t)
	s := &shards{e: e, procs: map[string]*controller{"replica-0": e.ctrl}}
	s.start(t, "replica-1")
	s.start(t, "replica-2")

	round := 0
	f := newFixture(t, e, shardFiles(round))
	apps := make([]*landfallv1.Application, shardApps)
	for i := range apps {
		apps[i] = f.application(t, fmt.Sprintf("a-%02d", i), fmt.Sprintf("apps/a-%02d", i),
			[]landfallv1.Environment{{Name: "prod", Namespace: f.ns}}, nil)
	}
	next := func(to string) {
		round++
		commit := f.srv.CommitChange(t, "main", write(t, shardFiles(round)))
		f.webhookTo(t, s.procs[to].webhookAddr)
		g.Eventually(func(g Gomega) {
			for _, a := range apps {
				expectSynced(g, f.get(g, a), commit)
			}
		}, timeout, poll).Should(Succeed(), "every Application at round %d", round)
	}
	next("replica-1")
	shares := s.expectShares(g, apps, timeout)
	t.Logf("shares of 3 replicas: %v", shares)
	for _, id := range s.live() {
		g.Expect(shares[id]).To(BeNumerically(">", 0), "%s owns Applications", id)
	}

	// SIGKILL: its Lease is left to expire (10 s); the commit right after reaches its
	// Applications only through the replicas that take them over.
	must(t, s.procs["replica-2"].cmd.Process.Signal(syscall.SIGKILL))
	<-s.procs["replica-2"].done
	killed := time.Now()
	gone := map[string]time.Time{"replica-2": killed}
	next("replica-0")
	t.Logf("SIGKILL of replica-2 → all %d Applications at the next commit: %s", shardApps, time.Since(killed).Round(time.Millisecond))
	s.expectShares(g, apps, timeout)
	t.Logf("SIGKILL of replica-2 → its share owned by the others: %s", time.Since(killed).Round(time.Millisecond))
	g.Expect(time.Since(killed)).To(BeNumerically("<", 20*time.Second),
		"the Lease expiry (10 s after its last renewal, seen at most a 2 s renewal late) with room for a loaded machine")

	// A replica joins while commits keep coming: it takes its share once the others can
	// no longer be acting on it.
	s.start(t, "replica-3")
	joined := time.Now()
	for !s.sharesSettled(apps) {
		g.Expect(time.Since(joined)).To(BeNumerically("<", timeout), "replica-3 takes its share")
		next("replica-3")
	}
	next("replica-1")
	t.Logf("replica-3 joined → shares rebalanced, %d rounds later: %s", round, time.Since(joined).Round(time.Millisecond))

	// SIGTERM: the replica deletes its Lease as it stops, so its share moves without
	// waiting for the Lease to expire.
	must(t, s.procs["replica-3"].cmd.Process.Signal(syscall.SIGTERM))
	<-s.procs["replica-3"].done
	stopped := time.Now()
	gone["replica-3"] = stopped
	s.expectShares(g, apps, timeout)
	t.Logf("SIGTERM of replica-3 → its share owned by the others: %s", time.Since(stopped).Round(time.Millisecond))
	g.Expect(time.Since(stopped)).To(BeNumerically("<", 10*time.Second), "sooner than its Lease would have expired")
	next("replica-0")
	expectOneWriterAtATime(t, e.cluster.AuditLog(), apps, gone, func(resource, ns, name string) string {
		switch {
		case ns != f.ns:
			return ""
		case resource == "applications":
			return name
		case resource == "configmaps" && strings.HasPrefix(name, "cm-"):
			return "a-" + strings.TrimPrefix(name, "cm-")
		}
		return ""
	})
}

// sharesSettled tells whether every live replica owns its share.
func (s *shards) sharesSettled(apps []*landfallv1.Application) bool {
	want := map[string]int{}
	for _, a := range apps {
		want[shard.Owner(a.Namespace+"/"+a.Name, s.live())]++
	}
	for _, id := range s.live() {
		if v, err := s.procs[id].metric("landfall_shard_owned_objects", `kind="Application"`); err != nil || int(v) != want[id] {
			return false
		}
	}
	return true
}

// shardFiles is one folder per Application with a ConfigMap that says the round.
func shardFiles(round int) map[string]string {
	files := map[string]string{}
	for i := range shardApps {
		dir := fmt.Sprintf("apps/a-%02d/", i)
		files[dir+"kustomization.yaml"] = "resources:\n- configmap.yaml\n"
		files[dir+"configmap.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%02d\ndata:\n  round: %q\n", i, fmt.Sprint(round))
	}
	return files
}

// shardWrite is one write of a replica to an Application or to what it deploys.
type shardWrite struct {
	shard      string
	start, end time.Time
}

// expectOneWriterAtATime reads the apiserver's audit log: for each Application, the writes
// of the replicas (to it, and to what it deploys: appOf names the Application an object
// written belongs to, "" for none) come in runs, one replica's each, and each run ended
// before the next began. A replica writes again after another only once every replica
// that wrote in between has stopped (gone: when each replica stopped, for those that did):
// a key returns to its former owner when the one that took it leaves, never while it runs.
func expectOneWriterAtATime(t testing.TB, auditLog string, apps []*landfallv1.Application, gone map[string]time.Time,
	appOf func(resource, ns, name string) string) {
	t.Helper()
	byApp, err := shardWrites(auditLog, appOf)
	must(t, err)
	for _, a := range apps {
		ws := byApp[a.Name]
		sort.Slice(ws, func(i, j int) bool { return ws[i].start.Before(ws[j].start) })
		var runs []shardWrite
		for _, w := range ws {
			if n := len(runs); n > 0 && runs[n-1].shard == w.shard {
				runs[n-1].end = w.end
				continue
			}
			runs = append(runs, w)
		}
		last := map[string]int{} // the latest run of each replica
		var order []string
		for j, r := range runs {
			order = append(order, r.shard)
			if i, ok := last[r.shard]; ok {
				for _, between := range runs[i+1 : j] {
					if at, stopped := gone[between.shard]; !stopped || !at.Before(r.start) {
						t.Errorf("Application %s written by %s again while %s, which wrote in between, still ran: %v",
							a.Name, r.shard, between.shard, order)
					}
				}
			}
			last[r.shard] = j
			if j > 0 && !runs[j-1].end.Before(r.start) {
				t.Errorf("Application %s: %s wrote until %s, %s began at %s", a.Name, runs[j-1].shard,
					runs[j-1].end.Format(time.StampMicro), r.shard, r.start.Format(time.StampMicro))
			}
		}
		if len(ws) == 0 {
			t.Errorf("no write of Application %s in the audit log", a.Name)
		}
		if len(apps) <= shardApps {
			t.Logf("Application %s written by %s", a.Name, strings.Join(order, " → "))
		}
	}
}

// shardWrites reads the writes of the shard replicas from the audit log, by the
// Application that appOf says the object written belongs to.
func shardWrites(path string, appOf func(resource, ns, name string) string) (map[string][]shardWrite, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]shardWrite{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Stage, Verb, UserAgent   string
			ObjectRef                struct{ Resource, Subresource, Namespace, Name string }
			RequestReceivedTimestamp time.Time
			StageTimestamp           time.Time
			RequestURI               string
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		_, id, ok := strings.Cut(ev.UserAgent, " shard/")
		if !ok || ev.Stage != "ResponseComplete" || isRead(ev.Verb) || strings.Contains(ev.RequestURI, "dryRun=") {
			continue
		}
		app := appOf(ev.ObjectRef.Resource, ev.ObjectRef.Namespace, ev.ObjectRef.Name)
		if app == "" {
			continue
		}
		out[app] = append(out[app], shardWrite{shard: id, start: ev.RequestReceivedTimestamp, end: ev.StageTimestamp})
	}
	return out, sc.Err()
}
