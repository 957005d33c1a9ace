package controllers

import (
	"sync"
	"time"

	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/sync/inventory"
)

// envKey names one environment of one Application.
type envKey struct{ namespace, app, env string }

// driftTracker remembers environments whose live objects changed since their last sync,
// drift found and reported but not healed, and what their live objects looked like after
// the last full comparison.
// A fresh controller knows nothing, so every environment starts dirty: the first reconcile
// after a start compares live objects once.
type driftTracker struct {
	mu    sync.Mutex
	clean map[envKey]bool
	// unhealed: the last full comparison found drift and, self-heal being off, left it.
	// The next pass with self-heal on compares again, though nothing changed since: the
	// change was taken by a pass that read self-heal off (turned on while it compared).
	unhealed map[envKey]bool
	live     map[envKey]liveSnapshot
	compared map[envKey]time.Time
	// rerender: the destination's API changed under the environment's render (it wrote a
	// CRD or APIService), so the next pass renders again and applies what differs.
	rerender map[envKey]bool
	// health is each object's last judged health, by the resourceVersion it was judged at.
	health map[envKey]map[inventory.ObjMetadata]judged
}

// judged is the health of one object at one resourceVersion, on one destination.
type judged struct {
	dest, resourceVersion string
	result                health.Result
}

func newDriftTracker() *driftTracker {
	return &driftTracker{clean: map[envKey]bool{}, unhealed: map[envKey]bool{}, live: map[envKey]liveSnapshot{}, compared: map[envKey]time.Time{}, rerender: map[envKey]bool{},
		health: map[envKey]map[inventory.ObjMetadata]judged{}}
}

// judgedHealth returns the health an object had at resourceVersion rv on dest, if judged.
func (d *driftTracker) judgedHealth(k envKey, id inventory.ObjMetadata, dest, rv string) (health.Result, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	j, ok := d.health[k][id]
	return j.result, ok && j.dest == dest && j.resourceVersion == rv
}

// judge records an object's health at a resourceVersion; objects no longer in ids are forgotten.
func (d *driftTracker) judge(k envKey, ids []inventory.ObjMetadata, id inventory.ObjMetadata, j judged) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.health[k]
	if m == nil {
		m = map[inventory.ObjMetadata]judged{}
		d.health[k] = m
	}
	m[id] = j
	if len(m) > len(ids) {
		keep := make(map[inventory.ObjMetadata]bool, len(ids))
		for _, i := range ids {
			keep[i] = true
		}
		for i := range m {
			if !keep[i] {
				delete(m, i)
			}
		}
	}
}

// markDirty records a change of a live object of the environment.
func (d *driftTracker) markDirty(k envKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.clean, k)
}

// takeDirty reports whether the environment changed since the last call, or, for a pass
// that heals, whether drift was left unhealed; and marks it clean.
func (d *driftTracker) takeDirty(k envKey, selfHeal bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	dirty := !d.clean[k] || (selfHeal && d.unhealed[k])
	d.clean[k] = true
	return dirty
}

// isUnhealed reports whether the last full comparison left drift in place.
func (d *driftTracker) isUnhealed(k envKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.unhealed[k]
}

// markUnhealed records whether the last full comparison left drift in place.
func (d *driftTracker) markUnhealed(k envKey, unhealed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if unhealed {
		d.unhealed[k] = true
	} else {
		delete(d.unhealed, k)
	}
}

// markRerender asks the environment's next pass to render again.
func (d *driftTracker) markRerender(k envKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rerender[k] = true
}

// takeRerender reports whether a render was asked for since the last call, and clears it.
func (d *driftTracker) takeRerender(k envKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.rerender[k]
	delete(d.rerender, k)
	return r
}

// compareDue reports whether the periodic comparison of the environment is due. A tenth
// of slack lets a resync that comes back a little early (jitter) still compare, so the
// bound stays one resync.
func (d *driftTracker) compareDue(k envKey, every time.Duration, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	last, ok := d.compared[k]
	return !ok || now.Sub(last) >= every-every/10
}

// remember keeps the live objects of an environment as the next comparison's baseline.
func (d *driftTracker) remember(k envKey, s liveSnapshot, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.live[k], d.compared[k] = s, now
}

func (d *driftTracker) snapshot(k envKey) (liveSnapshot, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.live[k]
	return s, ok
}

// forget drops an Application's environments.
func (d *driftTracker) forget(namespace, app string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.clean {
		if k.namespace == namespace && k.app == app {
			delete(d.clean, k)
			delete(d.rerender, k)
		}
	}
	for k := range d.unhealed {
		if k.namespace == namespace && k.app == app {
			delete(d.unhealed, k)
		}
	}
	for k := range d.live {
		if k.namespace == namespace && k.app == app {
			delete(d.live, k)
			delete(d.compared, k)
		}
	}
	for k := range d.health {
		if k.namespace == namespace && k.app == app {
			delete(d.health, k)
		}
	}
}
