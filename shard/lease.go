package shard

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// GroupLabel marks the Leases of one group of replicas; its value is the group's name.
const GroupLabel = "landfall.dev/shard-group"

var shardMembers = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "landfall_shard_members",
	Help: "Replicas in this replica's current view of its shard group (0 while it owns nothing).",
})

func init() { metrics.Registry.MustRegister(shardMembers) }

// leases renews one replica's Lease and reads the group's. Expiry is judged by this
// replica's clock, as client-go's leader election does: a Lease is expired once it has
// not changed for its duration since this replica first saw it as it is, so clocks that
// disagree never make a live member look expired.
type leases struct {
	opts Options
	own  *coordinationv1.Lease
	seen map[string]observed
}

type observed struct {
	version string // resourceVersion: a renewal changes it
	at      time.Time
}

// refresh renews the Lease, then lists the group. It returns the members (this replica
// first) and when the renewal and the list began, zero for the one that failed.
func (l *leases) refresh(ctx context.Context, now func() time.Time) (members []string, renewedAt, listedAt time.Time, err error) {
	rctx, cancel := context.WithTimeout(ctx, l.opts.RenewInterval)
	defer cancel()
	start := now()
	if err := l.renew(rctx, start); err != nil {
		return nil, time.Time{}, time.Time{}, fmt.Errorf("renewing the shard Lease %s/%s: %w", l.opts.Namespace, l.opts.ID, err)
	}
	renewedAt = start
	lctx, cancel2 := context.WithTimeout(ctx, l.opts.RenewInterval)
	defer cancel2()
	listedAt = now()
	list := &coordinationv1.LeaseList{}
	if err := l.opts.Client.List(lctx, list, client.InNamespace(l.opts.Namespace), client.MatchingLabels{GroupLabel: l.opts.Group}); err != nil {
		return nil, renewedAt, time.Time{}, fmt.Errorf("listing the shard Leases: %w", err)
	}
	return l.members(list.Items, listedAt), renewedAt, listedAt, nil
}

// members are this replica and every other Lease of the group held and not expired.
func (l *leases) members(items []coordinationv1.Lease, at time.Time) []string {
	out := []string{l.opts.ID}
	present := map[string]bool{}
	for i := range items {
		le := &items[i]
		if le.Name == l.opts.ID || le.Spec.HolderIdentity == nil || *le.Spec.HolderIdentity == "" {
			continue
		}
		present[le.Name] = true
		o, ok := l.seen[le.Name]
		if !ok || o.version != le.ResourceVersion {
			o = observed{version: le.ResourceVersion, at: at}
			l.seen[le.Name] = o
		}
		d := l.opts.LeaseDuration
		if s := le.Spec.LeaseDurationSeconds; s != nil && *s > 0 {
			d = time.Duration(*s) * time.Second
		}
		if at.Sub(o.at) < d {
			out = append(out, le.Name)
		}
	}
	for name := range l.seen {
		if !present[name] {
			delete(l.seen, name)
		}
	}
	return out
}

// renew updates the Lease's renewTime, creating the Lease first when there is none.
func (l *leases) renew(ctx context.Context, now time.Time) error {
	if l.own == nil {
		le := &coordinationv1.Lease{}
		err := l.opts.Client.Get(ctx, client.ObjectKey{Namespace: l.opts.Namespace, Name: l.opts.ID}, le)
		switch {
		case apierrors.IsNotFound(err):
			le = l.fresh(now)
			if err := l.opts.Client.Create(ctx, le); err != nil {
				return err
			}
			l.own = le
			return nil
		case err != nil:
			return err
		}
		l.own = le
	}
	le := l.own.DeepCopy()
	l.stamp(le, now)
	if err := l.opts.Client.Update(ctx, le); err != nil {
		l.own = nil // read it again: deleted, or changed by someone else
		return err
	}
	l.own = le
	return nil
}

func (l *leases) fresh(now time.Time) *coordinationv1.Lease {
	le := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: l.opts.ID, Namespace: l.opts.Namespace}}
	l.stamp(le, now)
	le.Spec.AcquireTime = le.Spec.RenewTime
	return le
}

// stamp marks the Lease as held by this replica, renewed now.
func (l *leases) stamp(le *coordinationv1.Lease, now time.Time) {
	if le.Labels == nil {
		le.Labels = map[string]string{}
	}
	le.Labels[GroupLabel] = l.opts.Group
	le.Spec.HolderIdentity = ptr.To(l.opts.ID)
	le.Spec.LeaseDurationSeconds = ptr.To(int32(l.opts.LeaseDuration.Round(time.Second) / time.Second))
	le.Spec.RenewTime = &metav1.MicroTime{Time: now}
}

// release deletes the Lease, only if it is still the one this replica wrote.
func (l *leases) release(ctx context.Context) error {
	if l.own == nil {
		return nil
	}
	err := l.opts.Client.Delete(ctx, l.own, client.Preconditions{UID: &l.own.UID, ResourceVersion: &l.own.ResourceVersion})
	return client.IgnoreNotFound(err)
}
