package source

import (
	"container/list"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// diskCache tracks the checkouts under root, one directory per commit at
// root/<repository key>/<commit>, with least-recently-used eviction by total bytes and
// entry count. A checkout in use (leased) is never evicted; it becomes evictable when its
// last lease is released.
type diskCache struct {
	root       string
	maxBytes   int64
	maxEntries int

	mu      sync.Mutex
	entries map[string]*cacheEntry
	lru     *list.List // front: most recently used
	total   int64
}

type cacheEntry struct {
	key    string
	dir    string
	size   int64
	leases int
	elem   *list.Element

	// verifyMu serialises verification; verified and digest say what it proved in this
	// process (see integrity.go).
	verifyMu sync.Mutex
	verified bool
	digest   [32]byte
	// compared is when the metadata was last compared; watched says every directory is
	// watched (see watch.go), dirty that an event came for one since.
	compared time.Time
	watched  bool
	dirty    atomic.Bool

	// commitOnce reads commit from the kept commit object at the first lease: an entry
	// holds one commit for its whole life, so every later lease reuses it.
	commitOnce sync.Once
	commit     CommitInfo
}

// commitInfo is the subject and author of the entry's commit.
func (e *cacheEntry) commitInfo() CommitInfo {
	e.commitOnce.Do(func() { e.commit = keptCommitInfo(e.dir + objectsSuffix) })
	return e.commit
}

// openCache prepares root: leftovers of interrupted fetches are removed and complete
// checkouts from an earlier run are indexed, oldest first, so they can be reused. They are
// indexed unverified: whatever happened to the disk meanwhile, the first lease proves each
// one against its commit before anyone reads it.
func openCache(root string, maxBytes int64, maxEntries int) (*diskCache, error) {
	c := &diskCache{root: root, maxBytes: maxBytes, maxEntries: maxEntries,
		entries: map[string]*cacheEntry{}, lru: list.New()}
	if err := os.RemoveAll(c.tmpDir()); err != nil {
		return nil, fmt.Errorf("cleaning %s: %w", c.tmpDir(), err)
	}
	if err := os.MkdirAll(c.tmpDir(), 0o700); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	found, err := filepath.Glob(filepath.Join(root, "*", "*"))
	if err != nil {
		return nil, err
	}
	type old struct {
		key  string
		mod  time.Time
		size int64
	}
	var olds []old
	for _, dir := range found {
		rel, _ := filepath.Rel(root, dir)
		if commit, ok := strings.CutSuffix(filepath.Base(dir), objectsSuffix); ok && fullSHA1.MatchString(commit) {
			if _, err := os.Lstat(filepath.Join(filepath.Dir(dir), commit)); errors.Is(err, fs.ErrNotExist) {
				_ = os.Remove(dir) // the objects of an evicted checkout
			}
			continue
		}
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || !fullSHA1.MatchString(filepath.Base(dir)) {
			continue
		}
		olds = append(olds, old{key: filepath.ToSlash(rel), mod: fi.ModTime(), size: dirSize(dir)})
	}
	sort.Slice(olds, func(i, j int) bool { return olds[i].mod.Before(olds[j].mod) })
	c.mu.Lock()
	for _, o := range olds {
		c.insertLocked(o.key, o.size)
	}
	victims := c.evictLocked()
	c.mu.Unlock()
	for _, dir := range victims {
		_ = os.RemoveAll(dir)
	}
	return c, nil
}

func (c *diskCache) tmpDir() string { return filepath.Join(c.root, "tmp") }

func (c *diskCache) dir(key string) string { return filepath.Join(c.root, filepath.FromSlash(key)) }

// acquire leases the entry for key if it is cached.
func (c *diskCache) acquire(key string) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e.leases++
	c.lru.MoveToFront(e.elem)
	return e, true
}

// add moves a checkout from tmp, and the Git objects that prove it (objects), into the
// cache, without a lease: callers acquire it, which verifies it. Eviction runs only on
// release, so it stays until someone acquires it or a later release finds the cache over
// its bounds.
func (c *diskCache) add(key, tmp, objects string, size int64) error {
	// The lock covers the rename, so two fetches that produced the same commit (a ref
	// moved during one of them) cannot both claim the directory.
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return nil // Same commit, same content: keep the one callers may be reading.
	}
	dst := c.dir(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("creating cache directory: %w", err)
	}
	// A leftover of a failed removal would make the rename fail.
	if err := errors.Join(os.RemoveAll(dst), os.RemoveAll(dst+objectsSuffix)); err != nil {
		return fmt.Errorf("clearing %s: %w", dst, err)
	}
	if err := os.Rename(objects, dst+objectsSuffix); err != nil {
		return fmt.Errorf("moving Git objects into the cache: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("moving checkout into the cache: %w", err)
	}
	c.insertLocked(key, size)
	return nil
}

func (c *diskCache) insertLocked(key string, size int64) {
	if old, ok := c.entries[key]; ok {
		c.lru.Remove(old.elem)
		c.total -= old.size
	}
	e := &cacheEntry{key: key, dir: c.dir(key), size: size}
	e.elem = c.lru.PushFront(e)
	c.entries[key] = e
	c.total += size
}

// release ends one lease and evicts what no longer fits.
func (c *diskCache) release(e *cacheEntry) {
	c.mu.Lock()
	e.leases--
	victims := c.evictLocked()
	c.mu.Unlock()
	for _, dir := range victims {
		_ = os.RemoveAll(dir) // Best effort: a leftover is found again on the next start.
	}
}

// evictLocked drops least-recently-used entries without leases until the cache fits, and
// returns their directories for removal outside the lock.
func (c *diskCache) evictLocked() []string {
	var victims []string
	for el := c.lru.Back(); el != nil && c.over(); {
		e := el.Value.(*cacheEntry)
		prev := el.Prev()
		if e.leases == 0 {
			victims = append(victims, c.dropLocked(e)...)
		}
		el = prev
	}
	return victims
}

// discard drops an entry that failed verification, leased or not, so it is never served
// again, and removes its files. Leaseholders lose the directory: what they read from it
// was not the commit either.
func (c *diskCache) discard(e *cacheEntry) {
	c.mu.Lock()
	var victims []string
	if c.entries[e.key] == e {
		victims = c.dropLocked(e)
	}
	c.mu.Unlock()
	for _, dir := range victims {
		_ = os.RemoveAll(dir)
	}
}

// dropLocked removes e from the index and returns the paths to remove outside the lock.
func (c *diskCache) dropLocked(e *cacheEntry) []string {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
	c.total -= e.size
	// Renaming under the lock frees the path at once, so a new fetch of the same commit
	// cannot race with the slow removal.
	trash, err := os.MkdirTemp(c.tmpDir(), "evicted-")
	if err == nil && os.Rename(e.dir, filepath.Join(trash, "x")) == nil {
		_ = os.Rename(e.dir+objectsSuffix, filepath.Join(trash, "x"+objectsSuffix))
		return []string{trash}
	}
	return []string{e.dir, e.dir + objectsSuffix}
}

func (c *diskCache) over() bool {
	return (c.maxBytes > 0 && c.total > c.maxBytes) || (c.maxEntries > 0 && c.lru.Len() > c.maxEntries)
}

// usage reports the cached bytes and entries.
func (c *diskCache) usage() (int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, c.lru.Len()
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
