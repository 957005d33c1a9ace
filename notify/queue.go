package notify

// queue is a bounded FIFO of events: pushing onto a full queue drops the oldest. Each event
// gets a sequence number so that a worker which sent the head can tell whether it is
// still the head (it may have been dropped meanwhile).
type queue struct {
	items []queued
	limit int
	next  uint64
}

type queued struct {
	seq uint64
	ev  Event
}

func newQueue(limit int) *queue { return &queue{limit: max(limit, 1)} }

// push appends ev and reports whether the oldest event was dropped to make room.
func (q *queue) push(ev Event) (dropped bool) {
	if len(q.items) >= q.limit {
		q.items[0] = queued{} // let the dropped event's memory go
		q.items = q.items[1:]
		dropped = true
	}
	q.next++
	q.items = append(q.items, queued{seq: q.next, ev: ev})
	return dropped
}

// head returns the oldest event.
func (q *queue) head() (queued, bool) {
	if len(q.items) == 0 {
		return queued{}, false
	}
	return q.items[0], true
}

// done removes the head if it is still the event seq.
func (q *queue) done(seq uint64) {
	if len(q.items) > 0 && q.items[0].seq == seq {
		q.items[0] = queued{}
		q.items = q.items[1:]
	}
}

func (q *queue) len() int { return len(q.items) }

// seen remembers the keys of the last limit events taken, oldest forgotten first.
type seen struct {
	keys  map[string]struct{}
	order []string
	limit int
}

func newSeen(limit int) *seen { return &seen{keys: map[string]struct{}{}, limit: max(limit, 1)} }

// add records key and reports whether it was new.
func (s *seen) add(key string) bool {
	if _, ok := s.keys[key]; ok {
		return false
	}
	if len(s.order) >= s.limit {
		delete(s.keys, s.order[0])
		s.order = s.order[1:]
	}
	s.keys[key] = struct{}{}
	s.order = append(s.order, key)
	return true
}
