package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Tombstones keep a destroyed session from coming back.
//
// scs saves the whole session map at the end of every request that
// modified it — with an idle timeout, every request. A request that loaded
// the session before a logout and finishes after it would save the map
// back under the destroyed token, login included, and replaying the old
// cookie would show the identity again: a logout must end the login
// everywhere, at once. So
// Logout buries the session's store key for tombstoneTTL, and the store
// that [Manager.LoadAndSave] uses refuses to find or re-create a buried
// key. A save that raced with the burial (checked, then the logout's
// delete, then the write) is undone by a second check after the write.
//
// Tombstones are in-process: across instances, a request in flight on
// another instance at the moment of logout can still write the map back;
// its login then has no record, so it gets no refreshed token and no bearer
// JWT resolves to it (see the package documentation, Limits).
//
// The same type keeps the IDs of logins ended in this process
// (Manager.cleared: Logout and invalid_grant), for the session Lifetime: CurrentLogin and Token check it so that a request that loaded
// the session earlier neither uses nor saves back such a login.
const (
	// tombstoneTTL is how long a destroyed session key stays buried: longer
	// than any request that loaded it before the logout is expected to run.
	tombstoneTTL = 10 * time.Minute
	// maxTombstones bounds the table (oldest dropped beyond it).
	maxTombstones = 100_000
)

// tombstones is a bounded in-process set of keys, each kept for ttl
// (tombstoneTTL when zero) after its burial. A lookup takes a read lock and
// allocates nothing; expired entries are dropped when the set is full.
type tombstones struct {
	ttl  time.Duration
	mu   sync.RWMutex
	keys map[string]time.Time // key → burial time
}

func (ts *tombstones) lifetime() time.Duration {
	if ts.ttl > 0 {
		return ts.ttl
	}
	return tombstoneTTL
}

func (ts *tombstones) bury(key string, now time.Time) {
	ttl := ts.lifetime()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.keys == nil {
		ts.keys = map[string]time.Time{}
	}
	if _, ok := ts.keys[key]; !ok && len(ts.keys) >= maxTombstones {
		var oldestKey string
		var oldest time.Time
		for k, at := range ts.keys {
			if now.Sub(at) > ttl {
				delete(ts.keys, k)
			} else if oldestKey == "" || at.Before(oldest) {
				oldestKey, oldest = k, at
			}
		}
		if len(ts.keys) >= maxTombstones {
			delete(ts.keys, oldestKey)
		}
	}
	ts.keys[key] = now
}

func (ts *tombstones) buried(key string, now time.Time) bool {
	ts.mu.RLock()
	at, ok := ts.keys[key]
	ts.mu.RUnlock()
	return ok && now.Sub(at) <= ts.lifetime()
}

// buryCurrent buries the store key of ctx's session in sm (before sm
// destroys it). Only the cookie sessions of m.sm are buried: bearer
// sessions are never saved back by a request.
func (m *Manager) buryCurrent(ctx context.Context, sm *scs.SessionManager) {
	if sm != m.sm {
		return
	}
	tok := sm.Token(ctx)
	if tok == "" {
		return
	}
	if sm.HashTokenInStore { // the key scs uses in the store
		h := sha256.Sum256([]byte(tok))
		tok = base64.RawURLEncoding.EncodeToString(h[:])
	}
	m.graves.bury(tok, m.now())
}

// guardStore is the store of the scs manager behind LoadAndSave: it hides
// buried sessions and refuses to re-create them.
type guardStore struct {
	scs.Store
	m *Manager
}

var _ scs.CtxStore = guardStore{}

func (g guardStore) buried(key string) bool { return g.m.graves.buried(key, g.m.now()) }

// Find implements scs.Store.
func (g guardStore) Find(key string) ([]byte, bool, error) {
	if g.buried(key) {
		return nil, false, nil
	}
	return g.Store.Find(key)
}

// Commit implements scs.Store.
func (g guardStore) Commit(key string, b []byte, expiry time.Time) error {
	if g.buried(key) {
		return nil
	}
	if err := g.Store.Commit(key, b, expiry); err != nil {
		return err
	}
	if g.buried(key) { // buried while we wrote: undo
		return g.Store.Delete(key)
	}
	return nil
}

// FindCtx implements scs.CtxStore (through the plain method when the
// underlying store has no Ctx variant).
func (g guardStore) FindCtx(ctx context.Context, key string) ([]byte, bool, error) {
	if g.buried(key) {
		return nil, false, nil
	}
	if s, ok := g.Store.(scs.CtxStore); ok {
		return s.FindCtx(ctx, key)
	}
	return g.Store.Find(key)
}

// CommitCtx implements scs.CtxStore.
func (g guardStore) CommitCtx(ctx context.Context, key string, b []byte, expiry time.Time) error {
	s, ok := g.Store.(scs.CtxStore)
	if !ok {
		return g.Commit(key, b, expiry)
	}
	if g.buried(key) {
		return nil
	}
	if err := s.CommitCtx(ctx, key, b, expiry); err != nil {
		return err
	}
	if g.buried(key) {
		return s.DeleteCtx(ctx, key)
	}
	return nil
}

// DeleteCtx implements scs.CtxStore.
func (g guardStore) DeleteCtx(ctx context.Context, key string) error {
	if s, ok := g.Store.(scs.CtxStore); ok {
		return s.DeleteCtx(ctx, key)
	}
	return g.Store.Delete(key)
}
