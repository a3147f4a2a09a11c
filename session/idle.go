package session

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
)

// The idle timeout without a write per request.
//
// scs enforces SessionManager.IdleTimeout through the store's expiry: it
// marks every loaded session as modified and writes it back with the
// expiry moved to now+IdleTimeout, so that with Redis every request costs
// a read and a write. [Manager.LoadAndSave] writes an unchanged session
// back only when its stored expiry has fallen more than idleStep behind
// now+IdleTimeout: the expiry it was last written with travels inside the
// encoded session (the Codec's idle stamp), so every instance sharing the
// store knows it from the read it makes anyway.
//
// Bound: with I = IdleTimeout and s = idleStep(I) = min(I/10, 1 min),
// after a request at time t the stored expiry is at least t+I−s (else the
// request writes it to t+I) and at most t+I (it is only ever set to the
// time of a write plus I). So a session left alone since its last request
// at t expires between t+I−s and t+I, and never after its absolute
// deadline (Lifetime). For the defaults (30 min): between 29 and 30
// minutes of idleness, with one write per session per minute at most
// while it is in use. Across instances, clock differences add to the lower
// margin only.

// idleStep is how far behind now+idle the stored expiry of an unchanged
// session may fall before LoadAndSave writes it again.
func idleStep(idle time.Duration) time.Duration {
	return min(idle/10, time.Minute)
}

// loadState is the per-request state of LoadAndSave: the context the
// session is loaded with (so that the store sees it in FindCtx and
// CommitCtx, and Loaded finds it), the bytes loaded, and whether the
// commit was skipped. One allocation per request, with the saveWriter.
type loadState struct {
	context.Context
	m       *Manager // whose LoadAndSave loaded the session (see Loaded)
	key     string   // store key loaded; "" until found
	loaded  []byte   // bytes found under key (never changed)
	skipped bool     // the last commit wrote nothing (unchanged, expiry still ahead)

	// noLogin: the request came without a session cookie and SaveLogin
	// has not run on its session, so the session holds no login
	// (LoadByLoginID then skips looking).
	noLogin bool
}

type loadStateKey struct{}

// Value implements context.Context.
func (s *loadState) Value(k any) any {
	if k == (loadStateKey{}) {
		return s
	}
	return s.Context.Value(k)
}

// Loaded reports whether ctx is a request's context inside this Manager's
// [Manager.LoadAndSave]: its session is loaded, and saved when the
// response starts.
func (m *Manager) Loaded(ctx context.Context) bool {
	s := loadStateFrom(ctx)
	return s != nil && s.m == m
}

func loadStateFrom(ctx context.Context) *loadState {
	s, _ := ctx.Value(loadStateKey{}).(*loadState)
	return s
}

// idleStore is the store of LoadAndSave's scs manager when it has an
// IdleTimeout: it remembers what was loaded, and it skips writing back a
// session whose bytes are unchanged (but for the idle stamp) while the
// expiry it was stored with is within idleStep of now+idle.
type idleStore struct {
	scs.CtxStore
	m    *Manager
	idle time.Duration
	step time.Duration
}

// FindCtx implements scs.CtxStore.
func (s idleStore) FindCtx(ctx context.Context, key string) ([]byte, bool, error) {
	b, found, err := s.CtxStore.FindCtx(ctx, key)
	if st := loadStateFrom(ctx); st != nil && st.key == "" && found && err == nil {
		st.key, st.loaded = key, b
	}
	return b, found, err
}

