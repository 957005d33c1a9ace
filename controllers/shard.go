package controllers

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Ring is what the controllers need of a shard group (package shard): whether this replica
// owns a key, a context for work on a key that ends when the key is lost, and a signal
// when ownership may have changed.
type Ring interface {
	Owns(key string) bool
	Hold(ctx context.Context, key string) (context.Context, func(), bool)
	Subscribe() <-chan struct{}
}

var shardOwned = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "landfall_shard_owned_objects",
	Help: "Objects of each kind this replica owns in its shard group.",
}, []string{"kind"})

func init() { metrics.Registry.MustRegister(shardOwned) }

// shardKind says how the objects of one kind are sharded.
type shardKind[T client.Object] struct {
	kind   string
	newObj func() T
	// list reads every object of the kind from the informer cache.
	list func(ctx context.Context, r client.Reader) ([]T, error)
	// keyOf is the key the ring places the object by: its namespace and name, or those of
	// the Repository it belongs with (a Preview goes where its Repository's webhooks go).
	keyOf func(T) string
	// forget drops what this replica keeps of an object it no longer reconciles (metrics).
	forget func(types.NamespacedName)
}

// shardKey is the key of namespace/name in the ring, the same for every kind.
func shardKey(namespace, name string) string { return namespace + "/" + name }

func shardKeyOf(o client.Object) string { return shardKey(o.GetNamespace(), o.GetName()) }

// completeSharded finishes a controller. Without a ring every object is reconciled here
// (one replica leads). With one, only the objects this replica owns are; the objects it
// gains are enqueued when it gains them, and the ones it loses are forgotten.
func completeSharded[T client.Object](b *builder.Builder, mgr ctrl.Manager, ring Ring, k shardKind[T], r reconcile.Reconciler) error {
	if ring == nil {
		return b.Complete(r)
	}
	// Subscribed now, before the ring starts: no change of the view goes untold.
	s := &sharded[T]{shardKind: k, ring: ring, reader: mgr.GetClient(), inner: r, changed: ring.Subscribe(),
		gained: make(chan event.GenericEvent, 1024), owned: map[types.NamespacedName]bool{}}
	if err := mgr.Add(s); err != nil {
		return err
	}
	return b.WatchesRawSource(source.Channel(s.gained, &handler.EnqueueRequestForObject{})).Complete(s)
}

// sharded reconciles the objects of one kind that this replica owns.
type sharded[T client.Object] struct {
	shardKind[T]
	ring    Ring
	reader  client.Reader
	inner   reconcile.Reconciler
	changed <-chan struct{}
	gained  chan event.GenericEvent

	mu    sync.Mutex
	owned map[types.NamespacedName]bool // as last seen by a reconcile or a scan
}

// mark records whether this replica owns an object (or forgets one deleted), and keeps
// the gauge true between scans: objects come and go without the view changing. It tells
// whether the object was owned before.
func (s *sharded[T]) mark(nn types.NamespacedName, owned bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.owned[nn]
	if owned {
		s.owned[nn] = true
	} else {
		delete(s.owned, nn)
	}
	shardOwned.WithLabelValues(s.kind).Set(float64(len(s.owned)))
	return was
}

// Reconcile runs the reconciler while this replica owns the object, with a context that
// ends as soon as it stops owning it (the new owner carries on from the status).
func (s *sharded[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// Only read, for its key: no deep copy of the cached object on every reconcile.
	obj := s.newObj()
	if err := s.reader.Get(ctx, req.NamespacedName, obj, client.UnsafeDisableDeepCopy); err != nil {
		if apierrors.IsNotFound(err) {
			s.mark(req.NamespacedName, false)
			s.forget(req.NamespacedName) // every replica drops its metrics of a deleted object
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	held, release, ok := s.ring.Hold(ctx, s.keyOf(obj))
	if was := s.mark(req.NamespacedName, ok); !ok {
		if was {
			s.forget(req.NamespacedName) // lost before the scan saw it go
		}
		return ctrl.Result{}, nil // another replica's; this one is told if it gains it
	}
	defer release()
	res, err := s.inner.Reconcile(held, req)
	if held.Err() != nil && ctx.Err() == nil {
		ctrl.LoggerFrom(ctx).Info("Reconcile stopped: the object moved to another replica", "kind", s.kind)
		return ctrl.Result{}, nil
	}
	return res, err
}

// NeedLeaderElection: every replica of a shard group runs.
func (s *sharded[T]) NeedLeaderElection() bool { return false }

// Start looks at every object of the kind whenever ownership may have changed: the ones
// gained are enqueued (their events went by while another replica owned them), the ones
// lost are forgotten.
func (s *sharded[T]) Start(ctx context.Context) error {
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return nil
			case <-s.changed:
			}
		}
		objs, err := s.list(ctx, s.reader)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Cannot list the objects of a kind to share them out", "kind", s.kind)
			continue
		}
		gained, lost := s.rescan(objs)
		for _, nn := range lost {
			s.forget(nn)
		}
		for _, o := range gained {
			select {
			case s.gained <- event.GenericEvent{Object: o}:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// rescan replaces the owned set by what the view says of objs, and returns the objects
// gained and the ones lost.
func (s *sharded[T]) rescan(objs []T) (gained []T, lost []types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := make(map[types.NamespacedName]bool, len(s.owned))
	for _, o := range objs {
		if !s.ring.Owns(s.keyOf(o)) {
			continue
		}
		nn := client.ObjectKeyFromObject(o)
		now[nn] = true
		if !s.owned[nn] {
			gained = append(gained, o)
		}
	}
	for nn := range s.owned {
		if !now[nn] {
			lost = append(lost, nn)
		}
	}
	s.owned = now
	shardOwned.WithLabelValues(s.kind).Set(float64(len(now)))
	return gained, lost
}

// listOf reads the items of a list kind from the cache, without copying them: they are
// only read.
func listOf[L client.ObjectList, T client.Object](newList func() L, items func(L) []T) func(context.Context, client.Reader) ([]T, error) {
	return func(ctx context.Context, r client.Reader) ([]T, error) {
		l := newList()
		if err := r.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing: %w", err)
		}
		return items(l), nil
	}
}

// pointers returns pointers to the items of a list, as the reconcilers' objects.
func pointers[E any, P interface {
	*E
	client.Object
}](items []E) []P {
	out := make([]P, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
