package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source"
)

// errRepositoryNotReady: the Repository is missing or has no revision yet. It is a wait,
// not a failure: the Repository's watch brings the Application back.
type errRepositoryNotReady struct{ msg string }

func (e errRepositoryNotReady) Error() string { return e.msg }

// checkout leases the files of the Repository's current revision. The Repository
// reconcile fetched (and authenticated) it, so the cache normally has it; otherwise (a
// restart, an eviction) it is fetched again with the Repository's credentials.
func (r *ApplicationReconciler) checkout(ctx context.Context, app *landfallv1.Application) (*source.Checkout, error) {
	repo := &landfallv1.Repository{}
	key := client.ObjectKey{Namespace: app.Namespace, Name: app.Spec.RepositoryRef.Name}
	if err := r.Get(ctx, key, repo); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errRepositoryNotReady{fmt.Sprintf("Repository %s not found", key.Name)}
		}
		return nil, err
	}
	if repo.Status.Revision == "" {
		return nil, errRepositoryNotReady{fmt.Sprintf("Repository %s has no revision yet", key.Name)}
	}
	rev, err := source.ParseRevision(repo.Status.Revision)
	if err != nil {
		return nil, err
	}
	co, ok, err := r.Source.Cached(repo.Spec.URL, rev)
	if err != nil || ok {
		return co, err
	}
	auth, err := (&RepositoryReconciler{Secrets: r.Secrets}).auth(ctx, repo)
	if err != nil {
		return nil, err
	}
	// The fetch follows the Repository's ref, so it may bring a newer commit than the
	// status names; the Repository catches up on its next poll.
	ref := source.Ref{Branch: repo.Spec.Ref.Branch, Tag: repo.Spec.Ref.Tag, SemVer: repo.Spec.Ref.SemVer, Commit: repo.Spec.Ref.Commit,
		Name: repo.Spec.Ref.Name}
	return r.Source.Checkout(ctx, repo.Spec.URL, ref, auth)
}
