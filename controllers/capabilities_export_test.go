package controllers

import (
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// Capabilities exposes, to the discovery tests, what a destination caches for Helm.
type Capabilities struct{ c *capabilities }

// NewCapabilitiesForTest caches the API of the cluster at cfg for ttl, on the clock now
// (nil: never cached, as every render read it before the cache).
func NewCapabilitiesForTest(cfg *rest.Config, ttl time.Duration, now func() time.Time) (*Capabilities, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := newCapabilities(dc)
	c.ttl, c.now = ttl, now
	return &Capabilities{c: c}, nil
}

// APIVersions is what a render passes to Helm.
func (c *Capabilities) APIVersions() []string { return c.c.apiVersions() }

// Invalidate is what a CRD write or a manual sync does.
func (c *Capabilities) Invalidate() { c.c.invalidate() }
