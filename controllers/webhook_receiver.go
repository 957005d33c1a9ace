package controllers

import (
	"context"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source/webhook"
)

// WebhookReceiver serves POST /hooks/<namespace>/<repository>. A verified push or pull
// request event only asks for an immediate fetch of that Repository: the payload is never
// trusted as the revision. The workqueue coalesces bursts: at most one fetch runs and one
// waits per Repository.
type WebhookReceiver struct {
	Addr    string
	Client  client.Reader
	Secrets client.Reader
	// Refresh receives the Repositories to fetch now.
	Refresh chan<- event.GenericEvent
	// OnEvent, when set, is told of every verified event (previews listen for pull requests).
	OnEvent func(repo *landfallv1.Repository, ev webhook.Event)

	bodies *webhook.Bodies
}

// NeedLeaderElection: only the leader reconciles, so only the leader takes webhooks.
func (w *WebhookReceiver) NeedLeaderElection() bool { return true }

// Start serves until ctx ends.
func (w *WebhookReceiver) Start(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/{namespace}/{name}", w.handle)
	w.bodies = webhook.NewBodies(webhook.MaxConcurrentBodies, webhook.ReadTimeout)
	srv := webhook.NewServer(w.Addr, mux, 0)
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	ctrl.LoggerFrom(ctx).Info("Serving webhooks", "address", w.Addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
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
	token, err := webhookToken(ctx, w.Secrets, repo)
	if err != nil {
		return "unknown", http.StatusUnauthorized, "webhook secret not readable"
	}
	ev, err := webhook.Parse(req.Header, body, token)
	if err != nil {
		return ev.Provider, webhook.StatusCode(err), err.Error()
	}
	if ev.Kind == webhook.Push || ev.Kind == webhook.PullRequest {
		select {
		case w.Refresh <- event.GenericEvent{Object: repo}:
		case <-ctx.Done():
			return ev.Provider, http.StatusServiceUnavailable, "busy"
		}
		if w.OnEvent != nil {
			w.OnEvent(repo, ev)
		}
	}
	return ev.Provider, http.StatusOK, "ok"
}
