package dashboard

import "testing"

// TestHubResyncsASubscriberThatFellBehind: a subscriber whose buffer overflowed has lost
// changes it can never get back; it must be told to reload everything, or its page would
// show a state that no later change corrects (a pin set while the browser lagged stayed
// "running" on screen).
func TestHubResyncsASubscriberThatFellBehind(t *testing.T) {
	h := newHub()
	s := h.subscribe(change{})
	defer h.unsubscribe(s)
	for i := range subscriberBuffer + 10 {
		h.publish(change{Resource: "applications", Namespace: "team", Name: string(rune('a' + i%26))})
	}
	c, resync := next(s)
	if c.Resource != "applications" || !resync {
		t.Fatalf("the first change after an overflow: %+v, resync %v; want a resync", c, resync)
	}
	for range subscriberBuffer - 1 {
		if _, resync := next(s); resync {
			t.Fatal("resync asked twice for one overflow")
		}
	}
	h.publish(change{Resource: "applications", Namespace: "team", Name: "z"})
	if c, resync := next(s); c.Name != "z" || resync {
		t.Fatalf("a change after catching up: %+v, resync %v", c, resync)
	}
}

// next is what the event stream does with each change it receives.
func next(s *subscriber) (change, bool) {
	c := <-s.ch
	return c, s.resync()
}
