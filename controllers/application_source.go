package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

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
	if isOCIOrChart(repo) {
		return r.chartCheckout(ctx, repo, rev)
	}
	co, ok, err := r.Source.Cached(repo.Spec.URL, rev)
	if errors.Is(err, source.ErrCheckoutMismatch) {
		// Discarded: fetched again below, and nothing of it was read.
		r.checkoutReplaced(ctx, app, err)
	} else if err != nil || ok {
		return co, err
	}
	auth, err := (&RepositoryReconciler{Secrets: r.Secrets}).auth(ctx, repo)
	if err != nil {
		return nil, err
	}
	ref := source.Ref{Branch: repo.Spec.Ref.Branch, Tag: repo.Spec.Ref.Tag, SemVer: repo.Spec.Ref.SemVer, Commit: repo.Spec.Ref.Commit,
		Name: repo.Spec.Ref.Name}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout(repo))
	defer cancel()
	co, err = r.Source.Checkout(ctx, repo.Spec.URL, ref, auth)
	if err == nil && co.Revision.Commit != rev.Commit {
		// The ref moved past the Repository's revision. Only the Repository decides what
		// is deployed (a rewind may be held there), so fetch its commit by hash.
		_ = co.Close()
		co, err = r.Source.Checkout(ctx, repo.Spec.URL, source.Ref{Commit: rev.Commit}, auth)
	}
	if err != nil {
		return nil, err
	}
	if co.Replaced != nil {
		r.checkoutReplaced(ctx, app, co.Replaced)
	}
	co.Revision = rev
	return co, nil
}

// checkoutReplaced reports a cached checkout that was not its commit's tree. It is never
// rendered: the cache discarded it and the commit is fetched again.
func (r *ApplicationReconciler) checkoutReplaced(ctx context.Context, app *landfallv1.Application, err error) {
	reportCheckoutReplaced(ctx, r.Recorder, "Application", app, err)
}

func reportCheckoutReplaced(ctx context.Context, rec recorder.EventRecorder, kind string, obj client.Object, err error) {
	checkoutVerifyFailures.WithLabelValues(kind).Inc()
	rec.Eventf(obj, nil, corev1.EventTypeWarning, landfallv1.EventCheckoutVerificationFailed, "Verify",
		"%s; the cached copy was discarded and is fetched again", err.Error())
	ctrl.LoggerFrom(ctx).Error(err, "Cached checkout failed verification")
}
