package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/sync/apply"
	"github.com/landfall-dev/landfall/sync/inventory"
	"github.com/landfall-dev/landfall/sync/source"
)

// envOutcome is how one environment's sync ended.
type envOutcome struct {
	err     error
	blocked bool // waiting (sync window), not failed
	stalled bool // the user must act
	reason  string
	message string
	requeue time.Duration
}

func failed(reason string, err error, stalled bool) envOutcome {
	return envOutcome{err: err, reason: reason, message: err.Error(), stalled: stalled}
}

// syncEnvironment brings one environment to the checkout's revision. It never prunes after
// any error in the same pass.
func (r *ApplicationReconciler) syncEnvironment(ctx context.Context, app *landfallv1.Application,
	env *landfallv1.Environment, co *source.Checkout, manual bool) envOutcome {
	log := ctrl.LoggerFrom(ctx).WithValues("environment", env.Name, "revision", co.Revision.String())
	ctx = ctrl.LoggerInto(ctx, log)
	st := environmentStatus(app, env.Name)
	st.DesiredRevision = co.Revision.String()
	if out, ok := r.checkWindow(app, st, manual); !ok {
		return out
	}
	dest, err := r.Clusters.get(ctx, app.Namespace, env.Cluster)
	if err != nil {
		return failed(landfallv1.ReasonClusterUnreachable, err, false)
	}
	result, err := r.render(ctx, app, env, co, dest)
	if err != nil {
		st.Sync, st.Message = landfallv1.SyncUnknown, err.Error()
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, landfallv1.ReasonRenderFailed, "Render", "environment %s: %s", env.Name, err.Error())
		return failed(landfallv1.ReasonRenderFailed, err, true)
	}
	key := envKey{app.Namespace, app.Name, env.Name}
	dirty := r.Drift.takeDirty(key)
	if !manual && !dirty && st.RenderDigest == result.Digest && st.Revision == co.Revision.String() {
		return envOutcome{} // nothing in Git nor in the cluster changed: no dry-run, no write
	}
	if err := r.ensureNamespace(ctx, dest, app, env.Name, env.Namespace); err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, false)
	}
	objs := stamp(result.Objects, app, env.Name)
	if dirty && !manual && !app.Spec.SelfHeal && st.RenderDigest == result.Digest && st.Revision == co.Revision.String() {
		return r.reportDrift(ctx, app, env.Name, st, dest, objs)
	}
	out := r.applyAndPrune(ctx, app, env, st, dest, objs, result.Digest, co.Revision.String())
	if out.err != nil {
		r.Drift.markDirty(key) // not synced: the next pass must compare again
	}
	return out
}

// checkWindow holds the sync while a window forbids it.
func (r *ApplicationReconciler) checkWindow(app *landfallv1.Application, st *landfallv1.EnvironmentStatus, manual bool) (envOutcome, bool) {
	v, err := evaluateWindows(app.Spec.SyncWindows, r.clock())
	if err != nil {
		return failed(landfallv1.ReasonInvalidSpec, err, true), false
	}
	if v.Allowed || (manual && v.ManualAllowed) {
		return envOutcome{}, true
	}
	st.Message = v.Reason
	if st.Revision != st.DesiredRevision {
		st.Sync = landfallv1.SyncOutOfSync
	}
	wait := time.Until(v.Next) + time.Second
	return envOutcome{blocked: true, reason: landfallv1.ReasonOutsideSyncWindow, message: v.Reason, requeue: wait}, false
}

func (r *ApplicationReconciler) render(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	co *source.Checkout, dest *destination) (*render.Result, error) {
	in := render.Input{
		Root: co.Dir, Path: firstNonEmpty(env.Path, app.Spec.Path), Namespace: env.Namespace,
		ReleaseName: firstNonEmpty(env.ReleaseName, app.Name), ValuesFiles: env.ValuesFiles,
		Revision: co.Revision.Commit, KubeVersion: dest.version, Scope: dest.scope,
		Policy: render.Policy{AllowClusterScoped: app.Spec.AllowClusterScoped, AllowedNamespaces: app.Spec.AllowedNamespaces},
	}
	if env.Values != nil && len(env.Values.Raw) > 0 {
		if err := json.Unmarshal(env.Values.Raw, &in.Values); err != nil {
			return nil, fmt.Errorf("environment %s: values: %w", env.Name, err)
		}
	}
	start := time.Now()
	res, err := r.Renderer.Render(ctx, in)
	renderDuration.WithLabelValues(app.Namespace, app.Name, env.Name).Observe(time.Since(start).Seconds())
	return res, err
}

