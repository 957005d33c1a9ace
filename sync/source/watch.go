package source

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A verified checkout is leased once per reconcile of every Application that renders it,
// and comparing the metadata of a whole checkout costs a stat per file: with 1,000
// Applications in one repository of 1,000 folders that was most of the controller's CPU
// (a million stats per sync). So the Client watches every verified checkout with inotify:
// a write, truncation, chmod, creation, removal or rename anywhere in it queues an event
// before the system call returns, and the next lease sees it and verifies again. Writes
// through a shared memory mapping raise no inotify event, so the metadata is still
// compared when a lease comes more than metadataRecheck after the last comparison.
// Without inotify (or past maxWatches) every lease compares the metadata, as before.

// metadataRecheck bounds how long a watched checkout is served without comparing its
// metadata. A variable for the tests.
var metadataRecheck = time.Second

// maxWatches bounds the inotify watches of one Client (one per directory of each
// verified checkout). They count against a per-user limit (fs.inotify.max_user_watches)
// that other containers running as the same user on the node share, so a Client takes a
// quarter of it, or half of a small one (8,192 on older kernels). A variable for the tests.
var maxWatches = watchBudget()

func watchBudget() int {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches")
	if err != nil {
		return 4096
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	switch {
	case err != nil || n <= 0:
		return 4096
	case n/4 >= 8192:
		return n / 4
	}
	return n / 2
}

const watchMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DONT_FOLLOW

// treeWatch is one inotify instance for all of a Client's checkouts, so a Client costs
// one of the per-user instances however many checkouts it caches.
type treeWatch struct {
	mu    sync.Mutex
	fd    int // -1: inotify is unavailable, nothing is watched
	owner map[int32]*cacheEntry
	buf   [4096]byte // drain's, under mu: most drains read nothing, bursts take a few reads
}

func newTreeWatch() *treeWatch {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		fd = -1
	}
	return &treeWatch{fd: fd, owner: map[int32]*cacheEntry{}}
}

// watch adds a watch on every directory of e and on its objects file, and reports
// whether all of them are in place: only then may e be served on the watch's word.
func (w *treeWatch) watch(e *cacheEntry) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 || len(w.owner) >= maxWatches {
		return false
	}
	w.drainLocked() // events from before this watch concern what the caller compares next
	e.dirty.Store(false)
	add := func(p string, flags uint32) error {
		if len(w.owner) >= maxWatches {
			return errTooManyWatches
		}
		wd, err := unix.InotifyAddWatch(w.fd, p, flags)
		if err != nil {
			return err
		}
		w.owner[int32(wd)] = e // the same directory watched again keeps its descriptor
		return nil
	}
	err := filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return add(p, watchMask|unix.IN_ONLYDIR)
	})
	return err == nil && add(e.dir+objectsSuffix, watchMask) == nil
}

var errTooManyWatches = errors.New("inotify watch budget spent")

// drain reads the events queued so far and marks the entries they concern dirty; an
// overflowed queue marks every entry. Watches the kernel removed (their directory was
// deleted or evicted) are forgotten.
func (w *treeWatch) drain() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drainLocked()
}

func (w *treeWatch) drainLocked() {
	if w.fd < 0 {
		return
	}
	for {
		n, err := unix.Read(w.fd, w.buf[:])
		if n <= 0 || err != nil {
			if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				w.markAll() // a broken instance vouches for nothing
			}
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&w.buf[off]))
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				w.markAll()
				continue
			}
			if e, ok := w.owner[ev.Wd]; ok {
				e.dirty.Store(true)
				if ev.Mask&unix.IN_IGNORED != 0 {
					delete(w.owner, ev.Wd)
				}
			}
		}
	}
}

func (w *treeWatch) markAll() {
	for _, e := range w.owner {
		e.dirty.Store(true)
	}
}

// quiet reports whether e may be served without comparing its metadata: it was compared
// within metadataRecheck, every directory of it is watched, and nothing happened since.
func (w *treeWatch) quiet(e *cacheEntry, now time.Time) bool {
	if !e.verified || !e.watched || now.Sub(e.compared) >= metadataRecheck {
		return false
	}
	w.drain()
	return !e.dirty.Load()
}
