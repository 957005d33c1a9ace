package controllers

import "sync"

// envKey names one environment of one Application.
type envKey struct{ namespace, app, env string }

// driftTracker remembers environments whose live objects changed since their last sync.
// A fresh controller knows nothing, so every environment starts dirty: the first reconcile
// after a start compares live objects once.
type driftTracker struct {
	mu    sync.Mutex
	clean map[envKey]bool
}

func newDriftTracker() *driftTracker { return &driftTracker{clean: map[envKey]bool{}} }

// markDirty records a change of a live object of the environment.
func (d *driftTracker) markDirty(k envKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.clean, k)
}

// takeDirty reports whether the environment changed since the last call, and marks it clean.
func (d *driftTracker) takeDirty(k envKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	dirty := !d.clean[k]
	d.clean[k] = true
	return dirty
}

// forget drops an Application's environments.
func (d *driftTracker) forget(namespace, app string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.clean {
		if k.namespace == namespace && k.app == app {
			delete(d.clean, k)
		}
	}
}
