package certs

import (
	"container/list"
	"crypto/tls"
	"time"
)

// leafCache is a size-bounded LRU of issued leaves. It is not synchronized:
// Issuer guards it with its mutex.
type leafCache struct {
	max   int
	order *list.List // of *cacheEntry, most recently used at the front
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key     string
	cert    *tls.Certificate
	renewAt time.Time // after this, the entry is stale and the leaf is issued again
}

func newLeafCache(max int) *leafCache {
	return &leafCache{max: max, order: list.New(), byKey: make(map[string]*list.Element, max)}
}

// get returns the entry for key and marks it most recently used.
func (c *leafCache) get(key string) (*cacheEntry, bool) {
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry), true
}

// put inserts or replaces the entry for e.key, then evicts the least
// recently used entries until the size bound holds.
func (c *leafCache) put(e *cacheEntry) {
	if el, ok := c.byKey[e.key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
	} else {
		c.byKey[e.key] = c.order.PushFront(e)
	}
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.byKey, oldest.Value.(*cacheEntry).key)
	}
}

func (c *leafCache) len() int { return c.order.Len() }
