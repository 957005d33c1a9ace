package shard

import (
	"fmt"
	"testing"
	"time"
)

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("team-%d/repo-%04d", i%7, i)
	}
	return out
}

// TestOwnerBalancedAndStable: rendezvous hashing gives each of 3 members about a third of
// 3,000 keys, and a member leaving moves only its own keys.
func TestOwnerBalancedAndStable(t *testing.T) {
	all := []string{"landfall-0", "landfall-1", "landfall-2"}
	count := map[string]int{}
	for _, k := range keys(3000) {
		count[Owner(k, all)]++
	}
	for _, m := range all {
		if count[m] < 850 || count[m] > 1150 {
			t.Errorf("%s owns %d of 3000 keys, want about 1000: %v", m, count[m], count)
		}
	}
	for _, k := range keys(3000) {
		before, after := Owner(k, all), Owner(k, all[:2])
		if before != "landfall-2" && before != after {
			t.Fatalf("key %s moved from %s to %s though its owner stayed", k, before, after)
		}
	}
	if Owner("x", nil) != "" {
		t.Error("no members, no owner")
	}
}

// TestLedgerSettles walks one replica through joining, a member dying, a member joining
// and its own view going stale.
func TestLedgerSettles(t *testing.T) {
	settle := 6 * time.Second
	t0 := time.Unix(1000, 0)
	l := newLedger("b", settle)
	owned := func(now time.Time, members []string) (mine, others int) {
		for _, k := range keys(600) {
			if l.owns(k, now) {
				mine++
				if Owner(k, members) != "b" {
					t.Fatalf("owns %s, which %s ranks first", k, Owner(k, members))
				}
			} else if Owner(k, members) == "b" {
				others++
			}
		}
		return mine, others
	}
	ab := []string{"a", "b"}
	if !l.install(t0, ab) {
		t.Fatal("the first view is a change")
	}
	if mine, _ := owned(t0.Add(settle-time.Millisecond), ab); mine != 0 {
		t.Fatalf("a replica that just joined owns %d keys within its settle period", mine)
	}
	t1 := t0.Add(settle)
	if mine, waiting := owned(t1, ab); mine == 0 || waiting != 0 {
		t.Fatalf("after settling: %d owned, %d still waiting", mine, waiting)
	}
	if l.install(t1, []string{"b", "a"}) {
		t.Fatal("the same members in another order are no change")
	}

	// c joins: b loses c's keys at once and gains none.
	abc := []string{"a", "b", "c"}
	l.install(t1, abc)
	mineABC, _ := owned(t1, abc)
	// a leaves (expired): its keys come to b at once, as a has stopped; c's stay with c.
	t2 := t1.Add(time.Second)
	bc := []string{"b", "c"}
	l.install(t2, bc)
	if mine, waiting := owned(t2, bc); mine <= mineABC || waiting != 0 {
		t.Fatalf("keys of an expired member are taken at once: owned %d (was %d), %d waiting", mine, mineABC, waiting)
	}
	// c leaves too, within the settle period of its join: keys c held from b's point of
	// view came from b or from a, who has gone, so b takes them all.
	l.install(t2, []string{"b"})
	if mine, waiting := owned(t2, []string{"b"}); mine != 600 || waiting != 0 {
		t.Fatalf("alone: %d owned, %d waiting", mine, waiting)
	}

	// a comes back: its keys leave b at once; b gains nothing from it.
	t3 := t2.Add(time.Minute)
	l.install(t3, ab)
	if mine, _ := owned(t3, ab); mine == 600 || mine == 0 {
		t.Fatalf("a is back: b owns %d", mine)
	}

	// b's own view goes stale (no list, no renewal): it owns nothing, and once it is fresh
	// again, whoever acted meanwhile may still be finishing, so it settles again.
	t4 := t3.Add(time.Minute)
	l.install(t4, nil)
	if mine, _ := owned(t4, nil); mine != 0 {
		t.Fatalf("a stale view owns %d", mine)
	}
	l.install(t4.Add(time.Second), ab)
	if mine, _ := owned(t4.Add(time.Second+settle-time.Millisecond), ab); mine != 0 {
		t.Fatalf("fresh again, within the settle period: %d owned", mine)
	}
	if mine, waiting := owned(t4.Add(time.Second+settle), ab); mine == 0 || waiting != 0 {
		t.Fatalf("settled again: %d owned, %d waiting", mine, waiting)
	}
}

// TestLedgerGainFromLiveMember: a key that a live member held before the change waits
// for the settle period; pending says when.
func TestLedgerGainFromLiveMember(t *testing.T) {
	settle := 6 * time.Second
	t0 := time.Unix(1000, 0)
	l := newLedger("b", settle)
	abc := []string{"a", "b", "c"}
	l.install(t0, abc)
	t1 := t0.Add(time.Hour)
	l.install(t1, abc)
	// A view in which c is gone because its Lease was deleted is the fast path; one in
	// which the ranking differs for a live member is not: b's view has a, c leaves and
	// comes back, and a's keys never move to b.
	var fromC string
	for _, k := range keys(600) {
		if Owner(k, abc) == "c" && Owner(k, []string{"a", "b"}) == "b" {
			fromC = k
			break
		}
	}
	l.install(t1, []string{"a", "b"})
	if !l.owns(fromC, t1) {
		t.Fatalf("%s, held by c that left, is owned at once", fromC)
	}
	if got := l.pending(t1); !got.Equal(t1.Add(settle)) {
		t.Fatalf("pending = %s, want %s", got, t1.Add(settle))
	}
	// c back, then gone again because b's view was dropped and rebuilt without it: the
	// rebuilt view starts from nothing, so nothing is owned until it settles.
	l.install(t1.Add(time.Second), abc)
	l.install(t1.Add(2*time.Second), nil)
	l.install(t1.Add(3*time.Second), []string{"a", "b"})
	if l.owns(fromC, t1.Add(3*time.Second)) {
		t.Fatalf("%s owned right after a dropped view", fromC)
	}
	if !l.owns(fromC, t1.Add(3*time.Second+settle)) {
		t.Fatalf("%s not owned once settled", fromC)
	}
}
