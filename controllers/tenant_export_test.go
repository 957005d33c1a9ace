package controllers

import (
	"context"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// Destinations exposes, to the impersonation benchmark, the client cache the Application
// controller uses.
type Destinations struct{ d *destinations }

// NewDestinationsForTest builds the destinations of the local cluster at cfg.
func NewDestinationsForTest(cfg *rest.Config, reader client.Reader, scheme client.Options) (*Destinations, error) {
	d, err := newDestinations(cfg, reader, scheme)
	return &Destinations{d: d}, err
}

// ForApplication returns the client an Application's environments use (impersonated when
// it has a ServiceAccount).
func (d *Destinations) ForApplication(ctx context.Context, app *landfallv1.Application) (client.Client, error) {
	dest, err := d.d.forApplication(ctx, app, nil)
	if err != nil {
		return nil, err
	}
	return dest.client, nil
}

// Cached is how many impersonated clients are kept.
func (d *Destinations) Cached() int { return d.d.as.len() }

// WithAccounts makes the ServiceAccount check read from r (an informer's cache) instead of
// asking the apiserver each time, as the controller does.
func (d *Destinations) WithAccounts(r client.Reader) { d.d.accounts = r }
