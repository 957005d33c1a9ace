package controllers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source/webhook"
)

// WebhookReceiver serves POST /hooks/<namespace>/<repository> on every replica. A verified
// push or pull request event only asks for an immediate fetch of that Repository: the
// payload is never trusted as the revision. On the leader the request goes to the
// Repository controller's workqueue through refreshes, which never blocks the handler and
// holds each Repository once; the workqueue coalesces bursts (at most one fetch runs and one
// waits per Repository). A replica that does not lead writes it to the Repository through
// the apiserver instead (fetchRequests), coalesced the same way. The Repository comes from
// the informer cache and the webhook Secret from its own watch, started when a Repository
// names it: a delivery costs no apiserver read. A source refused too often (Refusals) is
// answered 429 before anything of its request is looked at.
type WebhookReceiver struct {
	Addr string
	// Client reads Repositories from the informer cache and writes the fetch requests.
	Client client.Client
	// Cache is the manager's informer cache, started before the receiver on every replica.
	Cache   cache.Cache
	Secrets *webhookSecrets
	// Refusals limits refused requests per source; nil means the defaults of package webhook.
	Refusals *webhook.Refusals
	// Elected is closed once this replica leads (the manager's Elected).
	Elected <-chan struct{}
	// Shards, when set, is the shard group: the replica that owns a Repository fetches it,
	// the others ask it to through the Repository. Elected is then not used.
	Shards Ring
	// Refresh receives the Repositories to fetch now, on the replica that fetches them.
	Refresh chan<- event.GenericEvent
	// OnEvent, when set, is told of every verified event on the leader (previews listen for
	// pull requests).
	OnEvent func(repo *landfallv1.Repository, ev webhook.Event)

	requests  *fetchRequests
	refreshes workqueue.TypedInterface[types.NamespacedName]
	bodies    *webhook.Bodies
	serving   atomic.Bool
}

// NeedLeaderElection: every replica takes webhooks, so a Service over all of them loses none.
func (w *WebhookReceiver) NeedLeaderElection() bool { return false }

