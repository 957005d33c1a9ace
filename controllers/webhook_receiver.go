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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source/webhook"
)

// WebhookReceiver serves POST /hooks/<namespace>/<repository> on every replica. A verified
// push or pull request event only asks for an immediate fetch of that Repository: the
// payload is never trusted as the revision. On the leader the request goes straight to the
// Repository controller's workqueue, which coalesces bursts (at most one fetch runs and one
// waits per Repository); a replica that does not lead writes it to the Repository through
// the apiserver instead (fetchRequests), coalesced the same way. The Repository comes from
// the informer cache and the webhook Secret from its own watch: a delivery costs no
// apiserver read.
type WebhookReceiver struct {
	Addr string
	// Client reads Repositories from the informer cache and writes the fetch requests.
	Client client.Client
	// Cache is the manager's informer cache, started before the receiver on every replica.
	Cache   cache.Cache
	Secrets *webhookSecrets
	// Elected is closed once this replica leads (the manager's Elected).
	Elected <-chan struct{}
	// Refresh receives the Repositories to fetch now, on the leader.
	Refresh chan<- event.GenericEvent
	// OnEvent, when set, is told of every verified event on the leader (previews listen for
	// pull requests).
	OnEvent func(repo *landfallv1.Repository, ev webhook.Event)

	requests *fetchRequests
	bodies   *webhook.Bodies
	serving  atomic.Bool
}

// NeedLeaderElection: every replica takes webhooks, so a Service over all of them loses none.
func (w *WebhookReceiver) NeedLeaderElection() bool { return false }

// Start serves until ctx ends, once the Repository informer has synced.
func (w *WebhookReceiver) Start(ctx context.Context) error {
	if _, err := w.Cache.GetInformer(ctx, &landfallv1.Repository{}); err != nil {
		return err
	}
	if !w.Cache.WaitForCacheSync(ctx) {
		return errors.New("the informer cache did not sync")
	}
	w.Secrets.run(ctx)
	w.requests = newFetchRequests(w.Client)
	go w.requests.run(ctx, 2)
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

func (w *WebhookReceiver) leading() bool {
	select {
	case <-w.Elected:
		return true
	default:
		return false
	}
}

func (w *WebhookReceiver) handle(rw http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", req.PathValue("namespace"), "repository", req.PathValue("name"))
	provider, code, msg := w.receive(ctx, rw, req)
	if provider == "" {
		provider = "unknown"
	}
	webhookRequests.WithLabelValues(string(provider), strconv.Itoa(code)).Inc()
	if code != http.StatusOK {
		log.Info("Webhook refused", "code", code, "reason", msg)
	}
	http.Error(rw, msg, code)
}

// receive verifies one request and asks for a refresh; it returns the HTTP answer.
func (w *WebhookReceiver) receive(ctx context.Context, rw http.ResponseWriter, req *http.Request) (webhook.Provider, int, string) {
	body, err := w.bodies.Read(rw, req)
	if err != nil {
		return "unknown", webhook.StatusCode(err), err.Error()
	}
	repo := &landfallv1.Repository{}
	key := client.ObjectKey{Namespace: req.PathValue("namespace"), Name: req.PathValue("name")}
	if err := w.Client.Get(ctx, key, repo); err != nil {
		if apierrors.IsNotFound(err) {
			return "unknown", http.StatusNotFound, "no such repository"
		}
		return "unknown", http.StatusServiceUnavailable, "cannot read the repository"
	}
	var token []byte
	if ref := repo.Spec.WebhookSecretRef; ref != nil {
		if token, err = w.Secrets.token(ctx, types.NamespacedName{Namespace: repo.Namespace, Name: ref.Name}); err != nil {
			return "unknown", http.StatusUnauthorized, "webhook secret not readable"
		}
	}
	ev, err := webhook.Parse(req.Header, body, token)
	if err != nil {
		return ev.Provider, webhook.StatusCode(err), err.Error()
	}
	if ev.Kind != webhook.Push && ev.Kind != webhook.PullRequest {
		return ev.Provider, http.StatusOK, "ok"
	}
	if !w.leading() {
		w.requests.add(key)
		return ev.Provider, http.StatusOK, "ok"
	}
	select {
	case w.Refresh <- event.GenericEvent{Object: repo}:
	case <-ctx.Done():
		return ev.Provider, http.StatusServiceUnavailable, "busy"
	}
	if w.OnEvent != nil {
		w.OnEvent(repo, ev)
	}
	return ev.Provider, http.StatusOK, "ok"
}
