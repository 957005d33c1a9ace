package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
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

// covers reports whether a stream opened for scope (?resource=&namespace=&name=, each
// optional, as a page asks for what it shows) carries c.
func (scope change) covers(c change) bool {
	return (scope.Resource == "" || scope.Resource == c.Resource) &&
		(scope.Namespace == "" || scope.Namespace == c.Namespace) && (scope.Name == "" || scope.Name == c.Name)
}

// hub fans informer events out to the connected browsers. Each subscriber has a small
// buffer; one that does not keep up loses changes and is told to reload everything,
// so a slow browser never holds the informers back.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
	// published counts the changes fanned out, for the benchmark.
	published uint64
}

// subscriber is one browser's stream. lost is set when a change did not fit in ch: the
// browser can no longer know what changed and must reload what it shows.
type subscriber struct {
	scope change // what the stream carries (see covers)
	ch    chan change
	lost  atomic.Bool
}

// resync reports, once per overflow, that changes were lost before this one.
func (s *subscriber) resync() bool { return s.lost.Swap(false) }

const subscriberBuffer = 64

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe(scope change) *subscriber {
	s := &subscriber{scope: scope, ch: make(chan change, subscriberBuffer)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) publish(c change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.published++
	for s := range h.subs {
		if !s.scope.covers(c) {
			continue
		}
		select {
		case s.ch <- c:
		default: // full: the subscriber reloads when it catches up (see events)
			s.lost.Store(true)
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

// events streams the changes the user may see, within the scope the page asks for, as
// server-sent events. The page then fetches its own fresh HTML from this server's caches:
// no browser polls the apiserver.
func (s *Server) events(w http.ResponseWriter, r *request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	scope := change{Resource: r.URL.Query().Get("resource"), Namespace: r.URL.Query().Get("namespace"), Name: r.URL.Query().Get("name")}
	sub := s.hub.subscribe(scope)
	defer s.hub.unsubscribe(sub)
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
		case c := <-sub.ch:
			if sub.resync() {
				// Changes were dropped while this stream lagged (a full buffer is only
				// ever drained here, so the flag is seen soon): the page reloads all.
				fmt.Fprint(w, "event: resync\ndata: {}\n\n")
			}
			if ok, err := s.auth.may(r.Context(), r.user, Access{Verb: "get", Resource: c.Resource, Namespace: c.Namespace, Name: c.Name}); err != nil || !ok {
				continue
			}
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
			if len(sub.ch) == 0 {
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
	for s := range h.subs {
		if len(s.ch) == cap(s.ch) {
			return true
		}
	}
	return false
}
