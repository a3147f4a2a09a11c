package session

import (
	"bytes"
	"hash/maphash"
	"sync"
)

// recordCacheSize bounds the cache of opened login records.
const recordCacheSize = 1024

// recordCache remembers opened login records by login ID and their exact
// sealed bytes, so that a request which read the same bytes from the store
// again (every bearer request reads its login's record: that read is what
// makes logout revoke JWTs at once, on every instance) does not derive the
// key, decrypt and decode them again. It never replaces the store read:
// a record deleted or rewritten in the store is seen on the next request.
// Cached records are never changed in place (callers copy before changing
// one, and hand out copies of its token set).
type recordCache struct {
	seed    maphash.Seed
	mu      sync.Mutex
	entries map[uint64]*recordEntry
	order   fifo[uint64] // the entries' keys, oldest evicted first
	// latest is the highest record version of each login among the
	// entries (see newer).
	latest map[string]uint64
}

type recordEntry struct {
	id  string
	b   []byte
	rec *record
}

func newRecordCache(size int) *recordCache {
	return &recordCache{seed: maphash.MakeSeed(), entries: make(map[uint64]*recordEntry, size), order: newFIFO[uint64](size),
		latest: make(map[string]uint64, size)}
}

func (c *recordCache) hash(id string, b []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	_, _ = h.WriteString(id)
	_, _ = h.Write(b)
	return h.Sum64()
}

func (c *recordCache) get(id string, b []byte) *record {
	h := c.hash(id, b)
	c.mu.Lock()
	e := c.entries[h]
	c.mu.Unlock()
	if e == nil || e.id != id || !bytes.Equal(e.b, b) {
		return nil
	}
	return e.rec
}

func (c *recordCache) put(id string, b []byte, rec *record) {
	e := &recordEntry{id: id, b: bytes.Clone(b), rec: rec}
	h := c.hash(id, b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[h]; !ok {
		oldest, evicted, kept := c.order.push(h)
		if !kept {
			return
		}
		if evicted {
			if old := c.entries[oldest]; old != nil && c.latest[old.id] == old.rec.Version {
				delete(c.latest, old.id)
			}
			delete(c.entries, oldest)
		}
	}
	c.entries[h] = e
	if rec.Version > c.latest[id] {
		c.latest[id] = rec.Version
	}
}

// newer reports whether this process has read or written a record of
// login id with a version above v (bounded by the cache: false once the
// entries are gone).
func (c *recordCache) newer(id string, v uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest[id] > v
}
