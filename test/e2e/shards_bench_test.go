package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// BenchmarkShards spreads LANDFALL_BENCH_SHARD_APPS (default 3000) Applications × 4
// objects (the fleet's) over three replicas of one shard group on the full cluster:
//
//   - all Ready: from creating the Applications until the last is Ready, and each
//     replica's share of them;
//   - takeover: one replica SIGKILLed, then a commit; until every Application runs it (the
//     dead replica's share through the others, once its Lease has expired);
//   - join: a fourth replica starts; until the shares are rebalanced, and a commit then
//     reaches every Application;
//   - the audit log: no Application written by two replicas at once.
//
// The commits change a file no Application renders: each Application takes the revision
// (a status write), none applies.
func BenchmarkShards(b *testing.B) {
	n := envInt(b, "LANDFALL_BENCH_SHARD_APPS", 3000)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	g := NewWithT(b)
	e, err := startEnv(ctx, "shardfleet", 2, shardArgs("replica-0")...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.stop)
	e.dumpOnFailure(b)
	s := &shards{e: e, procs: map[string]*controller{"replica-0": e.ctrl}}
	s.start(b, "replica-1")
	s.start(b, "replica-2")
	fl := &fleet{e: e, apps: n, f: newFixtureInterval(b, e, fleetFiles(b, n), nil)}
	b.ResetTimer()

	start := time.Now()
	fl.createApplications(ctx, b)
	commit := fl.f.srv.Head(b, "refs/heads/main")
	wait := func(what string) time.Duration {
		b.Helper()
		from := time.Now()
		if _, err := waitAllReady(ctx, e, fl.f.ns, n, commit); err != nil {
			b.Fatalf("%s: %v", what, err)
		}
		return time.Since(from)
	}
	wait("initial sync")
	synced := time.Since(start)
	apps := s.applications(b, fl.f.ns)
	shares := s.expectShares(g, apps, 5*time.Minute)

	push := func(round int) {
		commit = fl.f.srv.CommitChange(b, "main", write(b, map[string]string{"notes/round.txt": fmt.Sprint(round)}))
		fl.f.webhookTo(b, s.procs[s.live()[0]].webhookAddr)
	}
	must(b, s.procs["replica-2"].cmd.Process.Signal(syscall.SIGKILL))
	<-s.procs["replica-2"].done
	killed := time.Now()
	push(1)
	wait("after the SIGKILL")
	takeover := time.Since(killed)

	s.start(b, "replica-3")
	joined := time.Now()
	s.expectShares(g, apps, 5*time.Minute)
	rebalanced := time.Since(joined)
	push(2)
	next := wait("after the join")
	b.StopTimer()
	expectOneWriterAtATime(b, e.cluster.AuditLog(), apps, map[string]time.Time{"replica-2": killed}, func(resource, ns, name string) string {
		switch {
		case resource == "applications" && ns == fl.f.ns:
			return name
		case strings.HasPrefix(ns, "api-"):
			return ns // each Application deploys to a namespace of its name
		}
		return ""
	})

	b.ReportMetric(synced.Seconds(), "sync_s")
	b.ReportMetric(takeover.Seconds(), "takeover_s")
	b.ReportMetric(rebalanced.Seconds(), "rebalance_s")
	b.Logf("%d Applications × 4 objects over 3 replicas: all Ready in %s, shares %v", n, synced.Round(time.Millisecond), shares)
	b.Logf("replica-2 SIGKILLed → a commit on all %d Applications: %s (its Lease expires 10 s after its last renewal)",
		n, takeover.Round(time.Millisecond))
	b.Logf("replica-3 joined → shares rebalanced in %s, then a commit on all in %s; no Application written by two replicas at once (audit log)",
		rebalanced.Round(time.Millisecond), next.Round(time.Millisecond))
}

// applications lists the Applications of ns.
func (s *shards) applications(b *testing.B, ns string) []*landfallv1.Application {
	list := &landfallv1.ApplicationList{}
	must(b, s.e.k8s.List(context.Background(), list, client.InNamespace(ns)))
	out := make([]*landfallv1.Application, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out
}
