package render

import (
	"container/list"
	"sync"

	"github.com/landfall-dev/landfall/render/confine"
)

// cache is an LRU of renders by input key and revision. For each input key it also knows the
// latest render, which a new revision reuses when nothing that render read has changed.
type cache struct {
	size int

	mu     sync.Mutex
	order  *list.List               // of *cacheItem, most recently used first
	items  map[string]*list.Element // by key@revision
	latest map[string]*list.Element // by key
}

type cacheItem struct {
	key, id string
	r       *rawRender
}

func newCache(size int) *cache {
	return &cache{size: size, order: list.New(), items: map[string]*list.Element{}, latest: map[string]*list.Element{}}
}

func cacheID(key, rev string) string { return key + "@" + rev }

// get returns the render for key at rev, or a previous render for key whose inputs fsys
// still holds. An unknown revision ("") is always checked against the checkout.
func (c *cache) get(key, rev string, fsys *confine.FS) (*rawRender, bool) {
	if c.size <= 0 {
		return nil, false
	}
	c.mu.Lock()
	if el, ok := c.items[cacheID(key, rev)]; ok && rev != "" {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*cacheItem).r, true
	}
	var r *rawRender
	if el, ok := c.latest[key]; ok {
		// Read under the lock: put replaces an item's render in place.
		r = el.Value.(*cacheItem).r
	}
	c.mu.Unlock()
	if r == nil {
		return nil, false
	}
	// Re-reading the inputs happens outside the lock: it is file I/O.
	if !r.deps.Unchanged(fsys) {
		return nil, false
	}
	c.put(key, rev, r)
	return r, true
}

func (c *cache) put(key, rev string, r *rawRender) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := cacheID(key, rev)
	if el, ok := c.items[id]; ok {
		el.Value.(*cacheItem).r = r
		c.order.MoveToFront(el)
		c.latest[key] = el
		return
	}
	el := c.order.PushFront(&cacheItem{key: key, id: id, r: r})
	c.items[id] = el
	c.latest[key] = el
	for c.order.Len() > c.size {
		old := c.order.Back()
		it := old.Value.(*cacheItem)
		c.order.Remove(old)
		delete(c.items, it.id)
		if c.latest[it.key] == old {
			delete(c.latest, it.key)
		}
	}
}
