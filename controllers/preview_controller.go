package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source"
)

// PreviewReconciler gives every open pull request of a Repository its own namespace. Per
// pull request it owns a child Repository (the Preview's URL and credentials, following the
// pull request's ref by name) and a child Application deploying that Repository into one
// environment, "preview", confined to a namespace the Preview created. The Application
// machinery does the rest: render, apply, health, prune; the Preview decides which pull
// requests run, and deletes the namespaces it made once their Application has pruned.
type PreviewReconciler struct {
	client.Client
	// Reader reads Secrets, namespaces and Ingresses straight from the apiserver: Landfall
	// may get, not list, namespaces, and must see a namespace as it is now before it
	// deletes one.
	Reader   client.Reader
	Source   *source.Client
	Recorder recorder.EventRecorder
	// Jitter spreads polls: each requeue waits interval × (1 ± Jitter/2).
	Jitter float64
	// Tenants labels the namespaces of previews as their tenant's.
	Tenants *tenants
	// Notify publishes each preview's coming, changes and going.
	Notify *notifier
	// Shards, when set, is the shard group: only the Previews it owns are reconciled.
	Shards Ring

	events *previewEvents
	wake   chan event.GenericEvent
	now    func() time.Time
}

// Reconcile brings one Preview's children in line with the pull requests its Repository
// advertises.
func (r *PreviewReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	p := &landfallv1.Preview{}
	// Read past the cache: the pull requests between polls come from the last status, and
	// a status older than the one just written would delete the previews just created.
	if err := r.Reader.Get(ctx, req.NamespacedName, p); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, p)
	}
	if controllerutil.AddFinalizer(p, finalizer) {
		// Without the finalizer, deleting the Preview would leave the namespaces it made.
		if err := r.Update(ctx, p); err != nil {
			return ctrl.Result{}, err
		}
	}
	before := p.DeepCopy()
	patch := client.MergeFrom(before)
	pending := r.events.take(req.NamespacedName)
	defer func() {
		recordConditions("Preview", p)
		recordPreviews(p)
		if !equality.Semantic.DeepEqual(before.Status, p.Status) {
			if err := r.Status().Patch(ctx, p, patch); err != nil && !apierrors.IsNotFound(err) {
				retErr = errors.Join(retErr, fmt.Errorf("patching status: %w", err))
			}
		}
		if retErr != nil {
			r.events.restore(req.NamespacedName, pending) // a closed webhook must not be lost
		}
	}()
	if p.Spec.Suspend {
		markNotReady(p, landfallv1.ReasonSuspended, "previews are suspended: none is created, updated or deleted", false)
		return ctrl.Result{}, nil
	}
	tmpl, err := parseNamespaceTemplate(p.Spec.NamespaceTemplate)
	if err != nil {
		markNotReady(p, landfallv1.ReasonInvalidSpec, err.Error(), true)
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, landfallv1.ReasonInvalidSpec, "Validate", "%s", err.Error())
		return ctrl.Result{}, nil
	}
	return r.reconcilePreviews(ctx, p, tmpl, pending)
}

// reconcilePreviews lists the pull requests (or reuses the last list between polls), plans
// which run, and brings the children in line.
func (r *PreviewReconciler) reconcilePreviews(ctx context.Context, p *landfallv1.Preview, tmpl *template.Template,
	pending previewWake) (ctrl.Result, error) {
	repo, err := r.repository(ctx, p)
	if err != nil {
		return r.notReady(ctx, p, err)
	}
	interval := repositoryInterval(repo)
	heads, polled, err := r.heads(ctx, p, repo, pending.poked, interval)
	if err != nil {
		return r.notReady(ctx, p, err)
	}
	now := r.clock()
	entries := planPreviews(planInput{Previous: p.Status.Previews, Heads: heads, Events: pending.actions, Now: now,
		TTL: ttlOf(p), Max: maxPreviews(p)})
	out, err := r.syncChildren(ctx, p, repo, tmpl, entries)
	r.announce(p, p.Status.Previews, entries)
	r.notifyPreviews(p, repo.Spec.URL, p.Status.Previews, entries)
	p.Status.Previews = entries
	p.Status.Running, p.Status.Waiting = countStates(entries)
	if err != nil {
		return r.notReady(ctx, p, err)
	}
	p.Status.ObservedGeneration = p.Generation
	summarizePreview(p, out.failures)
	next := interval - time.Since(polled)
	for _, d := range []time.Duration{nextExpiry(entries, ttlOf(p), now), out.wait} {
		if d > 0 && d < next {
			next = d
		}
	}
	return ctrl.Result{RequeueAfter: jitter(max(next, time.Second), r.Jitter)}, nil
}

