package controllers

import (
	"context"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	ctrl "sigs.k8s.io/controller-runtime"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// repositoryRefIndex indexes Applications by the Repository they deploy from.
const repositoryRefIndex = "spec.repositoryRef.name"

// valuesFromIndex indexes Applications by the ConfigMaps and Secrets their environments
// take values from ("Kind/name").
const valuesFromIndex = "spec.environments.valuesFrom"

// dependencyIndex indexes Applications by the Applications ("<namespace>/<name>") they
// depend on.
const dependencyIndex = "spec.dependsOn"

// SetupWithManager watches Applications (spec changes, sync requests and pins), their
// Repositories (new revisions), the Applications they depend on (a dependency's readiness
// changed: its dependents go on at once, with no polling) and the drift wake-ups of the
// managed objects.
func (r *ApplicationReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, concurrency int, wake <-chan event.GenericEvent) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &landfallv1.Application{}, repositoryRefIndex,
		func(o client.Object) []string { return []string{o.(*landfallv1.Application).Spec.RepositoryRef.Name} }); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &landfallv1.Application{}, valuesFromIndex,
		func(o client.Object) []string { return valuesFromRefs(o.(*landfallv1.Application)) }); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &landfallv1.Application{}, dependencyIndex,
		func(o client.Object) []string { return dependencyKeys(o.(*landfallv1.Application)) }); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&landfallv1.Application{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, requestAnnotationChanged(landfallv1.AnnotationSyncRequestedAt),
			pinsChanged()))).
		Watches(&landfallv1.Repository{}, handler.EnqueueRequestsFromMapFunc(r.applicationsOf),
			builder.WithPredicates(revisionChanged())).
		Watches(&landfallv1.Application{}, handler.EnqueueRequestsFromMapFunc(r.dependentsOf),
			builder.WithPredicates(readinessChanged())).
		WatchesRawSource(source.Channel(wake, &handler.EnqueueRequestForObject{})).
		// valuesFrom: the metadata of ConfigMaps and Secrets, never their data, tells which
		// changed; the values are read at the render, as the Application may.
		WatchesMetadata(valuesObject("ConfigMap"), handler.EnqueueRequestsFromMapFunc(r.valuesChanged("ConfigMap"))).
		WatchesMetadata(valuesObject("Secret"), handler.EnqueueRequestsFromMapFunc(r.valuesChanged("Secret"))).
		Watches(&landfallv1.TenantPolicy{}, handler.EnqueueRequestsFromMapFunc(selectedBy(r.Client,
			func() *landfallv1.ApplicationList { return &landfallv1.ApplicationList{} },
			func(l *landfallv1.ApplicationList) []client.Object { return objectsOf(l.Items) }))).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Named("application")
	return completeSharded(b, mgr, r.Shards, shardKind[*landfallv1.Application]{
		kind:   "Application",
		newObj: func() *landfallv1.Application { return &landfallv1.Application{} },
		list: listOf(func() *landfallv1.ApplicationList { return &landfallv1.ApplicationList{} },
			func(l *landfallv1.ApplicationList) []*landfallv1.Application { return pointers(l.Items) }),
		keyOf:  func(a *landfallv1.Application) string { return shardKeyOf(a) },
		forget: r.forget,
	}, r)
}

// forget drops what this replica keeps of an Application it no longer reconciles: deleted,
// or owned by another replica now.
func (r *ApplicationReconciler) forget(key types.NamespacedName) {
	forgetObject("Application", key.Namespace, key.Name)
	forgetApplication(key.Namespace, key.Name)
	r.Rendered.forget(key.Namespace, key.Name)
}

// applicationsOf maps a Repository to the Applications that deploy from it.
func (r *ApplicationReconciler) applicationsOf(ctx context.Context, o client.Object) []reconcile.Request {
	apps := &landfallv1.ApplicationList{}
	if err := r.List(ctx, apps, client.InNamespace(o.GetNamespace()), client.MatchingFields{repositoryRefIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Cannot list Applications of a Repository", "repository", o.GetName())
		return nil
	}
	return requestsOf(apps)
}

// requestsOf asks for a reconcile of each Application of the list.
func requestsOf(apps *landfallv1.ApplicationList) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(apps.Items))
	for _, a := range apps.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&a)})
	}
	return reqs
}

// pinsChanged passes Applications whose pins (pin.landfall.dev/<environment>) or
// approvals (approve.landfall.dev/<environment>) changed: a manual rollback, resume or
// promotion takes effect at once, not at the next resync. The pin is an
// annotation rather than a spec field so that it survives an Application whose spec is
// itself applied from Git: no one's apply owns it but the person who pinned.
func pinsChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !maps.Equal(pinsOf(e.ObjectOld), pinsOf(e.ObjectNew))
		},
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return true },
	}
}

// pinsOf returns an object's pin and approval annotations.
func pinsOf(o client.Object) map[string]string {
	out := map[string]string{}
	for k, v := range o.GetAnnotations() {
		if strings.HasPrefix(k, landfallv1.AnnotationPinPrefix) || strings.HasPrefix(k, landfallv1.AnnotationApprovePrefix) {
			out[k] = v
		}
	}
	return out
}

// revisionChanged passes Repositories whose revision changed (or that appear).
func revisionChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.(*landfallv1.Repository).Status.Revision != e.ObjectNew.(*landfallv1.Repository).Status.Revision
		},
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

func valuesObject(kind string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	return m
}

// valuesChanged maps a ConfigMap or Secret that was created, changed or deleted to the
// Applications taking values from it, and asks each environment that does to render again:
// the revision is the same, the values are not, so the pass applies what differs.
func (r *ApplicationReconciler) valuesChanged(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		apps := &landfallv1.ApplicationList{}
		if err := r.List(ctx, apps, client.InNamespace(o.GetNamespace()),
			client.MatchingFields{valuesFromIndex: kind + "/" + o.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Cannot list the Applications taking values from an object", "kind", kind, "name", o.GetName())
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(apps.Items))
		for i := range apps.Items {
			a := &apps.Items[i]
			for j := range a.Spec.Environments {
				if usesValuesFrom(&a.Spec.Environments[j], kind, o.GetName()) {
					r.Drift.markRerender(envKey{a.Namespace, a.Name, a.Spec.Environments[j].Name})
				}
			}
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(a)})
		}
		return reqs
	}
}

// dependentsOf maps an Application to the Applications that depend on it, in every
// namespace.
func (r *ApplicationReconciler) dependentsOf(ctx context.Context, o client.Object) []reconcile.Request {
	apps := &landfallv1.ApplicationList{}
	key := o.GetNamespace() + "/" + o.GetName()
	if err := r.List(ctx, apps, client.MatchingFields{dependencyIndex: key}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Cannot list the dependents of an Application", "application", key)
		return nil
	}
	return requestsOf(apps)
}

// readinessChanged passes Applications that appear, go, change their spec (a cycle made or
// broken) or change what their dependents read of them: each environment's revision,
// rollout phase and health. Other status writes (messages, inventories) wake no one.
func readinessChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
				readinessOf(e.ObjectOld.(*landfallv1.Application)) != readinessOf(e.ObjectNew.(*landfallv1.Application))
		},
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// readinessOf is what dependencyState reads of an Application, as one comparable string.
func readinessOf(app *landfallv1.Application) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", app.Status.ObservedGeneration)
	for _, st := range app.Status.Environments {
		phase, rev := landfallv1.RolloutPhase(""), ""
		if st.Rollout != nil {
			phase, rev = st.Rollout.Phase, st.Rollout.Revision
		}
		fmt.Fprintf(&b, "|%s %s %s %s %s %s", st.Name, st.Revision, st.DesiredRevision, st.Health, phase, rev)
	}
	return b.String()
}
