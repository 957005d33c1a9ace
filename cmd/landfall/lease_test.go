package main

import (
	"strings"
	"testing"
	"time"
)

// The defaults replace a SIGKILLed leader within 20 s: the Lease expires at most
// duration + 2 × retry after the last renewal (see lease.go); the benchmark
// BenchmarkFailover in test/e2e measures it.
func TestLeaseDefaultsFailOverWithin20s(t *testing.T) {
	l := leaseFlags{duration: defaultLeaseDuration, renewDeadline: defaultRenewDeadline, retryPeriod: defaultRetryPeriod}
	if err := l.validate(); err != nil {
		t.Fatal(err)
	}
	if worst := l.duration + 2*l.retryPeriod; worst > 20*time.Second {
		t.Fatalf("a dead leader may hold the Lease for %s", worst)
	}
}

func TestLeaseFlagsRefused(t *testing.T) {
	for name, l := range map[string]leaseFlags{
		"renew deadline not below the duration":  {duration: 5 * time.Second, renewDeadline: 5 * time.Second, retryPeriod: time.Second},
		"retry period too close to the deadline": {duration: 10 * time.Second, renewDeadline: 2 * time.Second, retryPeriod: 2 * time.Second},
		"zero":                                   {},
	} {
		err := l.validate()
		if err == nil || !strings.Contains(err.Error(), "--leader-election-") {
			t.Errorf("%s: %v, want an error naming the flags", name, err)
		}
	}
}
