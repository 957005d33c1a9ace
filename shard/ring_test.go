package shard

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// TestRingTellsOnlyOfChanges: subscribers list every object of a kind when told, so a
// renewal that changes nothing must not tell them; a new view, a settle period ending and
// the view going stale must. Work held on a key is cancelled once the key is lost.
func TestRingTellsOnlyOfChanges(t *testing.T) {
	now := time.Unix(1000, 0)
	r := New(Options{ID: "b", Settle: 6 * time.Second, RenewInterval: 2 * time.Second}, logr.Discard())
	r.now = func() time.Time { return now }
	told := r.Subscribe()
	told2 := func() bool {
		select {
		case <-told:
			return true
		default:
			return false
		}
	}
	r.validTo = now.Add(time.Hour)
	r.install([]string{"b"}, true)
	if !told2() {
		t.Fatal("the first view is a change")
	}
	r.install([]string{"b"}, true)
	if told2() {
		t.Fatal("a renewal with the same members told the subscribers")
	}
	now = now.Add(6 * time.Second)
	r.install([]string{"b"}, true) // a renewal after the settle period ended, before its timer
	if !told2() {
		t.Fatal("a settle period ending is a change, when a renewal sees it first")
	}
	r.install(nil, false) // the settle period's timer, late
	if told2() {
		t.Fatal("the end of one settle period told twice")
	}
	ctx, release, ok := r.Hold(context.Background(), "team-a/web")
	if !ok {
		t.Fatal("the only member owns every key once settled")
	}
	defer release()
	r.validTo = now // the renewals stopped
	r.install([]string{"b"}, true)
	if !told2() {
		t.Fatal("a view going stale is a change")
	}
	if ctx.Err() == nil {
		t.Fatal("work on a key not owned any more goes on")
	}
	if r.Owns("team-a/web") {
		t.Fatal("a stale view owns keys")
	}
}
