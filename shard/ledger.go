// Package shard spreads keys over the replicas of one controller: each replica holds a
// Lease of its own, the members are the Leases that have not expired, and a key belongs to
// the member that rendezvous hashing ranks first for it. A replica acts on a key only once
// no other replica can still be acting on it (docs/design.md, "Sharding").
package shard

import (
	"hash/fnv"
	"slices"
	"time"
)

// Owner returns the member that rendezvous (highest random weight) hashing ranks first for
// key, or "" when there are no members. Every member with the same view picks the same
// owner, and a member joining or leaving moves only the keys it gains or held.
func Owner(key string, members []string) string {
	best, bestScore := "", uint64(0)
	for _, m := range members {
		if s := score(m, key); best == "" || s > bestScore || (s == bestScore && m < best) {
			best, bestScore = m, s
		}
	}
	return best
}

// score is the weight of member for key: FNV-1a of both, then SplitMix64's finalizer, so
// that keys differing in one character spread evenly.
func score(member, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(key))
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// change is one view replaced by the next: the members before and those that left the
// view (a Lease expired or deleted, its holder stopped before).
type change struct {
	at      time.Time
	before  []string
	removed map[string]bool
}

// ledger is one replica's view of the members and its recent changes. A key is owned when
// this replica ranks first in the current view and, for every change of the last settle
// period, it also ranked first before the change or the one that did has left: a member
// that another replica displaced may still be finishing a reconcile for up to that long.
type ledger struct {
	me      string
	settle  time.Duration
	members []string // sorted
	changes []change
}

// newLedger starts with no members: until the first view, and for a settle period after
// it, nothing is owned.
func newLedger(me string, settle time.Duration) *ledger {
	return &ledger{me: me, settle: settle}
}

// install replaces the view with members (any order) at now; it reports whether the view
// changed.
func (l *ledger) install(now time.Time, members []string) bool {
	next := slices.Clone(members)
	slices.Sort(next)
	next = slices.Compact(next)
	if slices.Equal(next, l.members) && l.changes != nil {
		l.prune(now)
		return false
	}
	removed := map[string]bool{}
	for _, m := range l.members {
		if !slices.Contains(next, m) {
			removed[m] = true
		}
	}
	l.changes = append(l.changes, change{at: now, before: l.members, removed: removed})
	l.members = next
	l.prune(now)
	return true
}

// prune forgets changes older than the settle period; one is always kept, so a ledger that
// has seen a view is never mistaken for a new one.
func (l *ledger) prune(now time.Time) {
	i := 0
	for i < len(l.changes)-1 && now.Sub(l.changes[i].at) >= l.settle {
		i++
	}
	l.changes = l.changes[i:]
}

// owns tells whether this replica may act on key at now.
func (l *ledger) owns(key string, now time.Time) bool {
	if Owner(key, l.members) != l.me {
		return false
	}
	for i, c := range l.changes {
		if now.Sub(c.at) >= l.settle {
			continue
		}
		if prev := Owner(key, c.before); prev != l.me && !l.leftSince(prev, i) {
			return false
		}
	}
	return true
}

// leftSince tells whether member left the view at change i or a later one: its Lease
// expired or was deleted, so it has stopped acting.
func (l *ledger) leftSince(member string, i int) bool {
	for _, c := range l.changes[i:] {
		if c.removed[member] {
			return true
		}
	}
	return false
}

// pending tells when the last change's settle period ends (zero when none is running):
// keys may be gained then without any new view.
func (l *ledger) pending(now time.Time) time.Time {
	if len(l.changes) == 0 {
		return time.Time{}
	}
	end := l.changes[len(l.changes)-1].at.Add(l.settle)
	if !end.After(now) {
		return time.Time{}
	}
	return end
}
