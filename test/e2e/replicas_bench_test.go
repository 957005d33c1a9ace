package e2e

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// failoverRounds is how many leaders each lease setting kills.
const failoverRounds = 2

// leaseSetting is a set of leader election timings, as flags of the controller.
type leaseSetting struct {
	name                   string
	duration, renew, retry time.Duration
}

func (l leaseSetting) args() []string {
	return []string{"--leader-election-lease-duration=" + l.duration.String(),
		"--leader-election-renew-deadline=" + l.renew.String(), "--leader-election-retry-period=" + l.retry.String()}
}

func (l leaseSetting) String() string {
	return fmt.Sprintf("lease %s, renew deadline %s, retry %s", l.duration, l.renew, l.retry)
}

// BenchmarkFailover kills the leader of two replicas with SIGKILL and measures kill → the
// standby holds the Lease (its acquireTime) → its first reconcile of an Application (its
// reconcile counter moves). Landfall's timings are printed beside controller-runtime's
// defaults, which Landfall used before. Each round starts a new standby for the next.
func BenchmarkFailover(b *testing.B) {
	landfall := leaseSetting{"landfall", 10 * time.Second, 7 * time.Second, 2 * time.Second}
	baseline := leaseSetting{"controller-runtime defaults", 15 * time.Second, 10 * time.Second, 2 * time.Second}
	g := NewWithT(b)
	r := newReplicated(b, "failover", landfall.args()...)
	f := newFixture(b, r.e, webApp("apps/web", image("v1"), 1))
	app := f.application(b, "web", "apps/web", []landfallv1.Environment{{Name: "production", Namespace: f.ns + "-prod"}}, nil)
	first := revisionOf(f.srv.Head(b, "refs/heads/main"))
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", first) }, rolloutTimeout, poll).Should(Succeed())

	b.ResetTimer()
	results := map[string][2][]time.Duration{}
	for range b.N {
		for _, l := range []leaseSetting{landfall, baseline} {
			r.restartAll(b, l)
			for range failoverRounds {
				lead, reconcile := r.failover(b, g)
				res := results[l.name]
				res[0], res[1] = append(res[0], lead), append(res[1], reconcile)
				results[l.name] = res
			}
		}
	}
	b.StopTimer()
	for _, l := range []leaseSetting{landfall, baseline} {
		res := results[l.name]
		b.Logf("%-28s (%s): SIGKILL → new leader p50 %s max %s; → its first reconcile p50 %s max %s (target ≤ 20s; bound lease + 2 × retry = %s)",
			l.name, l, percentile(res[0], 50).Round(time.Millisecond), percentile(res[0], 100).Round(time.Millisecond),
			percentile(res[1], 50).Round(time.Millisecond), percentile(res[1], 100).Round(time.Millisecond), l.duration+2*l.retry)
	}
	lf := results[landfall.name]
	b.ReportMetric(ms(percentile(lf[0], 100)), "leader_max_ms")
	b.ReportMetric(ms(percentile(lf[1], 100)), "reconcile_max_ms")
}

// restartAll stops every replica and starts two with the lease setting; the first leads.
func (r *replicated) restartAll(b *testing.B, l leaseSetting) {
	for _, c := range r.procs {
		c.stop()
	}
	r.procs, r.extra = nil, l.args()
	r.start(b, fmt.Sprintf("%s-%d-a", l.name, time.Now().UnixNano()), l.args()...)
	NewWithT(b).Eventually(func() int { return r.leader() }, timeout, poll).Should(Equal(0))
	r.start(b, fmt.Sprintf("%s-%d-b", l.name, time.Now().UnixNano()), l.args()...)
}

// failover kills the leader, waits for the standby to lead and reconcile, then starts a
// new standby with the same flags. It returns kill → Lease acquired and kill → reconcile.
func (r *replicated) failover(b *testing.B, g *WithT) (lead, reconcile time.Duration) {
	i := r.leader()
	g.Expect(i).To(BeNumerically(">=", 0), "a replica leads")
	standby := r.procs[1-i]
	held := *r.lease(g).Spec.HolderIdentity
	killed := r.kill(b, i)
	var acquired time.Time
	g.Eventually(func(g Gomega) float64 {
		v, err := standby.metric("controller_runtime_reconcile_total", `controller="application"`)
		g.Expect(err).NotTo(HaveOccurred())
		return v
	}, timeout, 10*time.Millisecond).Should(BeNumerically(">", 0), "the new leader reconciles the Application")
	reconcile = time.Since(killed)
	l := r.lease(g)
	g.Expect(*l.Spec.HolderIdentity).NotTo(Equal(held))
	acquired = l.Spec.AcquireTime.Time
	r.procs = []*controller{standby}
	r.start(b, fmt.Sprintf("standby-%d", time.Now().UnixNano()), r.extra...)
	return acquired.Sub(killed), reconcile
}