// Start serves until ctx ends, once the Repository informer has synced.
func (w *WebhookReceiver) Start(ctx context.Context) error {
	repos, err := w.Cache.GetInformer(ctx, &landfallv1.Repository{})
	if err != nil {
		return err
	}
	w.Secrets.run(ctx)
	if err := w.Secrets.follow(ctx, repos); err != nil {
		return err
	}
	if !w.Cache.WaitForCacheSync(ctx) {
		return errors.New("the informer cache did not sync")
	}
	if w.Refusals == nil {
		w.Refusals = webhook.NewRefusals(webhook.RefusalsPerSecond, webhook.RefusalBurst, webhook.MaxSources)
	}
	w.requests = newFetchRequests(w.Client)
	go w.requests.run(ctx, 2)
	w.refreshes = workqueue.NewTyped[types.NamespacedName]()
	go w.forwardRefreshes(ctx)
	lis, err := net.Listen("tcp", w.Addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/{namespace}/{name}", w.handle)
	w.bodies = webhook.NewBodies(webhook.MaxConcurrentBodies, webhook.ReadTimeout)
	srv := webhook.NewServer(w.Addr, mux, 0)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	w.serving.Store(true)
	defer w.serving.Store(false)
	ctrl.LoggerFrom(ctx).Info("Serving webhooks", "address", lis.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// Ready is a readiness check: the receiver listens and the Repository cache has synced.
func (w *WebhookReceiver) Ready(*http.Request) error {
	if !w.serving.Load() {
		return errors.New("the webhook receiver is not serving yet")
	}
	return nil
}

// fetchesHere tells whether this replica fetches the Repository: it owns its shard, or,
// unsharded, it leads.
func (w *WebhookReceiver) fetchesHere(key types.NamespacedName) bool {
	if w.Shards != nil {
		return w.Shards.Owns(shardKey(key.Namespace, key.Name))
	}
	select {
	case <-w.Elected:
		return true
	default:
		return false
	}
}

func (w *WebhookReceiver) handle(rw http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	provider, code, msg := w.receive(ctx, rw, req)
	if provider == "" {
		provider = "unknown"
	}
	webhookRequests.WithLabelValues(string(provider), strconv.Itoa(code)).Inc()
	// A limited source is counted, not logged: a flood would otherwise be one line a request.
	if code != http.StatusOK && code != http.StatusTooManyRequests {
		ctrl.LoggerFrom(ctx).Info("Webhook refused", "namespace", req.PathValue("namespace"),
			"repository", req.PathValue("name"), "code", code, "reason", msg)
	}
	http.Error(rw, msg, code)
}

// receive answers 429 to a source refused too often, else verifies the request; a refusal
// is charged to its source.
func (w *WebhookReceiver) receive(ctx context.Context, rw http.ResponseWriter, req *http.Request) (webhook.Provider, int, string) {
	source := webhook.SourceOf(req.RemoteAddr)
	if wait, ok := w.Refusals.Check(source, time.Now()); !ok {
		webhookRateLimited.Inc()
		rw.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		return "", http.StatusTooManyRequests, "too many refused webhooks from this address"
	}
	provider, code, msg := w.verify(ctx, rw, req)
	if chargedRefusal(code) {
		w.Refusals.Refused(source, time.Now())
		webhookRefusingSources.Set(float64(w.Refusals.Len()))
	}
	return provider, code, msg
}

// chargedRefusal says whether an answer counts against its source: the sender's fault, not
// the receiver's being busy or failing.
func chargedRefusal(code int) bool {
	switch code {
	case http.StatusUnauthorized, http.StatusNotFound, http.StatusBadRequest,
		http.StatusRequestEntityTooLarge, http.StatusRequestTimeout:
		return true
	}
	return false
}

// verify checks one request, cheapest first (its headers, the Repository and its Secret
// from caches, then its body and signature), and asks for a refresh; it returns the HTTP
// answer.
func (w *WebhookReceiver) verify(ctx context.Context, rw http.ResponseWriter, req *http.Request) (webhook.Provider, int, string) {
	provider, err := webhook.Sender(req.Header)
	if err != nil {
		return "", webhook.StatusCode(err), err.Error()
	}
	repo := &landfallv1.Repository{}
	key := client.ObjectKey{Namespace: req.PathValue("namespace"), Name: req.PathValue("name")}
	if err := w.Client.Get(ctx, key, repo); err != nil {
		if apierrors.IsNotFound(err) {
			return provider, http.StatusNotFound, "no such repository"
		}
		return provider, http.StatusServiceUnavailable, "cannot read the repository"
	}
	if repo.Spec.WebhookSecretRef == nil {
		return provider, http.StatusUnauthorized, "the repository has no webhookSecretRef"
	}
	token, err := w.Secrets.token(ctx, repo)
	if err != nil {
		return provider, http.StatusUnauthorized, "webhook secret not readable"
	}
	body, err := w.bodies.Read(rw, req)
	if err != nil {
		return provider, webhook.StatusCode(err), err.Error()
	}
	ev, err := webhook.Parse(req.Header, body, token)
	if err != nil {
		return ev.Provider, webhook.StatusCode(err), err.Error()
	}
	if ev.Kind != webhook.Push && ev.Kind != webhook.PullRequest {
		return ev.Provider, http.StatusOK, "ok"
	}
	if !w.fetchesHere(key) {
		w.requests.add(key)
		return ev.Provider, http.StatusOK, "ok"
	}
	w.refreshes.Add(key)
	if w.OnEvent != nil {
		w.OnEvent(repo, ev)
	}
	return ev.Provider, http.StatusOK, "ok"
}

// forwardRefreshes hands the Repositories to fetch to the Repository controller until ctx
// ends. The queue holds a Repository once however many deliveries ask for it, so the
// handler never waits, whether the controller is busy or not started yet.
func (w *WebhookReceiver) forwardRefreshes(ctx context.Context) {
	go func() {
		<-ctx.Done()
		w.refreshes.ShutDown()
	}()
	for {
		key, quit := w.refreshes.Get()
		if quit {
			return
		}
		repo := &landfallv1.Repository{}
		repo.Namespace, repo.Name = key.Namespace, key.Name
		select {
		case w.Refresh <- event.GenericEvent{Object: repo}:
		case <-ctx.Done():
		}
		w.refreshes.Done(key)
	}
}
