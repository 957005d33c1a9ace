package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// Leader election timings. A leader that dies without releasing its Lease (SIGKILL, a lost
// node) is replaced once the Lease expires: a standby sees the last renewal at most one
// retry period late, waits the lease duration from then and tries again within one retry
// period, so the takeover comes at most duration + 2 × retry after the last renewal (14 s
// with the defaults), and its controllers start on caches it already keeps (well inside
// 20 s). Shorter leases cost a renewal every retry period either way; they only make a
// leader that cannot reach the apiserver for renewDeadline give up sooner.
const (
	defaultLeaseDuration = 10 * time.Second
	defaultRenewDeadline = 7 * time.Second
	defaultRetryPeriod   = 2 * time.Second
)

type leaseFlags struct {
	duration, renewDeadline, retryPeriod time.Duration
}

func (l *leaseFlags) register(fl *pflag.FlagSet) {
	fl.DurationVar(&l.duration, "leader-election-lease-duration", defaultLeaseDuration,
		"how long a standby waits after the leader's last renewal before it takes the Lease")
	fl.DurationVar(&l.renewDeadline, "leader-election-renew-deadline", defaultRenewDeadline,
		"how long the leader retries renewing before it gives up leading (and exits)")
	fl.DurationVar(&l.retryPeriod, "leader-election-retry-period", defaultRetryPeriod,
		"how often the leader renews and a standby tries to take the Lease")
}

// validate refuses timings client-go's leader election would refuse later, with the flags' names.
func (l *leaseFlags) validate() error {
	if l.retryPeriod <= 0 || l.renewDeadline <= 0 || l.duration <= 0 {
		return fmt.Errorf("--leader-election-lease-duration, -renew-deadline and -retry-period must be positive")
	}
	if l.duration <= l.renewDeadline {
		return fmt.Errorf("--leader-election-lease-duration (%s) must be longer than --leader-election-renew-deadline (%s)",
			l.duration, l.renewDeadline)
	}
	if l.renewDeadline <= time.Duration(1.2*float64(l.retryPeriod)) {
		return fmt.Errorf("--leader-election-renew-deadline (%s) must be longer than 1.2 × --leader-election-retry-period (%s)",
			l.renewDeadline, l.retryPeriod)
	}
	return nil
}
