package notify

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sender delivers one event to one target.
type Sender interface {
	Send(ctx context.Context, ev Event) error
}

// PermanentError is a refusal that retrying cannot fix (the target answered 4xx): the event
// is dropped and counted as failed, and the next one is sent.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// State of a target, as the Notification's status shows it.
type State string

// Target states. Dead: the target failed DeadAfter times in a row; its worker keeps
// retrying (at the longest backoff) and the target comes back on the first delivery.
const (
	Healthy  State = "Healthy"
	Retrying State = "Retrying"
	Dead     State = "Dead"
)

// Options tune a target's queue and worker. The zero value of a field takes its default.
type Options struct {
	// QueueLimit bounds the events waiting (default 100); past it the oldest is dropped.
	QueueLimit int
	// Rate is how many events a second the target gets at most (default 2), in bursts of Burst
	// (default 5).
	Rate  float64
	Burst int
	// MinBackoff and MaxBackoff bound the wait between attempts (default 1 s and 10 s).
	MinBackoff, MaxBackoff time.Duration
	// DeadAfter is how many failures in a row make the target Dead (default 5).
	DeadAfter int
	// AttemptTimeout bounds one delivery (default 15 s).
	AttemptTimeout time.Duration
	// Remember is how many event keys each target keeps to drop duplicates (default 1024).
	Remember int
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.QueueLimit, 100)
	def(&o.Burst, 5)
	def(&o.DeadAfter, 5)
	def(&o.Remember, 1024)
	defDur(&o.MinBackoff, time.Second)
	defDur(&o.MaxBackoff, 10*time.Second)
	defDur(&o.AttemptTimeout, 15*time.Second)
	if o.Rate <= 0 {
		o.Rate = 2
	}
	return o
}

// Stats is what a target did so far.
type Stats struct {
	State State
	// Queued events wait to be sent.
	Queued int
	// Delivered, Dropped (the queue was full), Failed (refused for good), Duplicates (taken
	// before, not queued again) count events; Failures counts failed attempts.
	Delivered, Dropped, Failed, Duplicates, Failures int64
	// ConsecutiveFailures since the last delivery.
	ConsecutiveFailures int
	// LastError of the last failed attempt; it never holds the target's address or token.
	LastError     string
	LastDelivered time.Time
}

// Target is one destination with its queue and worker.
type Target struct {
	name    string
	sender  Sender
	opts    Options
	limiter *rate.Limiter
	metrics targetMetrics

	mu    sync.Mutex
	q     *queue
	seen  *seen
	stats Stats
	wake  chan struct{}
}

func newTarget(name string, sender Sender, opts Options, m targetMetrics) *Target {
	opts = opts.withDefaults()
	return &Target{
		name: name, sender: sender, opts: opts, metrics: m,
		limiter: rate.NewLimiter(rate.Limit(opts.Rate), opts.Burst),
		q:       newQueue(opts.QueueLimit), seen: newSeen(opts.Remember),
		stats: Stats{State: Healthy}, wake: make(chan struct{}, 1),
	}
}

// Offer queues ev unless the target took it before. It never blocks on delivery.
func (t *Target) Offer(ev Event) {
	t.mu.Lock()
	if !t.seen.add(ev.key()) {
		t.stats.Duplicates++
		t.mu.Unlock()
		return
	}
	if t.q.push(ev) {
		t.stats.Dropped++
		t.metrics.dropped.Inc()
	}
	t.stats.Queued = t.q.len()
	t.metrics.queued.Set(float64(t.stats.Queued))
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Stats returns a copy of the target's counters.
func (t *Target) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// run sends the queue's events in order until ctx ends.
func (t *Target) run(ctx context.Context) {
	for {
		item, ok := t.next(ctx)
		if !ok {
			return
		}
		if err := t.limiter.Wait(ctx); err != nil {
			return
		}
		actx, cancel := context.WithTimeout(ctx, t.opts.AttemptTimeout)
		err := t.sender.Send(actx, item.ev)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if wait := t.settle(item, err); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// next waits for the head of the queue.
func (t *Target) next(ctx context.Context) (queued, bool) {
	for {
		t.mu.Lock()
		item, ok := t.q.head()
		t.mu.Unlock()
		if ok {
			return item, true
		}
		select {
		case <-ctx.Done():
			return queued{}, false
		case <-t.wake:
		}
	}
}

// settle records an attempt and returns how long to wait before the next one.
func (t *Target) settle(item queued, err error) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer func() {
		t.stats.Queued = t.q.len()
		t.metrics.queued.Set(float64(t.stats.Queued))
		t.metrics.dead.Set(boolFloat(t.stats.State == Dead))
	}()
	if err == nil {
		t.q.done(item.seq)
		t.stats.Delivered++
		t.metrics.delivered.Inc()
		t.stats.ConsecutiveFailures, t.stats.State, t.stats.LastDelivered = 0, Healthy, time.Now()
		return 0
	}
	t.stats.Failures++
	t.metrics.failures.Inc()
	t.stats.LastError = err.Error()
	if perr := (*PermanentError)(nil); errors.As(err, &perr) {
		// The target answers but refuses this event: sending it again changes nothing.
		t.q.done(item.seq)
		t.stats.Failed++
		t.stats.ConsecutiveFailures, t.stats.State = 0, Healthy
		return 0
	}
	t.stats.ConsecutiveFailures++
	t.stats.State = Retrying
	if t.stats.ConsecutiveFailures >= t.opts.DeadAfter {
		t.stats.State = Dead
	}
	return backoff(t.stats.ConsecutiveFailures, t.opts.MinBackoff, t.opts.MaxBackoff)
}

// backoff doubles from min for each failure in a row, up to max.
func backoff(failures int, minWait, maxWait time.Duration) time.Duration {
	d := minWait
	for i := 1; i < failures && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
