package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// change names an object that changed, as the browser is told it.
type change struct {
	Resource  string `json:"resource"` // applications, repositories, previews
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// hub fans informer events out to the connected browsers. Each subscriber has a small
// buffer; one that does not keep up loses changes and is told to reload everything,
// so a slow browser never holds the informers back.
type hub struct {
	mu   sync.Mutex
	subs map[chan change]struct{}
	// published counts the changes fanned out, for the benchmark.
	published uint64
}

const subscriberBuffer = 64

func newHub() *hub { return &hub{subs: map[chan change]struct{}{}} }

func (h *hub) subscribe() chan change {
	ch := make(chan change, subscriberBuffer)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch
}

func (h *hub) unsubscribe(ch chan change) {
	h.mu.Lock()
	delete(h.subs, ch)
	h.mu.Unlock()
}

func (h *hub) publish(c change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.published++
	for ch := range h.subs {
		select {
		case ch <- c:
		default: // full: the subscriber reloads when it catches up (see events)
		}
	}
}

// watch adds an event handler to the informers of Landfall's three kinds.
func (h *hub) watch(ctx context.Context, c cache.Cache) error {
	kinds := []struct {
		obj      client.Object
		resource string
	}{
		{&landfallv1.Application{}, "applications"},
		{&landfallv1.Repository{}, "repositories"},
		{&landfallv1.Preview{}, "previews"},
	}
	for _, k := range kinds {
		inf, err := c.GetInformer(ctx, k.obj)
		if err != nil {
			return fmt.Errorf("informer for %s: %w", k.resource, err)
		}
		resource := k.resource
		send := func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if o, ok := obj.(client.Object); ok {
				h.publish(change{Resource: resource, Namespace: o.GetNamespace(), Name: o.GetName()})
			}
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: send, DeleteFunc: send,
			UpdateFunc: func(_, obj any) { send(obj) },
		}); err != nil {
			return fmt.Errorf("watching %s: %w", resource, err)
		}
	}
	return nil
}

// events streams the changes the user may see as server-sent events. The page then
// fetches its own fresh HTML from this server's caches: no browser polls the apiserver.
func (s *Server) events(w http.ResponseWriter, r *request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := s.hub.subscribe()
	defer s.hub.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // nginx ingress: do not buffer the stream
	fmt.Fprint(w, "retry: 2000\n: connected\n\n")
	flusher.Flush()
	// The sessions's token is reviewed again as its cache entry expires: a revoked token
	// stops the stream.
	recheck := time.NewTicker(s.opts.ReviewTTL)
	defer recheck.Stop()
	keepalive := time.NewTicker(25 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-recheck.C:
			if r.session != nil && s.sessions.get(r.sessionID) == nil {
				return
			}
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			flusher.Flush()
		case c := <-ch:
			if ok, err := s.auth.may(r.Context(), r.user, Access{Verb: "get", Resource: c.Resource, Namespace: c.Namespace, Name: c.Name}); err != nil || !ok {
				continue
			}
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
			if len(ch) == 0 {
				flusher.Flush()
			}
		}
	}
}

// full reports whether a subscriber's buffer is full (for the benchmark, which measures
// delivered changes and so waits rather than drop).
func (h *hub) full() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		if len(ch) == cap(ch) {
			return true
		}
	}
	return false
}
