package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func ev(kind Kind, rev string) Event {
	return Event{Kind: kind, Object: Object{Kind: "Application", Namespace: "team", Name: "web"}, Environment: "staging",
		Revision: rev, Message: "m " + rev, Time: time.Now()}
}

func TestQueueDropsOldest(t *testing.T) {
	q := newQueue(3)
	for i := range 5 {
		if dropped := q.push(ev(Synced, fmt.Sprint(i))); dropped != (i >= 3) {
			t.Fatalf("push %d: dropped=%v", i, dropped)
		}
	}
	h, _ := q.head()
	if q.len() != 3 || h.ev.Revision != "2" {
		t.Fatalf("len %d head %q, want 3 and the third event", q.len(), h.ev.Revision)
	}
	q.done(h.seq + 1) // not the head: kept
	if q.len() != 3 {
		t.Fatal("done removed an event that is not the head")
	}
	q.done(h.seq)
	if h2, _ := q.head(); h2.ev.Revision != "3" {
		t.Fatalf("head after done: %q", h2.ev.Revision)
	}
}

func TestSeenForgetsOldest(t *testing.T) {
	s := newSeen(2)
	if !s.add("a") || !s.add("b") || s.add("a") {
		t.Fatal("a and b are new once")
	}
	s.add("c") // forgets a
	if !s.add("a") {
		t.Fatal("a should be forgotten after two newer keys")
	}
}

func TestEventKeys(t *testing.T) {
	a, b := ev(Synced, "r1"), ev(Synced, "r1")
	b.Message, b.Time = "other words", b.Time.Add(time.Hour)
	if a.key() != b.key() {
		t.Fatal("the same event for the same revision must have one key")
	}
	for name, other := range map[string]Event{
		"revision":    ev(Synced, "r2"),
		"kind":        ev(Promoted, "r1"),
		"environment": func() Event { e := ev(Synced, "r1"); e.Environment = "production"; return e }(),
	} {
		if other.key() == a.key() {
			t.Errorf("another %s must be another event", name)
		}
	}
	d1, d2 := ev(DriftCorrected, "r1"), ev(DriftCorrected, "r1")
	d2.Time = d1.Time.Add(time.Second)
	if d1.key() == d2.key() {
		t.Error("two drift corrections of one revision are two events")
	}
}

// recorder is a Sender that fails while down and records what it took.
type recorder struct {
	mu   sync.Mutex
	down bool
	got  []string
	err  error
}

func (r *recorder) Send(_ context.Context, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return errors.New("connection refused")
	}
	if r.err != nil {
		return r.err
	}
	r.got = append(r.got, e.Revision)
	return nil
}

func (r *recorder) set(down bool) { r.mu.Lock(); r.down = down; r.mu.Unlock() }
func (r *recorder) taken() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

var fast = Options{QueueLimit: 5, Rate: 1000, Burst: 100, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, DeadAfter: 3}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTargetDownThenBack: while the target is down, events queue up to the bound (the
// oldest dropped and counted), the target turns Dead; once it is back, the queued events
// arrive in order and it is Healthy again.
func TestTargetDownThenBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &recorder{down: true}
	tg := newTarget("t", r, fast, metricsFor("ns", "n", "t-down"))
	go tg.run(ctx)
	for i := range 8 {
		tg.Offer(ev(Synced, fmt.Sprint(i)))
	}
	waitFor(t, "Dead", func() bool { return tg.Stats().State == Dead })
	if st := tg.Stats(); st.Dropped != 3 || st.Queued != 5 || st.LastError != "connection refused" {
		t.Fatalf("stats while down: %+v", st)
	}
	r.set(false)
	waitFor(t, "delivery", func() bool { return tg.Stats().Delivered == 5 })
	if got := fmt.Sprint(r.taken()); got != "[3 4 5 6 7]" {
		t.Fatalf("delivered %s, want the newest five in order", got)
	}
	if st := tg.Stats(); st.State != Healthy || st.Queued != 0 {
		t.Fatalf("stats after: %+v", st)
	}
}

func TestTargetDeduplicates(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &recorder{}
	tg := newTarget("t", r, fast, metricsFor("ns", "n", "t-dedup"))
	go tg.run(ctx)
	tg.Offer(ev(Synced, "a"))
	tg.Offer(ev(Synced, "a"))
	tg.Offer(ev(Promoted, "a"))
	waitFor(t, "delivery", func() bool { return tg.Stats().Delivered == 2 })
	tg.Offer(ev(Synced, "a")) // after delivery too
	tg.Offer(ev(Synced, "b"))
	waitFor(t, "delivery", func() bool { return tg.Stats().Delivered == 3 })
	if st := tg.Stats(); st.Duplicates != 2 {
		t.Fatalf("duplicates %d, want 2", st.Duplicates)
	}
}

// TestTargetPermanentRefusal: an event the target refuses for good is dropped, counted,
// and does not hold the next one.
func TestTargetPermanentRefusal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &recorder{err: &PermanentError{errors.New("400 Bad Request")}}
	tg := newTarget("t", r, fast, metricsFor("ns", "n", "t-perm"))
	go tg.run(ctx)
	tg.Offer(ev(Synced, "a"))
	waitFor(t, "refusal", func() bool { return tg.Stats().Failed == 1 })
	r.mu.Lock()
	r.err = nil
	r.mu.Unlock()
	tg.Offer(ev(Synced, "b"))
	waitFor(t, "delivery", func() bool { return tg.Stats().Delivered == 1 })
	if got := fmt.Sprint(r.taken()); got != "[b]" {
		t.Fatalf("delivered %s", got)
	}
}

func TestBackoff(t *testing.T) {
	for failures, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 9: 10 * time.Second} {
		if got := backoff(failures, time.Second, 10*time.Second); got != want {
			t.Errorf("backoff(%d) = %s, want %s", failures, got, want)
		}
	}
}

// TestDispatcherRoutes: only matching routes get an event; reconfiguring a target with the
// same fingerprint keeps its counters, another fingerprint starts afresh; Remove stops it.
func TestDispatcherRoutes(t *testing.T) {
	d := NewDispatcher()
	defer d.Stop()
	staging, all := &recorder{}, &recorder{}
	onlyStaging := func(e Event) bool { return e.Environment == "staging" }
	d.Configure("ns", "a", onlyStaging, []TargetConfig{{Name: "s", Fingerprint: "1", Sender: staging, Options: fast}})
	d.Configure("ns", "b", func(Event) bool { return true }, []TargetConfig{{Name: "x", Fingerprint: "1", Sender: all, Options: fast}})
	prod := ev(Synced, "p")
	prod.Environment = "production"
	d.Publish(ev(Synced, "s"))
	d.Publish(prod)
	waitFor(t, "deliveries", func() bool { return len(all.taken()) == 2 && len(staging.taken()) == 1 })
	d.Configure("ns", "a", onlyStaging, []TargetConfig{{Name: "s", Fingerprint: "1", Sender: staging, Options: fast}})
	if st := d.Stats("ns", "a"); len(st) != 1 || st[0].Delivered != 1 {
		t.Fatalf("same fingerprint: %+v", st)
	}
	d.Configure("ns", "a", onlyStaging, []TargetConfig{{Name: "s", Fingerprint: "2", Sender: staging, Options: fast}})
	if st := d.Stats("ns", "a"); len(st) != 1 || st[0].Delivered != 0 {
		t.Fatalf("new fingerprint: %+v", st)
	}
	d.Remove("ns", "a")
	if st := d.Stats("ns", "a"); st != nil {
		t.Fatalf("removed route still has stats: %+v", st)
	}
}