// CommitCtx implements scs.CtxStore.
func (s idleStore) CommitCtx(ctx context.Context, key string, b []byte, expiry time.Time) error {
	st := loadStateFrom(ctx)
	if st != nil {
		st.skipped = false
	}
	off, deadline, ok := idleSlotOf(b)
	if !ok {
		return s.CtxStore.CommitCtx(ctx, key, b, expiry)
	}
	now := s.m.wall()
	exp := now.Add(s.idle)
	if !deadline.IsZero() && deadline.Before(exp) {
		exp = deadline
	}
	var claimed *recentCommit
	if st != nil && st.key == key {
		if s.unchanged(st.loaded, b, deadline, now) {
			st.skipped = true
			return nil
		}
		if lo, _, ok := idleSlotOf(st.loaded); ok && uniqueStamp(idleStamp(st.loaded, lo), deadline) {
			c, mine := s.m.commits.claim(key, s.m.commits.version(st.loaded), s.m.commits.sum(b, off), exp,
				func(e time.Time) bool { return s.fresh(e, deadline, now) })
			if mine {
				claimed = c
			} else {
				// The same change, from the same stored version, is
				// being (or was) written by another request of this
				// process (see recentcommits.go).
				select {
				case <-c.done:
				case <-ctx.Done():
					return ctx.Err()
				}
				if c.err == nil {
					st.skipped = true
					return nil
				}
			}
		}
	}
	b = bytes.Clone(b) // Encode's bytes may be its cache's: never modified
	setIdleStamp(b, off, exp)
	if claimed == nil {
		s.m.commits.forget(key)
		return s.CtxStore.CommitCtx(ctx, key, b, exp)
	}
	err := errCommitPanicked // until the store returns: waiters never wait forever
	defer func() { s.m.commits.finish(key, claimed, err) }()
	err = s.CtxStore.CommitCtx(ctx, key, b, exp)
	return err
}

var errCommitPanicked = errors.New("session: the store's commit panicked")

// uniqueStamp reports whether a loaded idle stamp names one write: it was
// set (not zero) and not capped at the absolute deadline, which every
// write in a session's last IdleTimeout shares.
func uniqueStamp(stamp, deadline time.Time) bool {
	return !stamp.IsZero() && (deadline.IsZero() || stamp.Before(deadline))
}

// DeleteCtx implements scs.CtxStore.
func (s idleStore) DeleteCtx(ctx context.Context, key string) error {
	s.m.commits.forget(key)
	return s.CtxStore.DeleteCtx(ctx, key)
}

// fresh reports whether a session stored with expiry needs no write to
// move it: the expiry is at least now+idle−step, or already the absolute
// deadline.
func (s idleStore) fresh(expiry, deadline, now time.Time) bool {
	if !deadline.IsZero() && !expiry.Before(deadline) {
		return true
	}
	return expiry.Sub(now) >= s.idle-s.step
}

// unchanged reports whether writing b over loaded would change nothing
// but the idle stamp, and loaded's stamp is still recent enough: its
// expiry is at least now+idle−step, or already the absolute deadline.
func (s idleStore) unchanged(loaded, b []byte, deadline, now time.Time) bool {
	lo, _, ok := idleSlotOf(loaded)
	bo, _, _ := idleSlotOf(b)
	if !ok || lo != bo || len(loaded) != len(b) ||
		!bytes.Equal(loaded[:lo], b[:bo]) || !bytes.Equal(loaded[lo+8:], b[bo+8:]) {
		return false
	}
	stamp := idleStamp(loaded, lo)
	return !stamp.IsZero() && s.fresh(stamp, deadline, now)
}

// ctxStore returns s with its Ctx methods (through the plain ones when s
// has none).
func ctxStore(s scs.Store) scs.CtxStore {
	if c, ok := s.(scs.CtxStore); ok {
		return c
	}
	return plainCtxStore{s}
}

type plainCtxStore struct{ scs.Store }

func (p plainCtxStore) FindCtx(_ context.Context, key string) ([]byte, bool, error) {
	return p.Find(key)
}

func (p plainCtxStore) CommitCtx(_ context.Context, key string, b []byte, expiry time.Time) error {
	return p.Commit(key, b, expiry)
}

func (p plainCtxStore) DeleteCtx(_ context.Context, key string) error { return p.Delete(key) }

