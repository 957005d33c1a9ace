package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
)

// finalizer lets Landfall delete what an Application created before the Application goes.
const finalizer = "landfall.dev/finalizer"

// ApplicationReconciler deploys each Application's revision to its environments in order:
// render → sync window → apply → prune → record.
type ApplicationReconciler struct {
	client.Client
	// Secrets reads Secrets, and the Application itself, straight from the apiserver.
	Secrets client.Reader
	Source  *source.Client
	// Charts holds the charts of Repositories that name one.
	Charts   *chart.Client
	Renderer render.Renderer
	Recorder recorder.EventRecorder
	// Clusters gives the client of an environment's destination.
	Clusters *destinations
	// Tenants finds the TenantPolicies that confine an Application's namespace.
	Tenants *tenants
	// Notify publishes each environment's rollout events to the Notifications.
	Notify *notifier
	// Drift remembers which environments' live objects changed since their last sync.
	Drift *driftTracker
	// Watcher watches the kinds applied, to notice drift.
	Watcher *driftWatcher
	// Rendered remembers what shaped each environment's last render (nil: nothing).
	Rendered *renderMemo
	// Store keeps the objects of each environment's last healthy revision.
	Store *revisionStore
	// Health compiles the health rules of each Application over the global ones.
	Health *healthRules
	// Resync is how often an Application is reconciled without any event.
	Resync time.Duration
	Jitter float64
	now    func() time.Time
	// versions tells when the informer cache may serve an Application (application_read.go).
	versions versions
	// namespaces are the environments' namespaces already seen.
	namespaces knownNamespaces
	// Shards, when set, is the shard group: only the Applications it owns are reconciled.
	Shards Ring
}

// Reconcile deploys one Application.
func (r *ApplicationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	app, err := r.readApplication(ctx, req.NamespacedName)
	if err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		retireEnvironments(app)
		r.versions.forget(req.NamespacedName) // finalize writes it; the next read asks the apiserver
		return ctrl.Result{}, r.finalize(ctx, app)
	}
	if controllerutil.AddFinalizer(app, finalizer) {
		// Carry on after adding the finalizer: the update passes none of the watch's
		// predicates (the generation is unchanged), so no event would bring the Application
		// back, and one created after its Repository resolved a revision would never sync.
		if err := r.Update(ctx, app); err != nil {
			r.versions.forget(req.NamespacedName)
			return ctrl.Result{}, err
		}
		r.versions.note(app)
	}
	before := app.DeepCopy()
	defer func() {
		err := patchStatusIfChanged(ctx, r.Client, r.Recorder, "Application", before, app,
			func(a *landfallv1.Application) any { return a.Status })
		if err != nil {
			r.versions.forget(req.NamespacedName)
		} else {
			r.versions.note(app)
		}
		retErr = errors.Join(retErr, err)
	}()
	retireEnvironments(app)
	if app.Spec.Suspend {
		// Suspend changes nothing, Ready included: it keeps saying how the environments
		// were left. Nothing is under way, and the new spec has been seen.
		removeCondition(app, landfallv1.ConditionReconciling)
		app.Status.ObservedGeneration = app.Generation
		return ctrl.Result{}, nil
	}
	if err := validateApplication(app); err != nil {
		markNotReady(app, landfallv1.ReasonInvalidSpec, err.Error(), true)
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, landfallv1.ReasonInvalidSpec, "Validate", "%s", err.Error())
		return ctrl.Result{}, nil
	}
	rules, err := r.Health.of(app)
	if err != nil {
		markNotReady(app, landfallv1.ReasonInvalidSpec, err.Error(), true)
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, landfallv1.ReasonInvalidSpec, "Validate", "%s", err.Error())
		return ctrl.Result{}, nil
	}
	co, err := r.checkout(ctx, app)
	if err != nil {
		return r.notReady(ctx, app, err)
	}
	defer co.Close()
	app.Status.Revision = co.Revision.String()
	res, syncErr := r.syncEnvironments(ctx, app, co, rules)
	r.markRewinds(ctx, app, co.Revision.String())
	return res, syncErr
}

