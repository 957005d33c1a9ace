package controllers

import (
	"context"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// markRewinds marks the history entries of a revision the Repository took as a rewind (it
// does not descend from the revision before it), in every environment it reached. Marks
// stay when the Repository moves on: they are the record.
func (r *ApplicationReconciler) markRewinds(ctx context.Context, app *landfallv1.Application, revision string) {
	repo := &landfallv1.Repository{}
	if err := r.Get(ctx, objectKey(app.Namespace, app.Spec.RepositoryRef.Name), repo); err != nil ||
		repo.Status.Revision != revision || repo.Status.RewoundFrom == "" {
		return
	}
	for i := range app.Status.History {
		if h := &app.Status.History[i]; h.Revision == revision && h.RewoundFrom == "" {
			h.RewoundFrom = repo.Status.RewoundFrom
		}
	}
}
