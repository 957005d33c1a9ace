package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source"
)

// verifySignature refuses a commit that spec.verify's keys did not sign. The keys are read
// afresh each time, so a rotation in the Secret applies to the next revision.
func (r *RepositoryReconciler) verifySignature(ctx context.Context, repo *landfallv1.Repository, co *source.Checkout) error {
	if repo.Spec.Verify == nil {
		return nil
	}
	s := &corev1.Secret{}
	key := client.ObjectKey{Namespace: repo.Namespace, Name: repo.Spec.Verify.SecretRef.Name}
	if err := r.Secrets.Get(ctx, key, s); err != nil {
		return fmt.Errorf("%w: reading the trusted keys Secret %s: %s", errSecret, key.Name, err.Error())
	}
	keys, err := source.ParseTrustedKeys(s.Data)
	if err != nil {
		return fmt.Errorf("%w: trusted keys Secret %s: %w", source.ErrUnverified, key.Name, err)
	}
	signer, err := co.VerifySignature(keys)
	if err != nil {
		if repo.Status.Revision != "" {
			return fmt.Errorf("%w; the Repository keeps %s", err, repo.Status.Revision)
		}
		return err
	}
	ctrl.LoggerFrom(ctx).Info("Commit signature verified", "commit", co.Revision.Commit, "signer", signer)
	return nil
}

// mustReverify says whether the current revision is checked again although unchanged: the
// spec changed (verification may just have been required).
func mustReverify(repo *landfallv1.Repository) bool {
	return repo.Spec.Verify != nil && repo.Generation != repo.Status.ObservedGeneration
}