// repository returns the Preview's Repository.
func (r *PreviewReconciler) repository(ctx context.Context, p *landfallv1.Preview) (*landfallv1.Repository, error) {
	repo := &landfallv1.Repository{}
	key := client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.RepositoryRef.Name}
	if err := r.Get(ctx, key, repo); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errRepositoryNotReady{fmt.Sprintf("Repository %s not found", key.Name)}
		}
		return nil, err
	}
	if strings.HasPrefix(strings.ToLower(repo.Spec.URL), "http://") && !repo.Spec.Insecure {
		return nil, fmt.Errorf("%w: plain http:// needs spec.insecure: true on Repository %s", source.ErrInvalidURL, key.Name)
	}
	return repo, nil
}

// heads lists the matching refs on the Git server when a poll is due (the Repository's
// interval passed, a webhook came, the spec changed); between polls it reuses the refs of
// the last status, so the many reconciles that child status changes cause ask the Git
// server nothing. It returns when the refs were last listed.
func (r *PreviewReconciler) heads(ctx context.Context, p *landfallv1.Preview, repo *landfallv1.Repository,
	poked bool, interval time.Duration) (map[string]string, time.Time, error) {
	key := client.ObjectKeyFromObject(p)
	last, ok := r.events.lastPoll(key, p.Generation)
	if ok && !poked && time.Since(last) < interval {
		return headsOf(p.Status.Previews), last, nil
	}
	auth, err := (&RepositoryReconciler{Secrets: r.Reader}).auth(ctx, repo)
	if err != nil {
		return nil, time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout(repo))
	defer cancel()
	start := time.Now()
	heads, err := r.Source.ListRefs(ctx, repo.Spec.URL, p.Spec.Refs, auth)
	fetchDuration.WithLabelValues("check").Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("listing the refs %s: %w", strings.Join(p.Spec.Refs, ", "), err)
	}
	r.events.polled(key, p.Generation, start)
	return heads, start, nil
}

// headsOf reads the refs and commits of the last status.
func headsOf(entries []landfallv1.PreviewEntry) map[string]string {
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if rev, err := source.ParseRevision(e.Revision); err == nil {
			out[e.Ref] = rev.Commit
		}
	}
	return out
}

// notReady records an error that stopped the reconcile before any child changed: the
// previews that run keep running, and none is deleted because Git could not be read.
func (r *PreviewReconciler) notReady(ctx context.Context, p *landfallv1.Preview, err error) (ctrl.Result, error) {
	var missing errRepositoryNotReady
	if errors.As(err, &missing) {
		markNotReady(p, landfallv1.ReasonRepositoryNotReady, err.Error(), false)
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	reason, stalled := fetchFailure(err)
	markNotReady(p, reason, err.Error(), stalled)
	r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", err.Error())
	ctrl.LoggerFrom(ctx).Info("Preview reconcile failed", "reason", reason, "error", err.Error())
	if stalled {
		return ctrl.Result{RequeueAfter: time.Minute}, nil
	}
	return ctrl.Result{}, err
}

// finalize deletes every child, waits for the Applications to prune what they applied,
// deletes the namespaces made for them, then lets the Preview go.
func (r *PreviewReconciler) finalize(ctx context.Context, p *landfallv1.Preview) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(p, finalizer) {
		return ctrl.Result{}, nil
	}
	// Straight from the apiserver: a child created a moment ago and missed here would
	// outlive the Preview, and its namespace with it.
	kids, err := r.children(ctx, r.Reader, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	pending, err := r.removeChildren(ctx, p, kids, nil)
	if err != nil || pending {
		// The Applications' deletion brings the Preview back; the requeue is a safety net.
		return ctrl.Result{RequeueAfter: 10 * time.Second}, err
	}
	// A child Repository deleted by hand took its record of namespaces along: the status
	// still names each running preview's namespace.
	for _, e := range p.Status.Previews {
		if e.Namespace != "" && e.Application != "" {
			if err := r.deleteNamespace(ctx, e.Namespace, childOwner(p.Namespace, e.Application)); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	controllerutil.RemoveFinalizer(p, finalizer)
	ctrl.LoggerFrom(ctx).Info("Deleted preview children")
	return ctrl.Result{}, r.Update(ctx, p)
}

func (r *PreviewReconciler) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

func repositoryInterval(repo *landfallv1.Repository) time.Duration {
	if repo.Spec.Interval != nil && repo.Spec.Interval.Duration > 0 {
		return repo.Spec.Interval.Duration
	}
	return time.Minute
}

func ttlOf(p *landfallv1.Preview) time.Duration {
	if p.Spec.TTL != nil {
		return p.Spec.TTL.Duration
	}
	return 0
}

func maxPreviews(p *landfallv1.Preview) int {
	if p.Spec.MaxPreviews > 0 {
		return int(p.Spec.MaxPreviews)
	}
	return 10
}
