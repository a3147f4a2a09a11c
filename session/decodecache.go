package session

import (
	"bytes"
	"hash/maphash"
	"sync"
	"time"
)

// decodeCacheSize bounds the decode cache of the Codec that [New]
// installs. An entry holds a copy of the stored bytes and their decoded
// values (about 3 KiB for a login with a 1 KiB access token), so the
// cache holds at most a few MiB.
const decodeCacheSize = 1024

// decodeCache remembers the decoded values of recently read sessions,
// keyed by their exact stored bytes (a hash to find the entry, then a full
// comparison of the bytes), so an unchanged session is not decoded field
// by field on every request. A changed session has other bytes and misses.
//
// Only sessions whose values are all immutable once decoded are cached:
// Gatehouse's own values (never changed in place; replaced by Put) and
// strings, bools, numbers and times. A session holding a byte slice or a
// gob-decoded application value (which the application may change in
// place) is decoded afresh every time. Every hit gets its own shallow copy
// of the values map, which scs then changes freely.
//
// Eviction is first in, first out over a fixed ring of slots.
type decodeCache struct {
	seed    maphash.Seed
	mu      sync.Mutex
	entries map[uint64]*decodeEntry
	byLogin map[*loginState]*decodeEntry // the entry each cached login came from
	order   fifo[uint64]                 // the entries' keys, oldest evicted first
	// encodes are the last sessions Encode produced, apart from the
	// entries (their bytes are never read back as such: LoadAndSave
	// stamps them), for requests that save the same values again.
	encodes    [encodeMemoSize]*decodeEntry
	encodesPos int
}

// encodeMemoSize is how many recent encodings the cache keeps: requests
// saving the same values (those waiting on one refresh) do so together.
const encodeMemoSize = 8

type decodeEntry struct {
	b        []byte // a private copy of the stored bytes; never changed
	deadline time.Time
	values   []keyValue  // never changed; handed out as fresh maps
	buf      [2]keyValue // values' storage when it fits (most sessions hold one or two)
}

// keyValue is one value of a cached session (a slice of them costs one
// allocation where a map costs two).
type keyValue struct {
	key string
	v   any
}

func newDecodeCache(size int) *decodeCache {
	return &decodeCache{seed: maphash.MakeSeed(), entries: make(map[uint64]*decodeEntry, size),
		byLogin: make(map[*loginState]*decodeEntry, size), order: newFIFO[uint64](size)}
}

// get returns a copy of the values decoded from b, if cached.
func (c *decodeCache) get(b []byte) (time.Time, map[string]any, bool) {
	h := maphash.Bytes(c.seed, b)
	c.mu.Lock()
	e := c.entries[h]
	c.mu.Unlock()
	if e == nil || !bytes.Equal(e.b, b) {
		return time.Time{}, nil, false
	}
	values := make(map[string]any, len(e.values))
	for _, kv := range e.values {
		values[kv.key] = kv.v
	}
	return e.deadline, values, true
}

// put remembers values decoded from b when they are all immutable (values
// itself is not kept: the caller may hand it out).
func (c *decodeCache) put(b []byte, deadline time.Time, values map[string]any) {
	for _, v := range values {
		if !immutableValue(v) {
			return
		}
	}
	e := &decodeEntry{b: bytes.Clone(b), deadline: deadline}
	e.values = e.buf[:0]
	if len(values) > len(e.buf) {
		e.values = make([]keyValue, 0, len(values))
	}
	for k, v := range values {
		e.values = append(e.values, keyValue{k, v})
	}
	h := maphash.Bytes(c.seed, b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[h]; !ok {
		oldest, evicted, kept := c.order.push(h)
		if !kept {
			return
		}
		if evicted {
			if old := c.entries[oldest]; old != nil {
				c.forget(old)
			}
			delete(c.entries, oldest)
		}
	}
	if old := c.entries[h]; old != nil {
		c.forget(old)
	}
	c.entries[h] = e
	if ls := e.login(); ls != nil {
		c.byLogin[ls] = e
	}
}

// login is the entry's login value, nil when none.
func (e *decodeEntry) login() *loginState {
	for _, kv := range e.values {
		if kv.key == keyLogin {
			ls, _ := kv.v.(*loginState)
			return ls
		}
	}
	return nil
}

// forget drops e's login from byLogin (e is being replaced). c.mu is held.
func (c *decodeCache) forget(e *decodeEntry) {
	if ls := e.login(); ls != nil && c.byLogin[ls] == e {
		delete(c.byLogin, ls)
	}
}

// encoded returns the stored bytes a session was decoded from (the
// cache's own copy: never to be modified) when values and deadline are
// still exactly what that decode gave (the same login value, the same
// other values): with an IdleTimeout, scs commits every request's session,
// changed or not, and this spares encoding an unchanged one again (and
// lets LoadAndSave see that it is unchanged). nil when values changed (or
// were never decoded through the cache).
func (c *decodeCache) encoded(deadline time.Time, values map[string]any) []byte {
	ls, ok := values[keyLogin].(*loginState)
	if !ok {
		return nil
	}
	c.mu.Lock()
	e := c.byLogin[ls]
	if e == nil || !e.matches(deadline, values) {
		e = nil
		for _, m := range c.encodes {
			if m != nil && m.login() == ls && m.matches(deadline, values) {
				e = m
				break
			}
		}
	}
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	return e.b
}

// putEncoded remembers b as the encoding of values (all immutable) with
// deadline, among the last encodeMemoSize.
func (c *decodeCache) putEncoded(b []byte, deadline time.Time, values map[string]any) {
	if _, ok := values[keyLogin].(*loginState); !ok {
		return
	}
	for _, v := range values {
		if !immutableValue(v) {
			return
		}
	}
	e := &decodeEntry{b: bytes.Clone(b), deadline: deadline}
	e.values = e.buf[:0]
	if len(values) > len(e.buf) {
		e.values = make([]keyValue, 0, len(values))
	}
	for k, v := range values {
		e.values = append(e.values, keyValue{k, v})
	}
	c.mu.Lock()
	c.encodes[c.encodesPos] = e
	c.encodesPos = (c.encodesPos + 1) % encodeMemoSize
	c.mu.Unlock()
}

// matches reports whether values and deadline are exactly what e holds
// (only immutable, comparable values are compared).
func (e *decodeEntry) matches(deadline time.Time, values map[string]any) bool {
	if !e.deadline.Equal(deadline) || len(values) != len(e.values) {
		return false
	}
	for _, kv := range e.values {
		v, ok := values[kv.key]
		// Only immutable (comparable) kinds are compared: == on a
		// byte slice would panic.
		if !ok || !immutableValue(v) || v != kv.v {
			return false
		}
	}
	return true
}

// immutableValue reports whether a decoded value can be shared between
// requests: nothing reachable from it is ever changed in place.
func immutableValue(v any) bool {
	switch v.(type) {
	case *loginState, *attemptList, string, bool, int, int64, float64, time.Time:
		return true
	}
	return false
}