// LoadAndSave is scs's LoadAndSave with a fail-closed error handler and
// one store round trip for an unchanged session, also with an
// IdleTimeout.
//
// When the store cannot load or save the session the request gets 503
// with Cache-Control: no-store and Retry-After, never an anonymous
// pass-through. The app's own ErrorFunc, if any, is not used here (call
// Sessions().LoadAndSave to keep it, and scs's write per request).
//
// With SessionManager.IdleTimeout set (before [New]), scs writes every
// loaded session back to move its expiry; here a session that the request
// left unchanged is written back only when its stored expiry has fallen
// more than min(IdleTimeout/10, 1 minute) behind now+IdleTimeout, and
// such a request sends no Set-Cookie. A session therefore expires between
// IdleTimeout−min(IdleTimeout/10, 1 minute) and IdleTimeout after its last
// request (never later than IdleTimeout, nor after its Lifetime), and a
// session in use costs at most one write per that step. A changed
// session, a renewed token and a destroyed session are written (or
// deleted) as scs does.
func (m *Manager) LoadAndSave(next http.Handler) http.Handler {
	cp := *m.sm // same context key and codec
	cp.ErrorFunc = m.storeErrorFunc
	var store scs.Store = guardStore{Store: m.sm.Store, m: m} // destroyed sessions stay destroyed
	idle := cp.IdleTimeout
	if idle > 0 {
		store = idleStore{CtxStore: ctxStore(store), m: m, idle: idle, step: idleStep(idle)}
	}
	cp.Store = store
	sm := &cp
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		token := cookieValue(r, sm.Cookie.Name)
		ctx := r.Context()
		rs := &requestState{st: loadState{Context: ctx, m: m, noLogin: token == ""}} // one allocation for both
		sw := &rs.sw
		sw.st = &rs.st
		ctx, err := sm.Load(&rs.st, token)
		if err != nil {
			sm.ErrorFunc(w, r, err)
			return
		}
		sr := r.WithContext(ctx)
		sw.ResponseWriter, sw.r, sw.sm = w, sr, sm
		next.ServeHTTP(sw, sr)
		if !sw.written {
			sw.save()
		}
	})
}

// requestState is LoadAndSave's state for a request.
type requestState struct {
	st loadState
	sw saveWriter
}

// cookieValue is the value of r's first valid cookie called name, "" when
// there is none: what r.Cookie(name) gives, without its two allocations.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			n, v, _ := strings.Cut(textproto.TrimString(part), "=")
			if n != name {
				continue
			}
			if v, ok := validCookieValue(v); ok {
				return v
			}
		}
	}
	return ""
}

// validCookieValue strips a cookie value's quotes and checks its bytes as
// net/http does when it reads a request's cookies.
func validCookieValue(v string) (string, bool) {
	if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' {
			return "", false
		}
	}
	return v, true
}

// saveWriter is scs's response writer: the session is saved (and its
// cookie set) just before the response starts.
type saveWriter struct {
	http.ResponseWriter
	r       *http.Request
	sm      *scs.SessionManager
	st      *loadState
	written bool
}

func (sw *saveWriter) save() {
	ctx := sw.r.Context()
	switch sw.sm.Status(ctx) {
	case scs.Modified:
		token, expiry, err := sw.sm.Commit(ctx)
		if err != nil {
			sw.sm.ErrorFunc(sw.ResponseWriter, sw.r, err)
			return
		}
		if sw.st != nil && sw.st.skipped {
			return // nothing written: the cookie the browser has stands
		}
		sw.sm.WriteSessionCookie(ctx, sw.ResponseWriter, token, expiry)
	case scs.Destroyed:
		sw.sm.WriteSessionCookie(ctx, sw.ResponseWriter, "", time.Time{})
	}
}

// Write implements http.ResponseWriter.
func (sw *saveWriter) Write(b []byte) (int, error) {
	if !sw.written {
		sw.save()
		sw.written = true
	}
	return sw.ResponseWriter.Write(b)
}

// WriteHeader implements http.ResponseWriter.
func (sw *saveWriter) WriteHeader(code int) {
	if !sw.written {
		sw.save()
		sw.written = true
	}
	sw.ResponseWriter.WriteHeader(code)
}

// Unwrap returns the underlying ResponseWriter (for http.ResponseController).
func (sw *saveWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }
