// Package dashboard serves Landfall's web dashboard: the delivery pipeline of every
// Application, live. Pages are Go templates rendered on the server from informer caches
// (no request reads the apiserver for a list); a little JavaScript swaps in fresh HTML
// when a server-sent event says an object changed. Every page and action runs with the
// signed-in user's own Kubernetes rights (TokenReview, SubjectAccessReview).
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Differ computes the live-vs-Git diff of an Application's environment; the controller's
// (controllers.Differ) is wired in by the command, so this package renders nothing itself.
type Differ interface {
	Diff(ctx context.Context, app *landfallv1.Application, env string) ([]ObjectDiff, error)
}

// ObjectDiff is one object's difference, Secret values already masked.
type ObjectDiff struct{ Environment, Object, Action, Text string }

// Options configure a Server.
type Options struct {
	// Cache holds Applications, Repositories and Previews: every list is read from it,
	// and its informers' events are what the browser is told about.
	Cache cache.Cache
	// Reader reads what the cache does not hold (an environment's objects, Events) when a
	// page of one Application is shown.
	Reader client.Reader
	// Writer makes the changes of actions, after the user's own rights were checked.
	Writer client.Client
	// Authenticator checks bearer tokens (TokenReviewer); Authorizer the user's rights
	// (SubjectAccessReviewer).
	Authenticator Authenticator
	Authorizer    Authorizer
	// Differ, when set, serves the live-vs-Git diff.
	Differ Differ
	// LoginKey, when set, signs a browser in by GET /login?key=… (landfall dashboard on
	// localhost opens that URL); empty in the controller, where users bring tokens.
	LoginKey string
	// ReviewTTL is how long an accepted token and an access answer are remembered
	// (default 10s).
	ReviewTTL time.Duration
	// PageSize is how many Applications a page lists (default 50).
	PageSize int
	Log      logr.Logger
}

// Server is the dashboard's HTTP handler and its live-update hub.
type Server struct {
	opts     Options
	auth     *cachedAuth
	sessions *sessions
	hub      *hub
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New builds a Server. Start must run for live updates.
func New(opts Options) (*Server, error) {
	if opts.Cache == nil || opts.Reader == nil || opts.Writer == nil || opts.Authenticator == nil || opts.Authorizer == nil {
		return nil, errors.New("dashboard: Cache, Reader, Writer, Authenticator and Authorizer are required")
	}
	if opts.ReviewTTL == 0 {
		opts.ReviewTTL = 10 * time.Second
	}
	if opts.PageSize == 0 {
		opts.PageSize = 50
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, auth: newCachedAuth(opts.Authenticator, opts.Authorizer, opts.ReviewTTL),
		sessions: newSessions(), hub: newHub(), pages: pages}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("GET /{$}", s.authed(s.applicationsPage))
	m.HandleFunc("GET /applications/{namespace}/{name}", s.authed(s.applicationPage))
	m.HandleFunc("GET /applications/{namespace}/{name}/diff", s.authed(s.diffPage))
	m.HandleFunc("POST /applications/{namespace}/{name}/{action}", s.authed(s.action))
	m.HandleFunc("GET /repositories", s.authed(s.repositoriesPage))
	m.HandleFunc("GET /previews", s.authed(s.previewsPage))
	m.HandleFunc("GET /events", s.authed(s.events))
	s.mux = m
}

// ServeHTTP adds the headers every answer carries: no framing (clickjacking), no
// scripts or styles but the embedded ones, no sniffing, no referrer leaving the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// Start registers the informer handlers that feed live updates; it returns once they
// are registered. The cache must be started (or start) for events to flow.
func (s *Server) Start(ctx context.Context) error {
	return s.hub.watch(ctx, s.opts.Cache)
}

// Serve listens on addr until ctx ends. It is a manager.Runnable through Runnable.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		MaxHeaderBytes: 64 << 10, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the dashboard: %w", err)
	}
	return nil
}

// Runnable serves on addr as a controller-runtime Runnable, on every replica (it needs
// no leadership: it reads caches and writes annotations the leader acts on).
func (s *Server) Runnable(addr string) *Runnable { return &Runnable{s: s, addr: addr} }

// Runnable is the Server as a manager.Runnable.
type Runnable struct {
	s    *Server
	addr string
}

func (r *Runnable) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		return fmt.Errorf("dashboard listening on %s: %w", r.addr, err)
	}
	r.s.opts.Log.Info("Serving the dashboard", "address", ln.Addr().String())
	return r.s.Serve(ctx, ln)
}

func (r *Runnable) NeedLeaderElection() bool { return false }

// request is an authenticated request: who, and their browser session when they have one
// (nil for a bearer token in the Authorization header).
type request struct {
	*http.Request
	user      *User
	session   *session
	sessionID string
}

// authed authenticates a request by its Authorization header or its session cookie.
// A token the apiserver refuses (forged, expired, revoked) is 401, and its session ends.
func (s *Server) authed(h func(http.ResponseWriter, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := &request{Request: r}
		token, fromHeader := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !fromHeader {
			c, err := r.Cookie(sessionCookie)
			if err == nil {
				req.session, req.sessionID = s.sessions.get(c.Value), c.Value
			}
			if req.session == nil {
				s.unauthorized(w, r, "Sign in with a Kubernetes bearer token.")
				return
			}
			token = req.session.token
		}
		token = strings.TrimSpace(token)
		if token == "" {
			s.unauthorized(w, r, "Sign in with a Kubernetes bearer token.")
			return
		}
		u, err := s.auth.Authenticate(r.Context(), token)
		if err != nil {
			if req.session != nil {
				s.sessions.drop(req.sessionID)
			}
			if !errors.Is(err, errUnauthenticated) {
				s.opts.Log.Error(err, "Authenticating a dashboard request")
			}
			s.unauthorized(w, r, "The cluster does not accept this token (forged, expired or revoked). Sign in again.")
			return
		}
		req.user = u
		h(w, req)
	}
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="landfall"`)
	if !wantsHTML(r) {
		http.Error(w, msg, http.StatusUnauthorized)
		return
	}
	s.render(w, r, http.StatusUnauthorized, "login", loginView{Message: msg})
}

func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
