package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source"
)

// errRevisionRegressed: the ref moved to a commit that does not descend from the current
// revision, and the rewind policy does not allow it. The current revision stays.
type errRevisionRegressed struct{ from, to source.Revision }

func (e errRevisionRegressed) Error() string {
	return fmt.Sprintf("%s moved from %s to %s, which does not descend from it (a force-push or a moved tag); "+
		"the Repository keeps %s until spec.rewindPolicy allows the rewind", e.from.Ref, e.from.Commit, e.to.Commit, e.from.Commit)
}

// checkRewind decides on a new revision of the same ref: a descendant is an update; any
// other commit is a rewind, taken only when the policy allows it. It returns the revision
// rewound from ("" for an update) and, when the rewind is refused, errRevisionRegressed.
// Every rewind gets a Warning Event, allowed or not.
func (r *RepositoryReconciler) checkRewind(ctx context.Context, repo *landfallv1.Repository, ref source.Ref,
	auth source.Auth, next source.Revision) (string, error) {
	prev, err := source.ParseRevision(repo.Status.Revision)
	if err != nil || ref.Commit != "" || !ref.Selects(prev) || prev.Commit == next.Commit {
		return "", nil // first fetch, pinned commit or changed spec: nothing to compare
	}
	start := time.Now()
	ok, err := r.Source.Descends(ctx, repo.Spec.URL, ref, auth, prev.Commit, next.Commit)
	fetchDuration.WithLabelValues("ancestry").Observe(time.Since(start).Seconds())
	if err != nil {
		return "", fmt.Errorf("checking that %s descends from %s: %w", next.Commit, prev.Commit, err)
	}
	if ok {
		return "", nil
	}
	regressed := errRevisionRegressed{from: prev, to: next}
	if !rewindAllowed(repo.Spec.RewindPolicy, ref) {
		return "", regressed
	}
	msg := fmt.Sprintf("%s moved from %s to %s, which does not descend from it; taken as spec.rewindPolicy %s allows",
		prev.Ref, prev.Commit, next.Commit, repo.Spec.RewindPolicy)
	r.Recorder.Eventf(repo, nil, corev1.EventTypeWarning, landfallv1.ReasonRevisionRegressed, "Fetch", "%s", msg)
	ctrl.LoggerFrom(ctx).Info("Rewind taken", "from", prev.String(), "to", next.String())
	return prev.String(), nil
}

func rewindAllowed(policy landfallv1.RewindPolicy, ref source.Ref) bool {
	switch policy {
	case landfallv1.RewindAllow:
		return true
	case landfallv1.RewindAllowTags:
		return ref.Tag != "" || ref.SemVer != ""
	}
	return false
}

func isRegressed(err error) bool {
	var e errRevisionRegressed
	return errors.As(err, &e)
}
