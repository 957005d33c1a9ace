package controllers

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

const (
	// requestPoll is how often a Repository with deliveries waiting is looked at (in the
	// informer cache, no request) to see whether the leader handled the outstanding request.
	requestPoll = 250 * time.Millisecond
	// requestOutstanding bounds how long a request counts as outstanding: a leader that does
	// not handle it by then (suspended Repository, no leader yet) gets a new one when more
	// deliveries come.
	requestOutstanding = 30 * time.Second
)

// fetchRequests is how a replica that does not lead asks for fetches: it writes the
// Repository's landfall.dev/reconcile-requested-at annotation, which the leader's
// Repository controller watches, as `landfall reconcile` would. Bursts coalesce as the
// leader's workqueue does (one runs, one waits): while this replica's request is
// outstanding (written, and not yet status.lastHandledReconcileAt as the informer cache
// shows it), further deliveries only keep the Repository queued here, and one more request
// is written once the outstanding one is handled, for deliveries its fetch may have missed.
type fetchRequests struct {
	client client.Client // reads from the informer cache; writes to the apiserver
	queue  workqueue.TypedRateLimitingInterface[types.NamespacedName]

	mu      sync.Mutex
	written map[types.NamespacedName]writtenRequest
}

type writtenRequest struct {
	value string
	at    time.Time
}

func newFetchRequests(c client.Client) *fetchRequests {
	return &fetchRequests{
		client:  c,
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]()),
		written: map[types.NamespacedName]writtenRequest{},
	}
}

// add asks for a fetch of the Repository.
func (f *fetchRequests) add(key types.NamespacedName) { f.queue.Add(key) }

// run writes requests with a few workers (one Repository is never written by two at once:
// the queue hands a key to one worker at a time) until ctx ends.
func (f *fetchRequests) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				key, quit := f.queue.Get()
				if quit {
					return
				}
				f.process(ctx, key)
				f.queue.Done(key)
			}
		})
	}
	<-ctx.Done()
	f.queue.ShutDown()
	wg.Wait()
}

func (f *fetchRequests) process(ctx context.Context, key types.NamespacedName) {
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", key.Namespace, "repository", key.Name)
	repo := &landfallv1.Repository{}
	if err := f.client.Get(ctx, key, repo); err != nil {
		if !apierrors.IsNotFound(err) {
			f.queue.AddRateLimited(key)
			return
		}
		f.forget(key)
		return
	}
	if f.outstanding(key, repo) {
		f.queue.AddAfter(key, requestPoll)
		return
	}
	value := time.Now().UTC().Format(time.RFC3339Nano)
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		landfallv1.AnnotationReconcileRequestedAt: value}}})
	if err == nil {
		err = f.client.Patch(ctx, repo, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(webhookFieldOwner))
	}
	if err != nil {
		log.Error(err, "Cannot request a fetch from the leader")
		f.queue.AddRateLimited(key)
		return
	}
	f.mu.Lock()
	f.written[key] = writtenRequest{value: value, at: time.Now()}
	f.mu.Unlock()
	f.queue.Forget(key)
}

// outstanding says whether this replica's last request for the Repository still waits for
// the leader. A request the cache does not show yet counts as outstanding too.
func (f *fetchRequests) outstanding(key types.NamespacedName, repo *landfallv1.Repository) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.written[key]
	if !ok {
		return false
	}
	if repo.Status.LastHandledReconcileAt == w.value || time.Since(w.at) > requestOutstanding {
		delete(f.written, key)
		return false
	}
	return true
}

func (f *fetchRequests) forget(key types.NamespacedName) {
	f.mu.Lock()
	delete(f.written, key)
	f.mu.Unlock()
	f.queue.Forget(key)
}

// webhookFieldOwner is the field manager of the annotation a replica writes for the leader;
// Landfall's own applies (api/v1alpha1.FieldManager) never own it.
const webhookFieldOwner = "landfall-webhook"
