package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// leaseName and leaseNamespace are the leader Lease the replicas of these tests share.
const (
	leaseName      = "landfall-controller"
	leaseNamespace = "default"
)

// replicaArgs make a controller process one of several replicas, as the chart runs them.
func replicaArgs(extra ...string) []string {
	return append([]string{"--leader-elect=true", "--leader-election-namespace=" + leaseNamespace,
		"--leader-election-id=" + leaseName}, extra...)
}

// replicated is a cluster with two landfall controller processes sharing one Lease.
type replicated struct {
	e     *env
	procs []*controller
	extra []string // flags every replica runs with
}

// newReplicated starts a cluster and two replicas; the first started leads.
func newReplicated(t testing.TB, name string, extra ...string) *replicated {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e, err := startEnv(ctx, name, 2, replicaArgs(extra...)...)
	if err != nil {
		t.Fatalf("starting environment %s: %v", name, err)
	}
	t.Cleanup(e.stop)
	e.dumpOnFailure(t)
	r := &replicated{e: e, procs: []*controller{e.ctrl}, extra: extra}
	NewWithT(t).Eventually(func() int { return r.leader() }, timeout, poll).Should(Equal(0), "the first replica leads")
	r.start(t, "replica-1", extra...)
	return r
}

// start adds a replica with a log and checkout cache of its own in dir.
func (r *replicated) start(t testing.TB, dir string, extra ...string) *controller {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := startController(ctx, filepath.Join(r.e.dir, dir), filepath.Join(r.e.dir, "controller.kubeconfig"), replicaArgs(extra...)...)
	must(t, err)
	t.Cleanup(c.stop)
	mark := c.logSize()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica log (%s):\n%s", c.logPath, c.logSince(mark, 200))
		}
	})
	r.procs = append(r.procs, c)
	return c
}

// leader returns the index of the live replica that says it leads, or -1.
func (r *replicated) leader() int {
	for i, c := range r.procs {
		if !c.alive() {
			continue
		}
		if v, err := c.metric("leader_election_master_status", `name="`+leaseName+`"`); err == nil && v == 1 {
			return i
		}
	}
	return -1
}

// kill sends SIGKILL to replica i and returns once it is gone, with the time it was sent.
func (r *replicated) kill(t testing.TB, i int) time.Time {
	t.Helper()
	at := time.Now()
	must(t, r.procs[i].cmd.Process.Signal(syscall.SIGKILL))
	<-r.procs[i].done
	return at
}

// lease reads the leader Lease.
func (r *replicated) lease(g Gomega) *coordinationv1.Lease {
	l := &coordinationv1.Lease{}
	g.Expect(r.e.k8s.Get(context.Background(), key(leaseNamespace, leaseName), l)).To(Succeed())
	return l
}

// TestTwoReplicas runs two controller processes against one full cluster, as the chart's
// replicas: 2 does. Webhooks sent alternately to both are all accepted and each leads to a
// fetch; the leader SIGKILLed in the middle of a canary is replaced by the standby, which
// finishes the same canary from its status: no step repeated, no second rollout.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	r := newReplicated(t, "replicas")
	f := newFixture(t, r.e, webApp("apps/web", image("v1"), canaryReplicas))
	webhooksOnBothReplicas(t, r, f)
	failoverMidCanary(t, r, f)
}

// webhooksOnBothReplicas pushes 20 commits, each announced to the other replica than the
// last. The Repository polls once an hour: only the webhook can bring each commit in.
func webhooksOnBothReplicas(t *testing.T, r *replicated, f *fixture) {
	for i := range 20 {
		commit := f.srv.CommitChange(t, "main", write(t, map[string]string{"notes/webhook.txt": fmt.Sprint(i)}))
		f.webhookTo(t, r.procs[i%2].webhookAddr) // fails the test unless answered 200
		f.waitRevision(t, commit)
	}
}

