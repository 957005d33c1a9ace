// Package controllers holds Landfall's reconcilers: one file set per kind. It turns specs into
// plain options for the engine packages (sync/*, render, health) and reports what happened
// through status conditions, Events, metrics and logs.
package controllers

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/notify"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
	"github.com/landfall-dev/landfall/sync/source/webhook"
)

// Options configure every controller.
type Options struct {
	// Concurrency is the number of objects of each kind reconciled at once.
	Concurrency int
	// CacheDir holds Git checkouts.
	CacheDir string
	// WebhookAddr is the address of the webhook receiver; empty or "0" disables it.
	WebhookAddr string
	// WebhookRefusalBurst and WebhookRefusalsPerSecond bound the requests the receiver
	// refuses per source address before it answers 429 unread (zero: webhook.RefusalBurst
	// and webhook.RefusalsPerSecond).
	WebhookRefusalBurst      int
	WebhookRefusalsPerSecond float64
	// Jitter spreads periodic requeues (0.1 = ±5%), so many objects do not poll at once.
	Jitter float64
	// Resync is how often an Application is looked at without any event (default 10m).
	Resync time.Duration
	// DefaultServiceAccount is the ServiceAccount (in its own namespace) that an Application
	// without spec.serviceAccountName deploys as. Empty: such an Application deploys with
	// the controller's own rights.
	DefaultServiceAccount string
	// RequireTenantPolicy refuses every Repository and Application in a namespace that no
	// TenantPolicy selects. Off, such a namespace is unconfined.
	RequireTenantPolicy bool
	// Notifications is the dispatcher events are published to; nil makes one (tests pass
	// their own to publish into it directly).
	Notifications *notify.Dispatcher
	// NotificationDelivery tunes the notification targets' queues, retries and rate limits;
	// the zero value takes notify's defaults.
	NotificationDelivery notify.Options
	// HealthRules judge kinds with CEL expressions for every Application (an
	// Application's own healthCheckExprs win over them); nil: the built-in rules and kstatus.
	HealthRules *health.Rules
	// RenderIsolator, when set, runs every render in a child process with a memory limit
	// and a timeout; nil renders in this process.
	RenderIsolator render.Isolator
	// Shards, when set, spreads the objects over the replicas of a shard group (package
	// shard), which the manager then runs without leader election; nil: this replica
	// reconciles everything while it leads.
	Shards Ring
}

// webhookRefusals is the receiver's limit of refused requests per source.
func (o Options) webhookRefusals() *webhook.Refusals {
	burst, perSecond := o.WebhookRefusalBurst, o.WebhookRefusalsPerSecond
	if burst <= 0 {
		burst = webhook.RefusalBurst
	}
	if perSecond <= 0 {
		perSecond = webhook.RefusalsPerSecond
	}
	return webhook.NewRefusals(perSecond, burst, webhook.MaxSources)
}

// renderer returns the process's render engine, and has /metrics count its renders.
func (o Options) renderer() *render.Engine {
	e := render.New()
	if o.RenderIsolator != nil {
		e = render.New(render.WithIsolator(o.RenderIsolator))
	}
	renderEngine.Store(e)
	return e
}