// syncEnvironments visits every environment on every pass. Promotion is gated: an
// environment takes a revision only once the one before completed it (desiredRevision).
// Maintenance is not: an environment that was ever applied keeps its last promoted
// revision healed, its health refreshed and its status true, whatever the environments
// before it are doing. The Application's conditions tell the first environment that is
// not done, an error before a wait.
func (r *ApplicationReconciler) syncEnvironments(ctx context.Context, app *landfallv1.Application, co *source.Checkout, rules *health.Rules) (ctrl.Result, error) {
	manual := app.Annotations[landfallv1.AnnotationSyncRequestedAt] != "" &&
		app.Annotations[landfallv1.AnnotationSyncRequestedAt] != app.Status.LastHandledSyncAt
	requeue := jitter(r.resync(), r.Jitter)
	var stop *landfallv1.Environment
	var first envOutcome
	for i := range app.Spec.Environments {
		out := r.syncEnvironment(ctx, app, i, co, manual, rules)
		if out.requeue > 0 && out.requeue < requeue {
			requeue = out.requeue
		}
		if (out.err != nil || out.blocked) && (stop == nil || (first.blocked && !out.blocked)) {
			stop, first = &app.Spec.Environments[i], out
		}
	}
	if out, ok := r.pruneRemoved(ctx, app); !ok && (stop == nil || (first.blocked && !out.blocked)) {
		stop, first = &landfallv1.Environment{Name: out.env}, out.envOutcome
	}
	summarize(app)
	if manual && (stop == nil || first.stalled || heldByPerson(first)) {
		// A request is handled once nothing it asked for is still under way, or what is
		// left waits for a person or a time, not for the controller.
		app.Status.LastHandledSyncAt = app.Annotations[landfallv1.AnnotationSyncRequestedAt]
	}
	if stop != nil {
		if first.err == nil {
			// Waiting (for health, a window, a newer revision) is not failing: the spec
			// has been acted on.
			app.Status.ObservedGeneration = app.Generation
		}
		return r.environmentFailed(ctx, app, stop, first, requeue)
	}
	app.Status.ObservedGeneration = app.Generation
	markReady(app, landfallv1.ReasonSucceeded, fmt.Sprintf("revision %s applied to %d environment(s)",
		app.Status.Revision, len(app.Spec.Environments)))
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// heldByPerson tells a wait that no sync request can end: an approval, a pin or a closed
// sync window. `landfall sync` then says so at once instead of waiting out its timeout.
func heldByPerson(out envOutcome) bool {
	switch out.reason {
	case landfallv1.ReasonAwaitingApproval, landfallv1.ReasonPinned, landfallv1.ReasonOutsideSyncWindow:
		return out.blocked
	}
	return false
}

// environmentFailed records why an environment is not done.
func (r *ApplicationReconciler) environmentFailed(ctx context.Context, app *landfallv1.Application,
	env *landfallv1.Environment, out envOutcome, requeue time.Duration) (ctrl.Result, error) {
	msg := fmt.Sprintf("environment %s: %s", env.Name, out.message)
	markNotReady(app, out.reason, msg, out.stalled)
	if out.blocked {
		if !out.stalled && (out.reason == landfallv1.ReasonProgressing || out.reason == landfallv1.ReasonOutsideSyncWindow ||
			out.reason == landfallv1.ReasonDependencyNotReady) {
			setCondition(app, landfallv1.ConditionReconciling, metav1.ConditionTrue, out.reason, msg)
		}
		return ctrl.Result{RequeueAfter: requeue}, nil
	}
	ctrl.LoggerFrom(ctx).Info("Sync failed", "environment", env.Name, "reason", out.reason, "error", out.message)
	if out.stalled {
		return ctrl.Result{RequeueAfter: requeue}, nil
	}
	return ctrl.Result{}, out.err
}

// notReady records an error that happened before any environment was looked at.
func (r *ApplicationReconciler) notReady(ctx context.Context, app *landfallv1.Application, err error) (ctrl.Result, error) {
	var missing errRepositoryNotReady
	if errors.As(err, &missing) {
		markNotReady(app, landfallv1.ReasonRepositoryNotReady, err.Error(), false)
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	reason, stalled := fetchFailure(err)
	markNotReady(app, reason, err.Error(), stalled)
	r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, reason, "Fetch", "%s", err.Error())
	ctrl.LoggerFrom(ctx).Info("Checkout failed", "reason", reason, "error", err.Error())
	if stalled {
		return ctrl.Result{RequeueAfter: jitter(r.resync(), r.Jitter)}, nil
	}
	return ctrl.Result{}, err
}

func (r *ApplicationReconciler) resync() time.Duration {
	if r.Resync > 0 {
		return r.Resync
	}
	return 10 * time.Minute
}

func (r *ApplicationReconciler) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}
