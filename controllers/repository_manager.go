package controllers

import (
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// SetupWithManager watches Repositories (spec changes and reconcile requests only, not their
// own status writes) and the refresh requests of the webhook receiver.
func (r *RepositoryReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int, refresh <-chan event.GenericEvent) error {
	b := ctrl.NewControllerManagedBy(mgr).
		For(&landfallv1.Repository{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, requestAnnotationChanged(landfallv1.AnnotationReconcileRequestedAt)))).
		WatchesRawSource(source.Channel(refresh, &handler.EnqueueRequestForObject{})).
		Watches(&landfallv1.TenantPolicy{}, handler.EnqueueRequestsFromMapFunc(selectedBy(r.Client,
			func() *landfallv1.RepositoryList { return &landfallv1.RepositoryList{} },
			func(l *landfallv1.RepositoryList) []client.Object { return objectsOf(l.Items) }))).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Named("repository")
	return completeSharded(b, mgr, r.Shards, repositoryShards, r)
}

// repositoryShards: a Repository is placed by its own name; its Previews go with it.
var repositoryShards = shardKind[*landfallv1.Repository]{
	kind:   "Repository",
	newObj: func() *landfallv1.Repository { return &landfallv1.Repository{} },
	list: listOf(func() *landfallv1.RepositoryList { return &landfallv1.RepositoryList{} },
		func(l *landfallv1.RepositoryList) []*landfallv1.Repository { return pointers(l.Items) }),
	keyOf:  func(r *landfallv1.Repository) string { return shardKeyOf(r) },
	forget: forgetRepository,
}

func forgetRepository(key types.NamespacedName) { forgetObject("Repository", key.Namespace, key.Name) }

// requestAnnotationChanged passes updates that change the given annotation, so a user (or
// `landfall sync`) can ask for immediate work by setting it to a new value.
func requestAnnotationChanged(key string) predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetAnnotations()[key] != e.ObjectNew.GetAnnotations()[key]
		},
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return true },
	}
}
