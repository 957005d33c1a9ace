package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/render/decrypt"
)

// errDecryption: the decryption Secret is missing, unreadable or holds no age key.
var errDecryption = errors.New("decryption keys")

// decryptionOf is the decryption an environment renders with: its own, else the
// Application's; nil when neither names one.
func decryptionOf(app *landfallv1.Application, env *landfallv1.Environment) *landfallv1.Decryption {
	if env.Decryption != nil {
		return env.Decryption
	}
	return app.Spec.Decryption
}

// decryptionKeys reads the age keys of an environment's decryption Secret, in the
// Application's namespace and, when it deploys as a ServiceAccount, as that ServiceAccount:
// a team opens only the Secrets its own rights let it read. Nil keys mean no decryption
// is configured (an encrypted file then fails the render).
func (r *ApplicationReconciler) decryptionKeys(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment) (*decrypt.Keys, error) {
	d := decryptionOf(app, env)
	if d == nil {
		return nil, nil
	}
	reader, err := r.namespaceReader(ctx, app)
	if err != nil {
		return nil, err
	}
	sec := &corev1.Secret{}
	err = reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: d.SecretRef.Name}, sec)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: decryption Secret %s/%s not found", errDecryption, app.Namespace, d.SecretRef.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading decryption Secret %s/%s: %w", errDecryption, app.Namespace, d.SecretRef.Name, err)
	}
	keys, err := decrypt.ParseSecret(sec.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: decryption Secret %s/%s: %w", errDecryption, app.Namespace, d.SecretRef.Name, err)
	}
	return keys, nil
}

// decryptionFailed reports whether err is about opening SOPS files or their keys.
func decryptionFailed(err error) bool {
	return errors.Is(err, errDecryption) || render.IsDecryption(err)
}