// applyAndPrune applies the objects, then prunes what the inventory no longer has.
func (r *ApplicationReconciler) applyAndPrune(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	st *landfallv1.EnvironmentStatus, dest *destination, objs []*unstructured.Unstructured, digest, revision string) envOutcome {
	start := time.Now()
	mgr, err := r.applier(dest, app, env.Name)
	if err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, false)
	}
	old, err := decodeInventory(st)
	if err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, false)
	}
	desired, err := inventory.FromObjects(objs)
	if err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, true)
	}
	changes, err := mgr.Apply(ctx, objs)
	recordChanges(app, env.Name, changes)
	if err != nil {
		// Whatever was applied stays owned: keep it in the inventory for a later prune.
		st.Inventory = encodeInventory(old.Union(applied(changes)))
		st.Sync, st.Message, st.LastSyncResult = landfallv1.SyncOutOfSync, err.Error(), "failed: "+err.Error()
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, landfallv1.ReasonApplyFailed, "Apply", "environment %s: %s", env.Name, err.Error())
		return failed(landfallv1.ReasonApplyFailed, err, false)
	}
	keep, out := r.prune(ctx, app, env, st, mgr, old, desired, changes)
	st.Inventory = encodeInventory(desired.Union(keep))
	r.Watcher.ensure(dest, gvksOf(objs))
	if out.err != nil || out.blocked {
		return out
	}
	now := metav1.NewTime(r.clock())
	if st.Revision != revision {
		addHistory(app, revision, env.Name, now)
	}
	st.Revision, st.RenderDigest, st.LastSyncTime = revision, digest, &now
	st.Sync, st.OutOfSync, st.LastSyncResult = landfallv1.SyncSynced, nil, changes.String()
	st.Message = "applied " + changes.String()
	syncDuration.WithLabelValues(app.Namespace, app.Name, env.Name).Observe(time.Since(start).Seconds())
	if changes.Writes() > 0 {
		r.Recorder.Eventf(app, nil, corev1.EventTypeNormal, "Synced", "Apply", "environment %s at %s: %s", env.Name, revision, changes.String())
		ctrl.LoggerFrom(ctx).Info("Synced", "changes", changes.String())
	}
	return envOutcome{}
}

// prune deletes the objects of the old inventory that the render no longer has, unless the
// spec does not prune or the prune would take too much. It returns what must stay in the
// inventory: objects whose delete failed or was held.
func (r *ApplicationReconciler) prune(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	st *landfallv1.EnvironmentStatus, mgr *apply.Manager, old, desired inventory.Inventory, changes *apply.ChangeSet) (inventory.Inventory, envOutcome) {
	stale := old.Difference(desired)
	if stale.Len() == 0 {
		return inventory.Inventory{}, envOutcome{}
	}
	if !app.Spec.Prune {
		return stale, envOutcome{}
	}
	if err := apply.PruneAllowed(old.Len(), stale.Len(), app.Spec.AllowMassPrune); err != nil {
		pruneHolds.WithLabelValues(app.Namespace, app.Name, env.Name).Inc()
		msg := fmt.Sprintf("%s; set spec.allowMassPrune to let it happen", err.Error())
		st.Message, st.Sync = msg, landfallv1.SyncOutOfSync
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, landfallv1.ReasonPruneHeld, "Prune", "environment %s: %s", env.Name, msg)
		return stale, envOutcome{err: errors.New(msg), reason: landfallv1.ReasonPruneHeld, message: msg, stalled: true}
	}
	pruned, keep, err := mgr.Prune(ctx, refsOf(stale))
	changes.Append(pruned)
	recordChanges(app, env.Name, pruned)
	kept := inventoryOf(keep, stale)
	if err != nil {
		st.Sync, st.Message = landfallv1.SyncOutOfSync, "prune: "+err.Error()
		return kept, failed(landfallv1.ReasonApplyFailed, fmt.Errorf("prune: %w", err), false)
	}
	return kept, envOutcome{}
}

func gvksOf(objs []*unstructured.Unstructured) []schema.GroupVersionKind {
	seen := map[schema.GroupVersionKind]bool{}
	var out []schema.GroupVersionKind
	for _, o := range objs {
		if gvk := o.GroupVersionKind(); !seen[gvk] {
			seen[gvk] = true
			out = append(out, gvk)
		}
	}
	return out
}
