package controllers

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/apply"
	"github.com/landfall-dev/landfall/sync/inventory"
)

// retireEnvironments moves the status of environments no longer in the spec to
// status.removedEnvironments, so that their inventories outlive them until their objects
// are pruned, and brings one back when its name returns to the spec.
func retireEnvironments(app *landfallv1.Application) {
	inSpec := func(name string) bool {
		return slices.ContainsFunc(app.Spec.Environments, func(e landfallv1.Environment) bool { return e.Name == name })
	}
	hasStatus := func(name string) bool {
		return slices.ContainsFunc(app.Status.Environments, func(e landfallv1.EnvironmentStatus) bool { return e.Name == name })
	}
	var kept []landfallv1.EnvironmentStatus
	for _, e := range app.Status.Environments {
		switch {
		case inSpec(e.Name):
			kept = append(kept, e)
		case e.Inventory != nil:
			app.Status.RemovedEnvironments = append(app.Status.RemovedEnvironments, landfallv1.EnvironmentStatus{
				Name: e.Name, Cluster: e.Cluster, Revision: e.Revision, Inventory: e.Inventory, Sync: landfallv1.SyncOutOfSync,
				Message: "removed from the spec; its objects are pruned once every environment is applied"})
		default:
			forgetEnvironment(app.Namespace, app.Name, e.Name)
		}
	}
	app.Status.Environments = kept
	app.Status.RemovedEnvironments = slices.DeleteFunc(app.Status.RemovedEnvironments, func(e landfallv1.EnvironmentStatus) bool {
		if !inSpec(e.Name) {
			return false
		}
		if !hasStatus(e.Name) { // back in the spec: it owns its objects again
			app.Status.Environments = append(app.Status.Environments, landfallv1.EnvironmentStatus{Name: e.Name,
				Cluster: e.Cluster, Inventory: e.Inventory, Sync: landfallv1.SyncUnknown, Health: landfallv1.HealthUnknown})
		}
		return true
	})
	if len(app.Status.RemovedEnvironments) == 0 {
		app.Status.RemovedEnvironments = nil
	}
}

// previousOwners are the owners whose objects the environments of the spec may take over:
// those of removed environments, so a rename carries the objects over.
func previousOwners(app *landfallv1.Application) []string {
	var out []string
	for _, e := range app.Status.RemovedEnvironments {
		out = append(out, ownerOf(app, e.Name))
	}
	return out
}

// removedOutcome is how the prune of a removed environment ended.
type removedOutcome struct {
	env string
	envOutcome
}

// pruneRemoved prunes the objects of removed environments that no environment of the spec
// took over. It waits until every environment of the spec has been applied once: a
// renamed environment first takes its objects over, so nothing is deleted and made again.
// The mass-prune guard holds it like any other prune. It reports the first that is not done.
func (r *ApplicationReconciler) pruneRemoved(ctx context.Context, app *landfallv1.Application) (removedOutcome, bool) {
	if len(app.Status.RemovedEnvironments) == 0 {
		return removedOutcome{}, true
	}
	for _, e := range app.Spec.Environments {
		if st := environmentStatus(app, e.Name); st.LastSyncTime == nil {
			return removedOutcome{}, true
		}
	}
	var first *removedOutcome
	removed := app.Status.RemovedEnvironments[:0]
	for _, e := range app.Status.RemovedEnvironments {
		out := r.pruneRemovedEnvironment(ctx, app, &e)
		if out.err != nil || out.blocked {
			removed = append(removed, e)
			if first == nil {
				first = &removedOutcome{env: e.Name, envOutcome: out}
			}
			continue
		}
		forgetEnvironment(app.Namespace, app.Name, e.Name)
	}
	app.Status.RemovedEnvironments = removed
	if len(removed) == 0 {
		app.Status.RemovedEnvironments = nil
	}
	if first != nil {
		return *first, false
	}
	return removedOutcome{}, true
}

func (r *ApplicationReconciler) pruneRemovedEnvironment(ctx context.Context, app *landfallv1.Application, e *landfallv1.EnvironmentStatus) envOutcome {
	if !app.Spec.Prune {
		r.Recorder.Eventf(app, nil, corev1.EventTypeNormal, "EnvironmentRemoved", "Prune",
			"environment %s: removed from the spec; spec.prune is off, so its objects are left as they are", e.Name)
		return envOutcome{}
	}
	old, err := decodeInventory(e)
	if err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, true)
	}
	stale := old.Difference(takenOver(app, e.Cluster))
	if stale.Len() == 0 {
		return envOutcome{}
	}
	if err := apply.PruneAllowed(old.Len(), stale.Len(), app.Spec.AllowMassPrune); err != nil {
		pruneHolds.WithLabelValues(app.Namespace, app.Name, e.Name).Inc()
		msg := fmt.Sprintf("removed from the spec: %s; set spec.allowMassPrune to let it happen, or spec.prune: false to keep the objects", err.Error())
		if e.Message != msg {
			r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, landfallv1.ReasonPruneHeld, "Prune", "environment %s: %s", e.Name, msg)
		}
		e.Message = msg
		return envOutcome{blocked: true, stalled: true, reason: landfallv1.ReasonPruneHeld, message: msg}
	}
	dest, err := r.Clusters.get(ctx, app.Namespace, e.Cluster)
	if err != nil {
		return failed(landfallv1.ReasonClusterUnreachable, err, false)
	}
	mgr, err := r.applier(dest, app, e.Name)
	if err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, false)
	}
	pruned, keep, err := mgr.Prune(ctx, refsOf(stale))
	recordChanges(app, e.Name, pruned)
	if err != nil {
		e.Inventory = encodeInventory(inventoryOf(keep, stale))
		e.Message = "prune: " + err.Error()
		return failed(landfallv1.ReasonApplyFailed, fmt.Errorf("environment %s removed from the spec: prune: %w", e.Name, err), false)
	}
	r.Recorder.Eventf(app, nil, corev1.EventTypeNormal, "EnvironmentRemoved", "Prune",
		"environment %s: removed from the spec; pruned %s", e.Name, pruned.String())
	return envOutcome{}
}

// takenOver is the inventory of the environments of the spec on the same cluster: what a
// removed environment there must not prune.
func takenOver(app *landfallv1.Application, cluster *landfallv1.ClusterRef) inventory.Inventory {
	var all inventory.Inventory
	for _, st := range app.Status.Environments {
		if clusterName(st.Cluster) != clusterName(cluster) {
			continue
		}
		if inv, err := decodeInventory(&st); err == nil {
			all = all.Union(inv)
		}
	}
	return all
}

func clusterName(c *landfallv1.ClusterRef) string {
	if c == nil {
		return ""
	}
	return c.SecretRef.Name
}
