package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// maxImpersonated bounds the clients kept for ServiceAccounts; past it the one used least
// recently is dropped and built again when next needed.
const maxImpersonated = 1024

// errServiceAccountNotFound: the ServiceAccount an Application deploys as does not exist.
// Landfall then does nothing for it: it never falls back to its own rights.
var errServiceAccountNotFound = errors.New("ServiceAccount not found")

// impersonated caches one client per destination and ServiceAccount. Every client shares
// its destination's REST mapper (discovery is not a tenant's secret, and one mapper per
// ServiceAccount would repeat discovery for each) and its TLS transport.
type impersonated struct {
	mu      sync.Mutex
	entries map[string]*impersonatedEntry
}

type impersonatedEntry struct {
	base     *destination
	dest     *destination
	lastUsed time.Time
}

// serviceAccountOf is the ServiceAccount an Application deploys as: its own, else the
// controller's default; "" deploys with the controller's rights.
func (d *destinations) serviceAccountOf(app *landfallv1.Application) string {
	if app.Spec.ServiceAccountName != "" {
		return app.Spec.ServiceAccountName
	}
	return d.defaultServiceAccount
}

// forApplication returns the destination of an environment as the Application may reach
// it: impersonating its ServiceAccount when it has one. A missing ServiceAccount is an
// error, never a reason to use the controller's own rights.
func (d *destinations) forApplication(ctx context.Context, app *landfallv1.Application, ref *landfallv1.ClusterRef) (*destination, error) {
	base, err := d.get(ctx, app.Namespace, ref)
	if err != nil {
		return nil, err
	}
	sa := d.serviceAccountOf(app)
	if sa == "" {
		return base, nil
	}
	// Impersonating a ServiceAccount that does not exist is not refused by the apiserver
	// (bindings may name it), so look first, to say plainly what is wrong.
	if err := d.lookupServiceAccount(ctx, base, app.Namespace, sa); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s/%s (cluster %s): create it, or name another in spec.serviceAccountName",
				errServiceAccountNotFound, app.Namespace, sa, base.key)
		}
		return nil, fmt.Errorf("reading ServiceAccount %s/%s: %w", app.Namespace, sa, err)
	}
	return d.as.get(base, app.Namespace, sa)
}

// lookupServiceAccount reads a ServiceAccount's existence. In the local cluster the
// answer comes from the informer on ServiceAccounts' metadata (d.accounts, the manager's
// cache): no request per sync, and a ServiceAccount created or deleted is seen as soon as
// the watch reports it. A remote cluster is asked each time: it has no informer.
func (d *destinations) lookupServiceAccount(ctx context.Context, base *destination, namespace, name string) error {
	key := client.ObjectKey{Namespace: namespace, Name: name}
	if base == d.local && d.accounts != nil {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
		return d.accounts.Get(ctx, key, m)
	}
	return base.client.Get(ctx, key, &corev1.ServiceAccount{})
}

// serviceAccountUser is the user name the apiserver gives a ServiceAccount.
func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

func (c *impersonated) get(base *destination, namespace, sa string) (*destination, error) {
	user := serviceAccountUser(namespace, sa)
	key := base.key + "|" + user
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.base == base {
		e.lastUsed = time.Now()
		return e.dest, nil
	}
	cfg := rest.CopyConfig(base.config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s as %s: %w", base.key, user, err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: base.client.Scheme(), Mapper: base.client.RESTMapper(), HTTPClient: hc})
	if err != nil {
		return nil, fmt.Errorf("cluster %s as %s: %w", base.key, user, err)
	}
	if c.entries == nil {
		c.entries = map[string]*impersonatedEntry{}
	}
	if len(c.entries) >= maxImpersonated {
		c.evictOldest()
	}
	dest := &destination{key: key, config: cfg, client: cl, version: base.version, user: user, caps: base.caps}
	c.entries[key] = &impersonatedEntry{base: base, dest: dest, lastUsed: time.Now()}
	return dest, nil
}

func (c *impersonated) evictOldest() {
	var oldest string
	var at time.Time
	for k, e := range c.entries {
		if oldest == "" || e.lastUsed.Before(at) {
			oldest, at = k, e.lastUsed
		}
	}
	delete(c.entries, oldest)
}

func (c *impersonated) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// serviceAccountWait is how soon an Application whose ServiceAccount is missing looks
// again: creating it is the fix, and nothing watches ServiceAccounts.
const serviceAccountWait = 30 * time.Second