// failoverMidCanary rolls image v2 out as a canary, kills the leader at 50% and checks that
// the standby takes the Lease and carries the same rollout on to the end.
func failoverMidCanary(t *testing.T, r *replicated, f *fixture) {
	g := NewWithT(t)
	e := r.e
	ns := f.ns + "-prod"
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "production", Namespace: ns}},
		func(s *landfallv1.ApplicationSpec) {
			s.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutCanary,
				// 50% pauses past the takeover: the new leader must wait out the rest of it.
				Steps: []landfallv1.CanaryStep{
					{Weight: 25, Pause: &metav1.Duration{Duration: 2 * time.Second}},
					{Weight: 50, Pause: &metav1.Duration{Duration: 20 * time.Second}},
				},
				HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
		})
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", first) }, rolloutTimeout, poll).Should(Succeed())
	waitRolledOut(g, e.k8s, ns, "web", canaryReplicas)

	stableLog := watchObject[*appsv1.Deployment](t, e, &appsv1.DeploymentList{}, ns, "web")
	canaryLog := watchObject[*appsv1.Deployment](t, e, &appsv1.DeploymentList{}, ns, "web-canary")
	appLog := watchObject[*landfallv1.Application](t, e, &landfallv1.ApplicationList{}, app.Namespace, app.Name)
	revision := revisionOf(f.srv.CommitChange(t, "main", write(t, webApp("apps/web", image("v2"), canaryReplicas))))
	f.webhookTo(t, r.procs[1].webhookAddr) // the standby's receiver
	expectStep(g, f, app, ns, revision, 0, 25, 1, image("v1"), image("v2"))
	expectStep(g, f, app, ns, revision, 1, 50, 2, image("v1"), image("v2"))

	leader := r.leader()
	g.Expect(leader).To(Equal(0))
	before := f.get(g, app)
	recorded := envStatus(g, before, "production").Rollout
	g.Expect([]any{recorded.Revision, recorded.Step}).To(Equal([]any{revision, int32(1)}), "%s", recorded.Message)
	_, entry := historyIndex(before, "production", revision)
	canaryUID := deployment(g, e.k8s, ns, "web-canary").UID
	stableMark, canaryMark := stableLog.len(), canaryLog.len()
	heldBy := *r.lease(g).Spec.HolderIdentity
	killed := r.kill(t, leader)

	// The standby takes the Lease once it expires: 10 s lease, 2 s retries.
	var acquired time.Time
	g.Eventually(func(g Gomega) {
		l := r.lease(g)
		g.Expect(*l.Spec.HolderIdentity).NotTo(Equal(heldBy))
		acquired = l.Spec.AcquireTime.Time
	}, timeout, poll).Should(Succeed(), "the standby takes the Lease")
	g.Eventually(func() int { return r.leader() }, timeout, poll).Should(Equal(1))
	t.Logf("SIGKILL → the standby holds the Lease: %s", acquired.Sub(killed).Round(time.Millisecond))
	g.Expect(acquired.Sub(killed)).To(BeNumerically("<", 20*time.Second),
		"the Lease bound (lease + 2 × retry = 14 s) with room for a loaded machine")

	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", revision) }, rolloutTimeout, poll).Should(Succeed())
	g.Expect(imageOf(waitRolledOut(g, e.k8s, ns, "web", canaryReplicas))).To(Equal(image("v2")))
	expectDeleted(g, e.k8s, ns, "web-canary", "promotion removes the canary")
	expectCarriedOn(g, f, app, revision, entry)
	// Status never went back to an earlier step after the kill, and the step it was killed in
	// kept one start time: its pause was not begun again.
	starts := map[string]bool{}
	for _, s := range appLog.since(0) {
		ro := envStatus(g, s.obj, "production").Rollout
		if ro == nil || ro.Revision != revision {
			continue
		}
		if s.at.After(killed) {
			g.Expect(ro.Step).To(BeNumerically(">=", recorded.Step), "step after the failover: %s", ro.Message)
		}
		if ro.Step == recorded.Step && ro.Phase != landfallv1.RolloutCompleted && ro.StepStartedAt != nil {
			starts[ro.StepStartedAt.UTC().String()] = true
		}
	}
	g.Expect(starts).To(HaveLen(1), "the 50%% step started once")
	expectHeldAtHalf(g, canaryLog.since(canaryMark), canaryUID, stableLog.since(stableMark))
}

// expectCarriedOn checks from the history and Events that the rollout of revision ran once:
// its history entry is the one started before the failover, and every step it reported,
// promotion included, was reported once by the two replicas together.
func expectCarriedOn(g *WithT, f *fixture, app *landfallv1.Application, revision string, entry landfallv1.HistoryEntry) {
	got := f.get(g, app)
	n := 0
	for _, h := range got.Status.History {
		if h.Environment == "production" && h.Revision == revision {
			n++
			g.Expect(h.StartedAt).To(Equal(entry.StartedAt), "the history entry is the rollout started before the failover")
			g.Expect(h.Result).To(Equal(landfallv1.ResultSucceeded))
		}
	}
	g.Expect(n).To(Equal(1), "one rollout of %s in the history", revision)
	events := &corev1.EventList{}
	g.Expect(f.e.k8s.List(context.Background(), events, client.InNamespace(app.Namespace))).To(Succeed())
	seen := map[string]int{}
	for _, ev := range events.Items {
		if ev.InvolvedObject.Name != app.Name || (ev.Reason != "RolloutStep" && ev.Reason != "Promoted") ||
			!strings.Contains(ev.Message, revision) {
			continue
		}
		count := max(int(ev.Count), 1)
		if ev.Series != nil {
			count = max(count, int(ev.Series.Count))
		}
		seen[ev.Reason+": "+ev.Message] += count
	}
	g.Expect(seen).NotTo(BeEmpty())
	promoted := 0
	for msg, c := range seen {
		g.Expect(c).To(Equal(1), "reported once: %s", msg)
		if strings.HasPrefix(msg, "Promoted: ") {
			promoted++
		}
	}
	g.Expect(promoted).To(Equal(1), "promoted once: %v", seen)
}
