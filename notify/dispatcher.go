package notify

import (
	"context"
	"sort"
	"sync"
)

// TargetConfig is one target of a route.
type TargetConfig struct {
	Name string
	// Fingerprint changes when the target's type, address or credentials change: its worker
	// is then replaced (the queue with it). An unchanged target keeps its queue and counters.
	Fingerprint string
	Sender      Sender
	Options     Options
}

// Dispatcher routes published events to the targets of every route that selects them.
type Dispatcher struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.RWMutex
	routes map[routeKey]*route
}

type routeKey struct{ namespace, name string }

type route struct {
	match   func(Event) bool
	targets map[string]*running
}

type running struct {
	*Target
	fingerprint string
	stop        context.CancelFunc
}

// NewDispatcher returns a Dispatcher with no routes. Its workers run until Stop.
func NewDispatcher() *Dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{ctx: ctx, cancel: cancel, routes: map[routeKey]*route{}}
}

// Start blocks until ctx ends, then stops every worker (a manager Runnable).
func (d *Dispatcher) Start(ctx context.Context) error {
	<-ctx.Done()
	d.Stop()
	return nil
}

// Stop ends every worker; queued events are lost.
func (d *Dispatcher) Stop() { d.cancel() }

// Publish offers ev to every target of every route that selects it. It takes a read lock
// and a short lock per target, and never waits on a delivery.
func (d *Dispatcher) Publish(ev Event) {
	if d == nil {
		return
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, r := range d.routes {
		if !r.match(ev) {
			continue
		}
		for _, t := range r.targets {
			t.Offer(ev)
		}
	}
}

// Configure sets the route of the Notification namespace/name: its selector and targets.
// Targets whose fingerprint is unchanged keep running; the others are replaced or stopped.
func (d *Dispatcher) Configure(namespace, name string, match func(Event) bool, targets []TargetConfig) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := routeKey{namespace, name}
	old := d.routes[key]
	r := &route{match: match, targets: map[string]*running{}}
	for _, tc := range targets {
		if prev, ok := old.target(tc.Name); ok && prev.fingerprint == tc.Fingerprint {
			r.targets[tc.Name] = prev
			delete(old.targets, tc.Name)
			continue
		}
		ctx, stop := context.WithCancel(d.ctx)
		t := newTarget(tc.Name, tc.Sender, tc.Options, metricsFor(namespace, name, tc.Name))
		go t.run(ctx)
		r.targets[tc.Name] = &running{Target: t, fingerprint: tc.Fingerprint, stop: stop}
	}
	if old != nil {
		for n, t := range old.targets {
			t.stop()
			if _, kept := r.targets[n]; !kept {
				forgetMetrics(namespace, name, n)
			}
		}
	}
	d.routes[key] = r
}

// Remove stops the route of a deleted Notification.
func (d *Dispatcher) Remove(namespace, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := routeKey{namespace, name}
	if r, ok := d.routes[key]; ok {
		for n, t := range r.targets {
			t.stop()
			forgetMetrics(namespace, name, n)
		}
		delete(d.routes, key)
	}
}

// TargetStats is one target's name and counters.
type TargetStats struct {
	Name string
	Stats
}

// Stats returns the counters of the route's targets, by name.
func (d *Dispatcher) Stats(namespace, name string) []TargetStats {
	d.mu.RLock()
	defer d.mu.RUnlock()
	r := d.routes[routeKey{namespace, name}]
	if r == nil {
		return nil
	}
	out := make([]TargetStats, 0, len(r.targets))
	for n, t := range r.targets {
		out = append(out, TargetStats{Name: n, Stats: t.Stats()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (r *route) target(name string) (*running, bool) {
	if r == nil {
		return nil, false
	}
	t, ok := r.targets[name]
	return t, ok
}
