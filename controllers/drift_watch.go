package controllers

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// driftWatcher watches the objects Landfall manages, and only those: metadata-only
// informers per kind and destination, selected by the managed label. A change that is not
// Landfall's own status churn marks the owning environment dirty and wakes its Application.
//
// An informer is cluster-wide where Landfall may list the kind in every namespace, else one
// per namespace of the applied objects (installs with Roles in some namespaces only). When
// a destination is rebuilt (its kubeconfig Secret changed), its informers are stopped and
// started again with the new credentials. What no informer can see is left to the
// periodic comparison (drift_compare.go).
type driftWatcher struct {
	ctx     context.Context
	tracker *driftTracker
	wake    chan<- event.GenericEvent
	mu      sync.Mutex
	byDest  map[string]*destWatches // by destination key
}

// destWatches are the informers of one destination, built from one set of credentials.
type destWatches struct {
	dest    *destination
	stop    chan struct{}
	running map[string]bool // "<group/version/resource>|<namespace or empty for all>"
	// informers by the same key: health reads the managed objects' metadata from them.
	informers map[string]cache.SharedIndexInformer
	perNS     map[string]bool // resources Landfall may not list cluster-wide: watched per namespace
	owners    map[envKey]bool // environments applied through this destination
	failed    time.Time       // when the owners were last woken for a refused watch
}

func newDriftWatcher(tracker *driftTracker, wake chan<- event.GenericEvent) *driftWatcher {
	return &driftWatcher{tracker: tracker, wake: wake, byDest: map[string]*destWatches{}}
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

// ensure starts informers for the kinds and namespaces of objs, which env applied to
// dest, once each.
func (w *driftWatcher) ensure(dest *destination, env envKey, objs []*unstructured.Unstructured) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return
	}
	dw := w.byDest[dest.key]
	if dw == nil || dw.dest != dest {
		if dw != nil {
			close(dw.stop) // the old credentials may be revoked
		}
		dw = &destWatches{dest: dest, stop: make(chan struct{}), running: map[string]bool{}, perNS: map[string]bool{}, owners: map[envKey]bool{},
			informers: map[string]cache.SharedIndexInformer{}}
		w.byDest[dest.key] = dw
	}
	dw.owners[env] = true
	for gvk, namespaces := range kindsAndNamespaces(objs) {
		m, err := dest.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			continue
		}
		res := m.Resource.String()
		if dw.running[res+"|"] {
			continue
		}
		if !dw.perNS[res] && (m.Scope.Name() != meta.RESTScopeNameNamespace || w.mayListAll(dest, m)) {
			w.start(dw, m, metav1.NamespaceAll)
			continue
		}
		dw.perNS[res] = true
		for _, ns := range namespaces {
			w.start(dw, m, ns)
		}
	}
}

// mayListAll probes whether the destination lets Landfall list the kind cluster-wide.
func (w *driftWatcher) mayListAll(dest *destination, m *meta.RESTMapping) bool {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(m.GroupVersionKind.GroupVersion().WithKind(m.GroupVersionKind.Kind + "List"))
	err := dest.client.List(w.ctx, list, client.Limit(1), client.MatchingLabels{landfallv1.LabelManaged: "true"})
	return !apierrors.IsForbidden(err)
}

func kindsAndNamespaces(objs []*unstructured.Unstructured) map[schema.GroupVersionKind][]string {
	out := map[schema.GroupVersionKind][]string{}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if !slices.Contains(out[gvk], o.GetNamespace()) {
			out[gvk] = append(out[gvk], o.GetNamespace())
		}
	}
	return out
}

func (w *driftWatcher) start(dw *destWatches, m *meta.RESTMapping, namespace string) {
	key := m.Resource.String() + "|" + namespace
	if dw.running[key] {
		return
	}
	inf, err := w.startInformer(dw, m, namespace)
	if err != nil {
		ctrl.LoggerFrom(w.ctx).Error(err, "Cannot watch managed objects", "resource", m.Resource.String(), "namespace", namespace)
		return
	}
	dw.running[key], dw.informers[key] = true, inf
}

// cached returns the metadata of a managed object as the informers hold it. ok is false
// when they cannot tell: no synced informer watches the kind where the object lives (the
// destination was rebuilt, nothing was applied there yet by this process). An object
// missing from a synced informer (exists false) may still be there without Landfall's
// label: the caller reads it.
func (w *driftWatcher) cached(dest *destination, gvk schema.GroupVersionKind, namespace, name string) (m *metav1.PartialObjectMetadata, exists, ok bool) {
	mapping, err := dest.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false, false
	}
	res := mapping.Resource.String()
	w.mu.Lock()
	dw := w.byDest[dest.key]
	var inf cache.SharedIndexInformer
	if dw != nil && dw.dest == dest {
		inf = dw.informers[res+"|"]
		if inf == nil {
			inf = dw.informers[res+"|"+namespace]
		}
	}
	w.mu.Unlock()
	if inf == nil || !inf.HasSynced() {
		return nil, false, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	item, exists, err := inf.GetIndexer().GetByKey(key)
	if err != nil {
		return nil, false, false
	}
	if !exists {
		return nil, false, true
	}
	m = asMeta(item)
	return m, m != nil, m != nil
}

func (w *driftWatcher) startInformer(dw *destWatches, m *meta.RESTMapping, namespace string) (cache.SharedIndexInformer, error) {
	mc, err := metadata.NewForConfig(dw.dest.config)
	if err != nil {
		return nil, err
	}
	factory := metadatainformer.NewFilteredSharedInformerFactory(mc, 30*time.Minute, namespace,
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
		return nil, err
	}
	err = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		cache.DefaultWatchErrorHandler(ctx, r, err)
		w.watchRefused(dw, err)
	})
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	go func() { // stop with the manager, or when the destination's credentials change
		select {
		case <-w.ctx.Done():
		case <-dw.stop:
		}
		close(stop)
	}()
	factory.Start(stop)
	return inf, nil
}

// watchRefused handles a list or watch the destination refused for its credentials (a
// kubeconfig Secret rotated and the old credentials revoked): the owners are woken, at
// most every refusedWake, so their next reconcile reads the Secret again, compares in full
// and starts informers with the new credentials.
func (w *driftWatcher) watchRefused(dw *destWatches, err error) {
	if !apierrors.IsUnauthorized(err) && !apierrors.IsForbidden(err) {
		return
	}
	w.mu.Lock()
	stale := w.byDest[dw.dest.key] != dw
	due := time.Since(dw.failed) >= refusedWake
	var owners []envKey
	if !stale && due {
		dw.failed = time.Now()
		owners = slices.Collect(maps.Keys(dw.owners))
	}
	w.mu.Unlock()
	for _, k := range owners {
		w.tracker.markDirty(k)
		w.wakeApplication(k.namespace, k.app)
	}
}

// refusedWake bounds how often a destination that refuses its watches wakes its owners.
const refusedWake = 10 * time.Second

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
	w.wakeApplication(parts[0], parts[1])
}

func (w *driftWatcher) wakeApplication(namespace, name string) {
	app := &landfallv1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	select {
	case w.wake <- event.GenericEvent{Object: app}:
	default: // the queue is full of wake-ups already; the periodic resync catches up
	}
}
