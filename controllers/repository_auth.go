package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source"
)

// errSecret marks a missing or incomplete Secret: it may appear later, so it is not stalled.
var errSecret = errors.New("secret not usable")

// Keys of a Repository's credentials Secret.
const (
	secretUsername   = "username"
	secretPassword   = "password"
	secretToken      = "bearerToken"
	secretIdentity   = "identity"
	secretKnownHosts = "known_hosts"
	secretCA         = "caFile"
	secretPassphrase = "passphrase"
	webhookTokenKey  = "token"
)

// auth reads the credentials Secret named by spec.secretRef into plain values.
func (r *RepositoryReconciler) auth(ctx context.Context, repo *landfallv1.Repository) (source.Auth, error) {
	if repo.Spec.SecretRef == nil {
		return source.Auth{}, nil
	}
	s := &corev1.Secret{}
	key := client.ObjectKey{Namespace: repo.Namespace, Name: repo.Spec.SecretRef.Name}
	if err := r.Secrets.Get(ctx, key, s); err != nil {
		return source.Auth{}, fmt.Errorf("%w: reading Secret %s: %s", errSecret, key.Name, err.Error())
	}
	a := source.Auth{
		Username:      string(s.Data[secretUsername]),
		Password:      string(s.Data[secretPassword]),
		BearerToken:   string(s.Data[secretToken]),
		CAData:        s.Data[secretCA],
		SSHKey:        s.Data[secretIdentity],
		SSHPassphrase: string(s.Data[secretPassphrase]),
		KnownHosts:    s.Data[secretKnownHosts],
	}
	if a.Username == "" && a.BearerToken == "" && len(a.SSHKey) == 0 && len(a.CAData) == 0 {
		return source.Auth{}, fmt.Errorf("%w: Secret %s has none of the keys %s/%s, %s, %s, %s",
			errSecret, key.Name, secretUsername, secretPassword, secretToken, secretIdentity, secretCA)
	}
	return a, nil
}

// jitter returns d scaled by a random factor in [1-f/2, 1+f/2].
func jitter(d time.Duration, f float64) time.Duration {
	if f <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + f*(rand.Float64()-0.5)))
}
