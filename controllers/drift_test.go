package controllers

import (
	"testing"

	"k8s.io/utils/ptr"
)

// TestUnhealedDriftIsComparedWhenHealing: a change taken by a pass that only reported it
// (self-heal off) makes the next pass that heals compare again, however many passes that
// only report come between; once healed, nothing is compared again.
func TestUnhealedDriftIsComparedWhenHealing(t *testing.T) {
	d := newDriftTracker()
	k := envKey{"team-a", "shop", "staging"}
	steps := []struct {
		name     string
		selfHeal bool
		want     bool
		unhealed *bool // what the pass then records, if it compared
	}{
		{"a fresh controller compares", false, true, ptr.To(true)},
		{"nothing changed since, self-heal still off", false, false, nil},
		{"self-heal turned on", true, true, ptr.To(false)},
		{"healed", true, false, nil},
	}
	for _, s := range steps {
		if got := d.takeDirty(k, s.selfHeal); got != s.want {
			t.Fatalf("%s: takeDirty = %v, want %v", s.name, got, s.want)
		}
		if s.unhealed != nil {
			d.markUnhealed(k, *s.unhealed)
		}
	}
	d.markUnhealed(k, true)
	d.forget(k.namespace, k.app)
	d.takeDirty(k, false)
	if d.takeDirty(k, true) {
		t.Fatal("a forgotten Application's unhealed drift is still remembered")
	}
}