// NewScheme returns a scheme with the Kubernetes built-in kinds and Landfall's kinds.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := landfallv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Setup registers every controller, the webhook receiver and the readiness checks with the
// manager.
func Setup(mgr ctrl.Manager, opts Options) error {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	git, err := source.New(source.Options{CacheDir: filepath.Join(opts.CacheDir, "git"), AllowHTTP: true})
	if err != nil {
		return fmt.Errorf("opening the Git cache: %w", err)
	}
	gitClient.Store(git)
	charts, err := chart.New(chart.Options{CacheDir: filepath.Join(opts.CacheDir, "charts")})
	if err != nil {
		return fmt.Errorf("opening the chart cache: %w", err)
	}
	refresh := make(chan event.GenericEvent, 64)
	ten := &tenants{reader: mgr.GetClient(), strict: opts.RequireTenantPolicy}
	nt, err := setupNotifications(mgr, opts)
	if err != nil {
		return err
	}
	policies := &TenantPolicyReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("landfall-tenantpolicy"),
		Shards: opts.Shards}
	if err := policies.SetupWithManager(mgr); err != nil {
		return err
	}
	repos := &RepositoryReconciler{
		Client: mgr.GetClient(), Secrets: mgr.GetAPIReader(), Source: git, Charts: charts,
		Recorder: mgr.GetEventRecorder("landfall-repository"), Jitter: opts.Jitter, Tenants: ten, Notify: nt,
		Shards: opts.Shards,
	}
	if err := repos.SetupWithManager(mgr, opts.Concurrency, refresh); err != nil {
		return err
	}
	if err := setupApplications(mgr, opts, git, charts, ten, nt); err != nil {
		return err
	}
	previews := &PreviewReconciler{
		Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Source: git,
		Recorder: mgr.GetEventRecorder("landfall-preview"), Jitter: opts.Jitter, Tenants: ten, Notify: nt,
		Shards: opts.Shards,
	}
	if err := previews.SetupWithManager(context.Background(), mgr, opts.Concurrency); err != nil {
		return err
	}
	var recv *WebhookReceiver
	if opts.WebhookAddr != "" && opts.WebhookAddr != "0" {
		secrets, err := newWebhookSecrets(mgr.GetConfig())
		if err != nil {
			return err
		}
		recv = &WebhookReceiver{Addr: opts.WebhookAddr, Client: mgr.GetClient(), Cache: mgr.GetCache(), Secrets: secrets,
			Refusals: opts.webhookRefusals(), Elected: mgr.Elected(), Shards: opts.Shards, Refresh: refresh, OnEvent: previews.OnWebhook}
	}
	return setupReplica(mgr, recv)
}

// setupNotifications starts the dispatcher, whose workers deliver outside every reconcile,
// and the Notification controller that configures its routes.
func setupNotifications(mgr ctrl.Manager, opts Options) (*notifier, error) {
	d := opts.Notifications
	if d == nil {
		d = notify.NewDispatcher()
	}
	if err := mgr.Add(d); err != nil {
		return nil, err
	}
	r := &NotificationReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Dispatcher: d,
		Recorder: mgr.GetEventRecorder("landfall-notification"), Delivery: opts.NotificationDelivery, Shards: opts.Shards}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	return &notifier{d: d, repos: mgr.GetClient()}, nil
}

func setupApplications(mgr ctrl.Manager, opts Options, git *source.Client, charts *chart.Client, ten *tenants, nt *notifier) error {
	dests, err := newDestinations(mgr.GetConfig(), mgr.GetAPIReader(), client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return err
	}
	dests.defaultServiceAccount = opts.DefaultServiceAccount
	dests.accounts = mgr.GetClient() // a metadata-only informer on ServiceAccounts
	tracker := newDriftTracker()
	wake := make(chan event.GenericEvent, 1024)
	watcher := newDriftWatcher(tracker, wake)
	if err := mgr.Add(watcher); err != nil {
		return err
	}
	apps := &ApplicationReconciler{
		Client: mgr.GetClient(), Secrets: mgr.GetAPIReader(), Source: git, Charts: charts, Renderer: opts.renderer(),
		Recorder: mgr.GetEventRecorder("landfall-application"), Clusters: dests, Drift: tracker, Tenants: ten,
		Watcher: watcher, Resync: opts.Resync, Jitter: opts.Jitter, Notify: nt, Rendered: newRenderMemo(),
		Store:  &revisionStore{client: mgr.GetClient(), reader: mgr.GetAPIReader()},
		Health: &healthRules{global: opts.HealthRules}, Shards: opts.Shards,
	}
	return apps.SetupWithManager(context.Background(), mgr, opts.Concurrency, wake)
}
