package controllers

import (
	"context"
	"maps"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// driftWatcher watches the objects Landfall manages, and only those: metadata-only
// informers per kind and destination, selected by the managed label. A change that is not
// Landfall's own status churn marks the owning environment dirty and wakes its Application.
type driftWatcher struct {
	ctx     context.Context
	tracker *driftTracker
	wake    chan<- event.GenericEvent
	mu      sync.Mutex
	running map[string]bool // "<destination>|<group/version/resource>"
}

func newDriftWatcher(tracker *driftTracker, wake chan<- event.GenericEvent) *driftWatcher {
	return &driftWatcher{tracker: tracker, wake: wake, running: map[string]bool{}}
}

// Start keeps the manager's context for the informers it starts later.
func (w *driftWatcher) Start(ctx context.Context) error {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	<-ctx.Done()
	return nil
}

// NeedLeaderElection: only the leader syncs, so only it needs to watch.
func (w *driftWatcher) NeedLeaderElection() bool { return true }

// ensure starts informers for the kinds of objs in dest, once each.
func (w *driftWatcher) ensure(dest *destination, gvks []schema.GroupVersionKind) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return
	}
	for _, gvk := range gvks {
		m, err := dest.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			continue
		}
		key := dest.key + "|" + m.Resource.String()
		if w.running[key] {
			continue
		}
		if err := w.start(dest, m); err != nil {
			ctrl.LoggerFrom(w.ctx).Error(err, "Cannot watch managed objects", "resource", m.Resource.String())
			continue
		}
		w.running[key] = true
	}
}

func (w *driftWatcher) start(dest *destination, m *meta.RESTMapping) error {
	mc, err := metadata.NewForConfig(dest.config)
	if err != nil {
		return err
	}
	factory := metadatainformer.NewFilteredSharedInformerFactory(mc, 30*time.Minute, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = landfallv1.LabelManaged + "=true" })
	inf := factory.ForResource(m.Resource).Informer()
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			o, n := asMeta(oldObj), asMeta(newObj)
			if o == nil || n == nil || o.ResourceVersion == n.ResourceVersion {
				return
			}
			// A status change (a Deployment's pods turning ready) wakes the Application so
			// its rollout sees the new health at once; only a change of what Landfall
			// applied marks the environment dirty.
			w.wakeOwner(n, changedBySomeone(o, n))
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if m := asMeta(obj); m != nil {
				w.wakeOwner(m, true)
			}
		},
	})
	if err != nil {
		return err
	}
	factory.Start(w.ctx.Done())
	return nil
}

func asMeta(obj any) *metav1.PartialObjectMetadata {
	m, _ := obj.(*metav1.PartialObjectMetadata)
	return m
}

// changedBySomeone ignores status-only updates: for kinds with a generation only a new
// generation (or new labels or annotations) is a change of what Landfall applied.
func changedBySomeone(o, n *metav1.PartialObjectMetadata) bool {
	if n.Generation != 0 && o.Generation == n.Generation {
		return !mapsEqual(o.Labels, n.Labels) || !mapsEqual(o.Annotations, n.Annotations)
	}
	return true
}

// mapsEqual compares labels or annotations, ignoring the bookkeeping annotations that
// Kubernetes' own controllers write (a Deployment's revision counter): they are not drift,
// and counting them would dry-run every new Deployment once more.
func mapsEqual(a, b map[string]string) bool {
	return maps.EqualFunc(withoutBookkeeping(a), withoutBookkeeping(b), func(x, y string) bool { return x == y })
}

func withoutBookkeeping(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !strings.HasPrefix(k, "deployment.kubernetes.io/") {
			out[k] = v
		}
	}
	return out
}

// wakeOwner wakes the owning Application, marking its environment dirty when asked.
func (w *driftWatcher) wakeOwner(m *metav1.PartialObjectMetadata, dirty bool) {
	parts := strings.Split(m.Annotations[landfallv1.AnnotationOwner], "/")
	if len(parts) != 3 {
		return
	}
	if dirty {
		w.tracker.markDirty(envKey{parts[0], parts[1], parts[2]})
	}
	app := &landfallv1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: parts[0], Name: parts[1]}}
	select {
	case w.wake <- event.GenericEvent{Object: app}:
	default: // the queue is full of wake-ups already; the periodic resync catches up
	}
}
