package session

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
)

// NewMemIndex returns the [IndexStore] for sessions kept in memory: the
// default store of [New] or scs's memstore. Several Managers of one
// process that share one in-memory store share one MemIndex too (pass the
// same value to each); it serves exactly one store. It is safe for
// concurrent use; expired entries are dropped as new ones arrive.
func NewMemIndex() *MemIndex {
	return &MemIndex{entries: map[string]IndexEntry{}, lists: map[string]map[string]bool{},
		ended: map[string]time.Time{}, once: map[string]time.Time{}, now: time.Now}
}

// MemIndex is the in-memory [IndexStore]; see [NewMemIndex].
type MemIndex struct {
	mu      sync.Mutex
	store   scs.Store
	entries map[string]IndexEntry      // handle → entry
	lists   map[string]map[string]bool // user or sid key → handles
	ended   map[string]time.Time       // ref → until
	once    map[string]time.Time       // key → until
	ops     int
	now     func() time.Time
}

var _ IndexStore = (*MemIndex)(nil)

// Check implements [IndexStore]: store must be an in-memory store, and
// the same one on every call.
func (x *MemIndex) Check(_ context.Context, store scs.Store) error {
	switch store.(type) {
	case *memStore, *memstore.MemStore:
	default:
		return fmt.Errorf("%w: NewMemIndex serves in-memory stores only, not %T (use session/redisindex or session/pgindex)", ErrIndexStore, store)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.store != nil && x.store != store {
		return fmt.Errorf("%w: this MemIndex already serves another store", ErrIndexStore)
	}
	x.store = store
	return nil
}

func (x *MemIndex) endedLocked(ref string) bool {
	until, ok := x.ended[ref]
	return ok && x.now().Before(until)
}

// FindSession implements [IndexStore].
func (x *MemIndex) FindSession(_ context.Context, key, ref string) ([]byte, bool, error) {
	x.mu.Lock()
	ended, s := x.endedLocked(ref), x.store
	x.mu.Unlock()
	if ended || s == nil {
		return nil, false, nil
	}
	return s.Find(key)
}

// CommitSession implements [IndexStore].
func (x *MemIndex) CommitSession(_ context.Context, key, ref string, b []byte, expiry time.Time) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.endedLocked(ref) || x.store == nil {
		return nil
	}
	return x.store.Commit(key, b, expiry)
}

// Put implements [IndexStore].
func (x *MemIndex) Put(_ context.Context, e IndexEntry) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.endedLocked(e.Ref) {
		return nil
	}
	x.sweepLocked()
	x.entries[e.Handle] = e
	for _, k := range []string{e.UserKey, e.SIDKey} {
		if k == "" {
			continue
		}
		if x.lists[k] == nil {
			x.lists[k] = map[string]bool{}
		}
		x.lists[k][e.Handle] = true
	}
	return nil
}

// List implements [IndexStore].
func (x *MemIndex) List(_ context.Context, key string) ([]IndexEntry, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	now := x.now()
	var out []IndexEntry
	for h := range x.lists[key] {
		if e, ok := x.entries[h]; ok && now.Before(e.Expiry) {
			e.Data = append([]byte(nil), e.Data...)
			out = append(out, e)
		}
	}
	return out, nil
}

// End implements [IndexStore].
func (x *MemIndex) End(_ context.Context, e IndexEntry) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if until := x.ended[e.Ref]; e.Deadline.After(until) {
		x.ended[e.Ref] = e.Deadline
	}
	x.removeLocked(e.Handle)
	return nil
}

func (x *MemIndex) removeLocked(handle string) {
	old, ok := x.entries[handle]
	if !ok {
		return
	}
	delete(x.entries, handle)
	for _, k := range []string{old.UserKey, old.SIDKey} {
		if l := x.lists[k]; l != nil {
			delete(l, handle)
			if len(l) == 0 {
				delete(x.lists, k)
			}
		}
	}
}

// Once implements [IndexStore].
func (x *MemIndex) Once(_ context.Context, key string, expiry time.Time) (bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sweepLocked()
	if until, ok := x.once[key]; ok && x.now().Before(until) {
		return false, nil
	}
	x.once[key] = expiry
	return true, nil
}

// Forget implements [IndexStore].
func (x *MemIndex) Forget(_ context.Context, key string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.once, key)
	return nil
}

// sweepLocked drops expired entries, markers and once keys every 1024
// writes (amortised O(1) per write).
func (x *MemIndex) sweepLocked() {
	x.ops++
	if x.ops%1024 != 0 {
		return
	}
	now := x.now()
	for h, e := range x.entries {
		if !now.Before(e.Expiry) {
			x.removeLocked(h)
		}
	}
	for k, until := range x.ended {
		if !now.Before(until) {
			delete(x.ended, k)
		}
	}
	for k, until := range x.once {
		if !now.Before(until) {
			delete(x.once, k)
		}
	}
}
