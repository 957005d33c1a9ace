package shard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options configure a replica's membership.
type Options struct {
	// ID names this replica's Lease; unique in the group (the pod name).
	ID string
	// Namespace holds the group's Leases.
	Namespace string
	// Group is the value of the GroupLabel on every Lease of the group.
	Group string
	// RenewInterval is how often the Lease is renewed and the group's Leases listed.
	RenewInterval time.Duration
	// LeaseDuration is how long a Lease counts after its holder's last renewal.
	LeaseDuration time.Duration
	// RenewDeadline is how long this replica counts itself a member after its last
	// successful renewal; shorter than LeaseDuration, so it stops before others take over.
	RenewDeadline time.Duration
	// Settle is how long a key gained from a member that is still alive waits before it is
	// acted on: longer than two renew intervals (how old a view may be) and one in-flight
	// request.
	Settle time.Duration
	// Client reads and writes the Leases straight from and to the apiserver.
	Client client.Client
}

// Validate refuses timings that would let two replicas act on one key at once.
func (o Options) Validate() error {
	if o.ID == "" {
		return errors.New("a shard needs an id (--shard-id, or $POD_NAME)")
	}
	if o.RenewInterval <= 0 || o.LeaseDuration <= 0 || o.RenewDeadline <= 0 || o.Settle <= 0 {
		return errors.New("the shard's lease duration, renew interval, renew deadline and settle period must be positive")
	}
	if o.RenewDeadline+o.RenewInterval > o.LeaseDuration {
		return fmt.Errorf("the shard renew deadline (%s) plus a renew interval (%s) must fit in the lease duration (%s): a replica must stop before the others take its share",
			o.RenewDeadline, o.RenewInterval, o.LeaseDuration)
	}
	if o.Settle <= o.maxViewAge() {
		return fmt.Errorf("the shard settle period (%s) must be longer than two renew intervals (%s)", o.Settle, o.maxViewAge())
	}
	return nil
}

// maxViewAge is how old the list a view was made from may be before the view is dropped.
func (o Options) maxViewAge() time.Duration { return 2 * o.RenewInterval }

// Ring is one replica's membership and ownership. It is a manager Runnable that every
// replica runs (no leader election).
type Ring struct {
	opts   Options
	now    func() time.Time
	log    logr.Logger
	leases *leases

	mu       sync.Mutex
	ledger   *ledger
	validTo  time.Time // the view is dropped then unless renewed and listed again
	inflight map[*hold]bool
	subs     []chan struct{}
	trusted  bool // the view was valid at the last install
	settling bool // a settle period was running at the last install
}

// hold is one piece of work in flight for a key, cancelled when the key is lost.
type hold struct {
	key    string
	cancel context.CancelFunc
}

// New returns the ring of a replica; Start runs it.
func New(opts Options, log logr.Logger) *Ring {
	return &Ring{
		opts: opts, now: time.Now, log: log, ledger: newLedger(opts.ID, opts.Settle),
		leases:   &leases{opts: opts, seen: map[string]observed{}},
		inflight: map[*hold]bool{},
	}
}

// NeedLeaderElection: every replica is a member.
func (r *Ring) NeedLeaderElection() bool { return false }

// ID is this replica's name in the group.
func (r *Ring) ID() string { return r.opts.ID }

// Owns tells whether this replica may act on key now.
func (r *Ring) Owns(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ownsLocked(key)
}

func (r *Ring) ownsLocked(key string) bool {
	now := r.now()
	return now.Before(r.validTo) && r.ledger.owns(key, now)
}

// Members returns the current view, sorted.
func (r *Ring) Members() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ledger.members...)
}

// Hold returns a context for work on key that is cancelled as soon as this replica no
// longer owns key, and false (with a cancelled context) when it does not own it now.
// release must be called when the work ends.
func (r *Ring) Hold(ctx context.Context, key string) (context.Context, func(), bool) {
	ctx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ownsLocked(key) {
		cancel()
		return ctx, func() {}, false
	}
	h := &hold{key: key, cancel: cancel}
	r.inflight[h] = true
	return ctx, func() {
		r.mu.Lock()
		delete(r.inflight, h)
		r.mu.Unlock()
		cancel()
	}, true
}

