package controllers

import (
	"context"
	"maps"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source/webhook"
)

// SetupWithManager watches Previews (spec changes and reconcile requests), their child
// Applications (health, and deletion once pruned), their Repositories (appearing, changing)
// and the webhook wake-ups OnWebhook sends.
func (r *PreviewReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, concurrency int) error {
	r.events = newPreviewEvents()
	r.wake = make(chan event.GenericEvent, 1024)
	if err := mgr.GetFieldIndexer().IndexField(ctx, &landfallv1.Preview{}, repositoryRefIndex,
		func(o client.Object) []string { return []string{o.(*landfallv1.Preview).Spec.RepositoryRef.Name} }); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&landfallv1.Preview{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, requestAnnotationChanged(landfallv1.AnnotationReconcileRequestedAt)))).
		Owns(&landfallv1.Application{}).
		Watches(&landfallv1.Repository{}, handler.EnqueueRequestsFromMapFunc(r.previewsOf),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A fetch asked for through the Repository (a webhook taken by a replica that does not
		// lead, or `landfall reconcile`) makes its Previews list the refs now, as OnWebhook does.
		Watches(&landfallv1.Repository{}, handler.EnqueueRequestsFromMapFunc(r.pokePreviewsOf),
			builder.WithPredicates(fetchRequested())).
		WatchesRawSource(source.Channel(r.wake, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Named("preview")
	return completeSharded(b, mgr, r.Shards, shardKind[*landfallv1.Preview]{
		kind:   "Preview",
		newObj: func() *landfallv1.Preview { return &landfallv1.Preview{} },
		list: listOf(func() *landfallv1.PreviewList { return &landfallv1.PreviewList{} },
			func(l *landfallv1.PreviewList) []*landfallv1.Preview { return pointers(l.Items) }),
		// With its Repository: the replica that takes the Repository's webhooks wakes it.
		keyOf: func(p *landfallv1.Preview) string {
			return shardKey(p.Namespace, p.Spec.RepositoryRef.Name)
		},
		forget: r.forget,
	}, r)
}

// forget drops what this replica keeps of a Preview it no longer reconciles.
func (r *PreviewReconciler) forget(key types.NamespacedName) {
	forgetObject("Preview", key.Namespace, key.Name)
	forgetPreview(key.Namespace, key.Name)
	r.events.drop(key)
}

// previewsOf maps a Repository to the Previews of its pull requests.
func (r *PreviewReconciler) previewsOf(ctx context.Context, o client.Object) []reconcile.Request {
	list := &landfallv1.PreviewList{}
	if err := r.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{repositoryRefIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Cannot list Previews of a Repository", "repository", o.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// pokePreviewsOf maps a Repository to its Previews and marks them to list the refs at once.
func (r *PreviewReconciler) pokePreviewsOf(ctx context.Context, o client.Object) []reconcile.Request {
	reqs := r.previewsOf(ctx, o)
	for _, req := range reqs {
		r.events.add(req.NamespacedName, 0, "")
	}
	return reqs
}

// fetchRequested passes only updates that set a new landfall.dev/reconcile-requested-at.
func fetchRequested() predicate.Predicate {
	changed := requestAnnotationChanged(landfallv1.AnnotationReconcileRequestedAt)
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return changed.Update(e) && e.ObjectNew.GetAnnotations()[landfallv1.AnnotationReconcileRequestedAt] != ""
		},
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// OnWebhook is the webhook receiver's hook: a verified push or pull-request event for a
// Repository makes each of its Previews list the refs now, and a pull request's action
// (closed, reopened) is kept for the next reconcile. The action only decides whether a
// preview runs; the commit deployed is always what the Git server advertises.
func (r *PreviewReconciler) OnWebhook(repo *landfallv1.Repository, ev webhook.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log := ctrl.Log.WithName("preview").WithValues("namespace", repo.Namespace, "repository", repo.Name)
	for _, req := range r.previewsOf(ctx, repo) {
		var action webhook.Action
		if ev.Kind == webhook.PullRequest && ev.PullRequest > 0 {
			action = ev.Action
		}
		r.events.add(req.NamespacedName, int64(ev.PullRequest), action)
		p := &landfallv1.Preview{}
		p.Namespace, p.Name = req.Namespace, req.Name
		select {
		case r.wake <- event.GenericEvent{Object: p}:
		default:
			// The queue is full of wake-ups already; the recorded action waits for the next.
			log.Info("Preview wake-up dropped", "preview", req.Name)
		}
	}
}

// previewEvents keeps, per Preview, the webhook actions not yet reconciled and when the
// refs were last listed. It lives in memory: after a restart every Preview lists its refs
// at once, which is what a lost wake-up needs.
type previewEvents struct {
	mu    sync.Mutex
	wakes map[types.NamespacedName]previewWake
	polls map[types.NamespacedName]lastPoll
}

// previewWake is what webhooks asked of one Preview.
type previewWake struct {
	poked   bool
	actions map[int64]webhook.Action // by pull-request number, the latest
}

type lastPoll struct {
	at         time.Time
	generation int64
}

func newPreviewEvents() *previewEvents {
	return &previewEvents{wakes: map[types.NamespacedName]previewWake{}, polls: map[types.NamespacedName]lastPoll{}}
}

func (s *previewEvents) add(key types.NamespacedName, number int64, a webhook.Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.wakes[key]
	w.poked = true
	if a == webhook.Opened || a == webhook.Reopened || a == webhook.Synchronize || a == webhook.Closed {
		if w.actions == nil {
			w.actions = map[int64]webhook.Action{}
		}
		w.actions[number] = a
	}
	s.wakes[key] = w
}

// take returns and forgets what webhooks asked since the last take.
func (s *previewEvents) take(key types.NamespacedName) previewWake {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.wakes[key]
	delete(s.wakes, key)
	return w
}

// restore puts back what a failed reconcile took; actions that arrived since win.
func (s *previewEvents) restore(key types.NamespacedName, w previewWake) {
	if !w.poked {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.wakes[key]
	merged := maps.Clone(w.actions)
	if merged == nil {
		merged = map[int64]webhook.Action{}
	}
	maps.Copy(merged, now.actions)
	s.wakes[key] = previewWake{poked: true, actions: merged}
}

func (s *previewEvents) drop(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.wakes, key)
	delete(s.polls, key)
}

// lastPoll is when the refs of a Preview were last listed for this generation of its spec.
func (s *previewEvents) lastPoll(key types.NamespacedName, generation int64) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.polls[key]
	return p.at, ok && p.generation == generation
}

func (s *previewEvents) polled(key types.NamespacedName, generation int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls[key] = lastPoll{at: at, generation: generation}
}