// Subscribe returns a channel that receives (coalesced) whenever ownership may have
// changed: a new view, or a settle period ending. Subscribers then look for keys gained.
func (r *Ring) Subscribe() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := make(chan struct{}, 1)
	r.subs = append(r.subs, c)
	return c
}

// Start renews this replica's Lease and reads the group's until ctx ends, then stops all
// work it holds and deletes its Lease, so the others take its share at once.
func (r *Ring) Start(ctx context.Context) error {
	r.log.Info("Joining the shard group", "id", r.opts.ID, "group", r.opts.Group, "namespace", r.opts.Namespace)
	ticker := time.NewTicker(r.opts.RenewInterval)
	defer ticker.Stop()
	expiry := time.NewTimer(r.opts.RenewInterval)
	defer expiry.Stop()
	for {
		r.tick(ctx)
		r.mu.Lock()
		wait := r.validTo.Sub(r.now())
		if end := r.ledger.pending(r.now()); !end.IsZero() && end.Sub(r.now()) < wait {
			wait = end.Sub(r.now())
		}
		r.mu.Unlock()
		expiry.Reset(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			r.leave()
			return nil
		case <-ticker.C:
		case <-expiry.C:
			r.install(nil, false) // the view ran out, or a settle period ended
		}
	}
}

// tick renews the Lease, lists the group and installs the view.
func (r *Ring) tick(ctx context.Context) {
	members, renewedAt, listedAt, err := r.leases.refresh(ctx, r.now)
	if err != nil {
		r.log.Error(err, "Shard membership not refreshed")
	}
	r.mu.Lock()
	if !listedAt.IsZero() && !renewedAt.IsZero() {
		r.validTo = minTime(listedAt.Add(r.opts.maxViewAge()), renewedAt.Add(r.opts.RenewDeadline))
	}
	r.mu.Unlock()
	r.install(members, err == nil)
}

// install takes a new view (or, with fresh false, keeps the current one while it is valid),
// cancels the work on keys no longer owned and tells the subscribers.
func (r *Ring) install(members []string, fresh bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !fresh {
		members = r.ledger.members
	}
	if !now.Before(r.validTo) {
		members = nil // too old to trust: own nothing until renewed and listed again
	}
	trusted := now.Before(r.validTo)
	changed := r.ledger.install(now, members)
	if changed {
		r.log.Info("Shard members changed", "members", r.ledger.members)
		shardMembers.Set(float64(len(r.ledger.members)))
	}
	for h := range r.inflight {
		if !r.ownsLocked(h.key) {
			h.cancel()
		}
	}
	// A renewal that changes nothing tells nobody: subscribers list every object they
	// watch when told, and a renewal comes every few seconds. A settle period that ended
	// since the last install is a change, whichever timer noticed it first.
	settling := !r.ledger.pending(now).IsZero()
	settled := r.settling && !settling
	r.settling = settling
	if !changed && !settled && trusted == r.trusted {
		return
	}
	r.trusted = trusted
	for _, c := range r.subs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// leave stops every piece of work held, waits for it to return (bounded), then deletes the
// Lease: a deleted Lease tells the others that its holder has stopped.
func (r *Ring) leave() {
	r.mu.Lock()
	r.validTo = time.Time{}
	r.mu.Unlock()
	r.install(nil, true)
	deadline := time.Now().Add(r.opts.RenewInterval)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		n := len(r.inflight)
		r.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond) // in-flight work was cancelled; it returns within a request
	}
	r.mu.Lock()
	n := len(r.inflight)
	r.mu.Unlock()
	if n > 0 {
		r.log.Info("Shard Lease left to expire: work still in flight", "count", n)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.RenewInterval)
	defer cancel()
	if err := r.leases.release(ctx); err != nil {
		r.log.Error(err, "Shard Lease not deleted; it expires instead")
		return
	}
	r.log.Info("Left the shard group", "id", r.opts.ID)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
