package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// Errors of the session index.
var (
	// ErrNoIndex: the operation needs the session index (Config.Index)
	// and the Manager has none.
	ErrNoIndex = errors.New("session: no session index configured (Config.Index)")
	// ErrSessionNotFound: no live session has this handle (unknown,
	// ended or expired).
	ErrSessionNotFound = errors.New("session: session not found")
	// ErrIndexStore: Config.Index cannot work with the session store
	// (another kind of store, or another server or key prefix). New wraps
	// it.
	ErrIndexStore = errors.New("session: the session index does not support this session store")
)

// IndexStore keeps, next to the sessions in the session store's own
// backend, the session index (each logged-in session under its user and
// its upstream session id), the markers of ended sessions, and a "seen
// once" set. Implementations: [NewMemIndex] (in-memory store), package
// session/redisindex (scs goredisstore) and package session/pgindex (scs
// pgxstore). Applications do not call it: [Manager] does.
//
// Keys and data are opaque strings and bytes made by the Manager; none
// holds a token, code or session token (see [IndexEntry]). Every method
// must be safe for concurrent use, and return an error only for a
// failure of the backend.
type IndexStore interface {
	// Check is called once by [New] with the scs store of the sessions.
	// It returns an error (wrapping [ErrIndexStore] when the store is of
	// a kind it does not support) unless FindSession and CommitSession
	// read and write the same sessions as that store does.
	Check(ctx context.Context, store scs.Store) error
	// FindSession is the session store's find of key, except that a
	// session whose ended marker ref is set is not found. It costs what
	// the store's own find costs (one round trip).
	FindSession(ctx context.Context, key, ref string) (b []byte, found bool, err error)
	// CommitSession is the session store's commit of key, except that it
	// writes nothing when the ended marker ref is set; the check and the
	// write are atomic with respect to End.
	CommitSession(ctx context.Context, key, ref string, b []byte, expiry time.Time) error
	// Put adds or replaces e, listed under e.UserKey and e.SIDKey (when
	// not empty) until e.Expiry. It does nothing when e.Ref is marked
	// ended (atomically with respect to End).
	Put(ctx context.Context, e IndexEntry) error
	// List returns the live entries listed under key (a UserKey or a
	// SIDKey), in no particular order, with at least Handle, Expiry and
	// Data set.
	List(ctx context.Context, key string) ([]IndexEntry, error)
	// End sets the ended marker e.Ref until e.Deadline and removes e.
	// From its return on, FindSession does not find the session and
	// CommitSession and Put of it do nothing, for every caller.
	End(ctx context.Context, e IndexEntry) error
	// Once records key until expiry and reports whether it was not
	// recorded yet (atomically: of concurrent callers exactly one gets
	// true).
	Once(ctx context.Context, key string, expiry time.Time) (first bool, err error)
	// Forget removes key as recorded by Once (nothing when it is not), so
	// that the next Once of key is first again.
	Forget(ctx context.Context, key string) error
}

// IndexEntry is one session as an [IndexStore] keeps it. The keys are
// one-way hashes; Data is the Manager's encoding of the listing (user,
// provider, upstream session id, login time, last seen, device) and of
// the login's ID, which names the login's sealed record. It holds no
// upstream token, authorization code, session token or client secret.
type IndexEntry struct {
	// Handle names the session (an opaque hash of its login, never its
	// session token); unique.
	Handle string
	// UserKey lists the session under its user (provider and subject).
	UserKey string
	// SIDKey lists it under its upstream (OpenID Connect) session id;
	// empty when the upstream gave none.
	SIDKey string
	// Ref names the session's ended marker (a hash of its store key).
	Ref string
	// Expiry is when the entry expires: the session's idle or absolute
	// expiry, whichever comes first, plus a minute of slack.
	Expiry time.Time
	// Deadline is the session's absolute expiry: an ended marker lives
	// until then.
	Deadline time.Time
	// Data is opaque to the store.
	Data []byte
}

// Selector picks the sessions [Manager.EndSessions] ends: those of
// Provider's user Subject, or of Provider's upstream session SID, or,
// when both are set, those matching both. Provider is required, and one
// of Subject and SID.
type Selector struct {
	Provider string
	Subject  string
	SID      string
}

// SessionInfo describes one session of a user, as [Manager.ListSessions]
// returns it. It holds no secret: Handle names the session for
// [Manager.EndSession] but grants nothing by itself.
type SessionInfo struct {
	// Handle is the session's opaque, stable name.
	Handle string `json:"id"`
	// Provider and Subject name the user.
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
	// LoginAt is when the user logged in.
	LoginAt time.Time `json:"login_at"`
	// LastSeen is the session's last request, coarse: updated at most
	// about once a minute (per instance).
	LastSeen time.Time `json:"last_seen"`
	// Device is a short description of the client ("Firefox on Linux"),
	// empty when unknown.
	Device string `json:"device,omitempty"`
	// Expires is when the session ends unless it is used again.
	Expires time.Time `json:"expires"`
	// Current marks the session of the request that listed it.
	Current bool `json:"current"`
}

// indexSeenEvery is how often, at most, one instance records that a
// session was seen.
const indexSeenEvery = time.Minute

// indexSlack is added to entry expiries and marker lifetimes: clocks of
// instances and store differ a little.
const indexSlack = time.Minute

// maxDeviceLen bounds Login.Device.
const maxDeviceLen = 64

// maxSeenTracked bounds the in-process table of when each session was
// last recorded as seen.
const maxSeenTracked = 100_000

// indexState is a Manager's use of its IndexStore.
type indexState struct {
	store IndexStore
	raw   scs.Store // the session store without the guard

	mu   sync.Mutex
	seen map[string]time.Time // handle → last recorded by this instance
	wg   sync.WaitGroup
	sem  chan struct{} // bounds background writes of last seen
}

func hashKey(prefix, label, v string) string {
	h := sha256.Sum256([]byte(label + "\x00" + v))
	return prefix + base64.RawURLEncoding.EncodeToString(h[:18])
}

// sessionHandle is the public name of the session holding login id.
func sessionHandle(loginID string) string {
	return hashKey("", "gatehouse/session-handle", loginID)
}

// UserKey is the index key of a user's sessions.
func userKey(providerName, subject string) string {
	return hashKey("u:", "gatehouse/index-user", providerName+"\x00"+subject)
}

// sidKey is the index key of an upstream session's sessions.
func sidKey(providerName, sid string) string {
	if sid == "" {
		return ""
	}
	return hashKey("s:", "gatehouse/index-sid", providerName+"\x00"+sid)
}

// endedRef is the ended marker of the session stored under key.
func endedRef(key string) string { return hashKey("e:", "gatehouse/ended-session", key) }

// OnceKey is the key [Manager.Once] records for key.
func onceKey(key string) string { return hashKey("o:", "gatehouse/once", key) }

// initIndex checks cfg.Index against the session store and installs the
// guarded view of it as sm.Store.
func (m *Manager) initIndex(sm *scs.SessionManager) error {
	if m.cfg.Index == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.cfg.Index.Check(ctx, sm.Store); err != nil {
		return fmt.Errorf("session: Config.Index: %w", err)
	}
	m.index = &indexState{store: m.cfg.Index, raw: sm.Store, seen: map[string]time.Time{}, sem: make(chan struct{}, 16)}
	sm.Store = indexGuard{idx: m.cfg.Index, raw: sm.Store}
	return nil
}

// closeIndex waits for background writes of last seen.
func (m *Manager) closeIndex() {
	if m.index != nil {
		m.index.wg.Wait()
	}
}

// indexGuard is the session store seen through the index: a session
// whose ended marker is set is gone for every reader and writer, on
// every instance. Gatehouse's own keys (login records, "gatehouse:…")
// pass through.
type indexGuard struct {
	idx IndexStore
	raw scs.Store
}

var _ scs.CtxStore = indexGuard{}

func ownKey(key string) bool { return strings.HasPrefix(key, "gatehouse:") }

// Find implements scs.Store.
func (g indexGuard) Find(key string) ([]byte, bool, error) {
	return g.FindCtx(context.Background(), key)
}

// Commit implements scs.Store.
func (g indexGuard) Commit(key string, b []byte, expiry time.Time) error {
	return g.CommitCtx(context.Background(), key, b, expiry)
}

// Delete implements scs.Store.
func (g indexGuard) Delete(key string) error { return g.DeleteCtx(context.Background(), key) }

// FindCtx implements scs.CtxStore.
func (g indexGuard) FindCtx(ctx context.Context, key string) ([]byte, bool, error) {
	if ownKey(key) {
		if s, ok := g.raw.(scs.CtxStore); ok {
			return s.FindCtx(ctx, key)
		}
		return g.raw.Find(key)
	}
	return g.idx.FindSession(ctx, key, endedRef(key))
}

// CommitCtx implements scs.CtxStore.
func (g indexGuard) CommitCtx(ctx context.Context, key string, b []byte, expiry time.Time) error {
	if ownKey(key) {
		if s, ok := g.raw.(scs.CtxStore); ok {
			return s.CommitCtx(ctx, key, b, expiry)
		}
		return g.raw.Commit(key, b, expiry)
	}
	return g.idx.CommitSession(ctx, key, endedRef(key), b, expiry)
}

// DeleteCtx implements scs.CtxStore.
func (g indexGuard) DeleteCtx(ctx context.Context, key string) error {
	if s, ok := g.raw.(scs.CtxStore); ok {
		return s.DeleteCtx(ctx, key)
	}
	return g.raw.Delete(key)
}

// storeKey is the key scs uses in the store for session token tok.
func storeKey(sm *scs.SessionManager, tok string) string {
	if sm.HashTokenInStore {
		h := sha256.Sum256([]byte(tok))
		return base64.RawURLEncoding.EncodeToString(h[:])
	}
	return tok
}

// indexData is what an entry's Data holds.
type indexData struct {
	LoginID  string
	Provider string
	Subject  string
	SID      string
	LoginAt  time.Time
	LastSeen time.Time
	Device   string
	Ref      string    // the entry's Ref
	Deadline time.Time // the entry's Deadline
}

func (d *indexData) marshal() []byte {
	b := []byte{valueV1}
	b = appendString(b, d.LoginID)
	b = appendString(b, d.Provider)
	b = appendString(b, d.Subject)
	b = appendString(b, d.SID)
	b = appendTime(b, d.LoginAt)
	b = appendTime(b, d.LastSeen)
	b = appendString(b, d.Device)
	b = appendString(b, d.Ref)
	return appendTime(b, d.Deadline)
}

func (d *indexData) unmarshal(p []byte) error {
	r := reader{b: p}
	if r.byte() != valueV1 {
		return errDecode
	}
	var out indexData
	out.LoginID = r.string()
	out.Provider = r.string()
	out.Subject = r.string()
	out.SID = r.string()
	out.LoginAt = r.time()
	out.LastSeen = r.time()
	out.Device = r.string()
	out.Ref = r.string()
	out.Deadline = r.time()
	if r.done() != nil || out.LoginID == "" {
		return errDecode
	}
	*d = out
	return nil
}

// entryFor builds the index entry of login ls held by the session stored
// under key, seen at seen.
func (m *Manager) entryFor(sm *scs.SessionManager, key string, deadline time.Time, ls *loginState, seen time.Time) IndexEntry {
	ref := endedRef(key)
	d := indexData{LoginID: ls.ID, Provider: ls.Provider, Subject: ls.Identity.Subject, SID: ls.Identity.SessionID,
		LoginAt: ls.LoginAt, LastSeen: seen, Device: ls.Device, Ref: ref, Deadline: deadline.Add(indexSlack)}
	exp := deadline
	if sm.IdleTimeout > 0 {
		exp = minTime(exp, seen.Add(sm.IdleTimeout+indexSeenEvery))
	}
	return IndexEntry{
		Handle: sessionHandle(ls.ID), UserKey: userKey(ls.Provider, ls.Identity.Subject),
		SIDKey: sidKey(ls.Provider, ls.Identity.SessionID), Ref: ref,
		Expiry: exp.Add(indexSlack), Deadline: deadline.Add(indexSlack), Data: d.marshal(),
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// indexLogin records a new login (SaveLogin, after the session token was
// renewed).
func (m *Manager) indexLogin(ctx context.Context, sm *scs.SessionManager, ls *loginState) error {
	if m.index == nil || sm != m.sm {
		return nil
	}
	now := m.now()
	e := m.entryFor(sm, storeKey(sm, sm.Token(ctx)), sm.Deadline(ctx), ls, now)
	if err := m.index.store.Put(ctx, e); err != nil {
		return storeErr("index login", err)
	}
	m.index.mu.Lock()
	m.index.markSeen(e.Handle, now)
	m.index.mu.Unlock()
	return nil
}

func (ix *indexState) markSeen(handle string, now time.Time) {
	if len(ix.seen) >= maxSeenTracked {
		clear(ix.seen) // a burst of extra writes, then bounded again
	}
	ix.seen[handle] = now
}

// indexSeen records, at most once a minute per session on this instance
// and in the background (the request never waits for it), that the
// session of ctx was used.
func (m *Manager) indexSeen(ctx context.Context, sm *scs.SessionManager, ls *loginState) {
	if m.index == nil || sm != m.sm {
		return
	}
	now := m.now()
	h := sessionHandle(ls.ID)
	ix := m.index
	ix.mu.Lock()
	last, ok := ix.seen[h]
	if ok && now.Sub(last) < indexSeenEvery && !now.Before(last) {
		ix.mu.Unlock()
		return
	}
	ix.markSeen(h, now)
	ix.mu.Unlock()
	tok := sm.Token(ctx)
	if tok == "" {
		return
	}
	e := m.entryFor(sm, storeKey(sm, tok), sm.Deadline(ctx), ls, now)
	select {
	case ix.sem <- struct{}{}:
	default:
		ix.mu.Lock()
		delete(ix.seen, h) // busy: try again on a later request
		ix.mu.Unlock()
		return
	}
	ix.wg.Add(1)
	bg := context.WithoutCancel(ctx)
	go func() {
		defer ix.wg.Done()
		defer func() { <-ix.sem }()
		wctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		if err := ix.store.Put(wctx, e); err != nil {
			ix.mu.Lock()
			delete(ix.seen, h)
			ix.mu.Unlock()
			m.log.LogAttrs(bg, slog.LevelWarn, "gatehouse: session index: last seen not recorded",
				slog.String("login", m.logID(ls.ID)), slog.String("error", err.Error()))
		}
	}()
}

// endCurrent marks the session of ctx (holding login ls) ended in the
// store, for every instance (Logout), whether ctx carries it as the
// request's own session or loaded by LoadByLoginID next to another one.
func (m *Manager) endCurrent(ctx context.Context, sm *scs.SessionManager, ls *loginState) error {
	if m.index == nil || (sm != m.sm && sm != m.bearerSM) {
		return nil
	}
	tok := sm.Token(ctx)
	if tok == "" {
		return nil
	}
	e := m.entryFor(sm, storeKey(sm, tok), sm.Deadline(ctx), ls, m.now())
	if err := m.index.store.End(ctx, e); err != nil {
		return storeErr("end session", err)
	}
	return nil
}

// ListSessions returns the live sessions of the user sel names
// (Provider and Subject, or Provider and SID), newest login first. When
// ctx carries a session of this Manager, that one has Current set.
// Without Config.Index it returns [ErrNoIndex].
func (m *Manager) ListSessions(ctx context.Context, sel Selector) ([]SessionInfo, error) {
	ds, err := m.selected(ctx, sel)
	if err != nil {
		return nil, err
	}
	cur := ""
	if _, ls := m.sessionLogin(ctx); ls != nil {
		cur = sessionHandle(ls.ID)
	}
	out := make([]SessionInfo, 0, len(ds))
	for _, d := range ds {
		out = append(out, SessionInfo{Handle: sessionHandle(d.data.LoginID), Provider: d.data.Provider, Subject: d.data.Subject,
			LoginAt: d.data.LoginAt, LastSeen: d.data.LastSeen, Device: d.data.Device, Expires: d.entry.Expiry.Add(-indexSlack),
			Current: sessionHandle(d.data.LoginID) == cur})
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return b.LoginAt.Compare(a.LoginAt) })
	return out, nil
}

type decodedEntry struct {
	entry IndexEntry
	data  indexData
}

// selected lists the entries sel names.
func (m *Manager) selected(ctx context.Context, sel Selector) ([]decodedEntry, error) {
	if m.index == nil {
		return nil, ErrNoIndex
	}
	if sel.Provider == "" || (sel.Subject == "" && sel.SID == "") {
		return nil, errors.New("session: Selector needs Provider and Subject or SID")
	}
	key := userKey(sel.Provider, sel.Subject)
	if sel.SID != "" {
		key = sidKey(sel.Provider, sel.SID)
	}
	es, err := m.index.store.List(ctx, key)
	if err != nil {
		return nil, storeErr("list sessions", err)
	}
	now := m.now()
	out := make([]decodedEntry, 0, len(es))
	for _, e := range es {
		var d indexData
		if d.unmarshal(e.Data) != nil || !now.Before(e.Expiry) || d.Provider != sel.Provider ||
			(sel.Subject != "" && d.Subject != sel.Subject) || (sel.SID != "" && d.SID != sel.SID) {
			continue
		}
		// The keys come from the data, whatever the store returned.
		e.Handle, e.UserKey, e.SIDKey = sessionHandle(d.LoginID), userKey(d.Provider, d.Subject), sidKey(d.Provider, d.SID)
		e.Ref, e.Deadline = d.Ref, d.Deadline
		out = append(out, decodedEntry{entry: e, data: d})
	}
	return out, nil
}

// EndSessions ends every session sel names, on every instance: from its
// return on no request (on any instance sharing the store) is served as
// those sessions, a request already running cannot save one back, and
// the bearer JWTs bound to them are refused. It returns how many it
// ended. The upstream tokens are not revoked (use [Manager.EndSession]
// for each, which returns them). Without Config.Index it returns
// [ErrNoIndex].
func (m *Manager) EndSessions(ctx context.Context, sel Selector) (int, error) {
	ds, err := m.selected(ctx, sel)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range ds {
		if _, err := m.end(ctx, d); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// EndSession ends the session whose handle ([SessionInfo].Handle) is
// handle, on every instance, as [Manager.EndSessions] does, and returns
// its login with the latest token set (for upstream revocation; nil
// Token when the login record was already gone). An unknown, ended or
// expired handle gives [ErrSessionNotFound]. The caller decides who may
// end which session: EndSession checks nothing about ctx's own user.
func (m *Manager) EndSession(ctx context.Context, sel Selector, handle string) (*Login, error) {
	ds, err := m.selected(ctx, sel)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if sessionHandle(d.data.LoginID) == handle {
			return m.end(ctx, d)
		}
	}
	return nil, ErrSessionNotFound
}

// end ends one indexed session: marker first (reads fail from then on),
// then, under the login's lock, the login record (refreshes and bearer
// JWTs fail), then the session's store entry.
func (m *Manager) end(ctx context.Context, d decodedEntry) (*Login, error) {
	if err := m.index.store.End(ctx, d.entry); err != nil {
		return nil, storeErr("end session", err)
	}
	id := d.data.LoginID
	m.cleared.bury(id, m.now())
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.RefreshTimeout)
	defer cancel()
	unlock, lerr := m.locker.Lock(lctx, lockKey(id))
	if lerr != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: end session without refresh lock",
			slog.String("login", m.logID(id)), slog.String("error", lerr.Error()))
	}
	rec, rerr := m.readRecord(lctx, id)
	derr := m.storeDelete(lctx, recordKey(id))
	if unlock != nil {
		unlock()
	}
	if rerr != nil {
		return nil, rerr
	}
	if derr != nil {
		return nil, storeErr("end session", derr)
	}
	out := &Login{ID: id, Provider: d.data.Provider, LoginAt: d.data.LoginAt, Device: d.data.Device,
		Identity: provider.Identity{Provider: d.data.Provider, Subject: d.data.Subject, SessionID: d.data.SID}}
	if rec != nil {
		out.Token = cloneToken(rec.Token)
		out.RefreshedAt = rec.RefreshedAt
		if err := m.storeDelete(lctx, storeKey(m.sm, rec.SessionToken)); err != nil {
			return nil, storeErr("end session", err)
		}
		m.graves.bury(storeKey(m.sm, rec.SessionToken), m.now())
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse: session ended", slog.String("login", m.logID(id)))
	return out, nil
}

// Once records key for ttl in the store and reports whether this is the
// first time it is recorded within that time, across every instance
// sharing the store (for example the "jti" of an OpenID Connect logout
// token, so that a replayed token is refused). Without Config.Index it
// returns [ErrNoIndex].
func (m *Manager) Once(ctx context.Context, key string, ttl time.Duration) (first bool, err error) {
	if m.index == nil {
		return false, ErrNoIndex
	}
	if key == "" || ttl <= 0 {
		return false, errors.New("session: Once needs a key and a positive ttl")
	}
	first, err = m.index.store.Once(ctx, onceKey(key), m.now().Add(ttl))
	if err != nil {
		return false, storeErr("once", err)
	}
	return first, nil
}

// ForgetOnce undoes [Manager.Once] for key: the next Once of key reports
// first again. Use it when the step that Once guarded failed, so that a
// retry of it is not refused as a replay. Without Config.Index it returns
// [ErrNoIndex].
func (m *Manager) ForgetOnce(ctx context.Context, key string) error {
	if m.index == nil {
		return ErrNoIndex
	}
	if key == "" {
		return errors.New("session: ForgetOnce needs a key")
	}
	if err := m.index.store.Forget(ctx, onceKey(key)); err != nil {
		return storeErr("forget once", err)
	}
	return nil
}

// HasIndex reports whether the Manager has a session index
// (Config.Index).
func (m *Manager) HasIndex() bool { return m.index != nil }

// CurrentHandle returns the handle of ctx's session ([SessionInfo].Handle),
// or "" when it holds no login.
func (m *Manager) CurrentHandle(ctx context.Context) string {
	if _, ls := m.sessionLogin(ctx); ls != nil {
		return sessionHandle(ls.ID)
	}
	return ""
}

// DeviceSummary turns a User-Agent header into a short description of
// the client for [Login].Device ("Firefox on Linux"), at most 64 bytes of
// printable text; "" when it recognises nothing.
func DeviceSummary(userAgent string) string {
	ua := strings.ToLower(userAgent)
	browser := ""
	for _, b := range []struct{ needle, name string }{
		{"edg/", "Edge"}, {"opr/", "Opera"}, {"firefox/", "Firefox"}, {"chromium/", "Chromium"},
		{"chrome/", "Chrome"}, {"crios/", "Chrome"}, {"safari/", "Safari"}, {"curl/", "curl"},
		{"go-http-client", "Go client"}, {"python", "Python client"},
	} {
		if strings.Contains(ua, b.needle) {
			browser = b.name
			break
		}
	}
	osName := ""
	for _, o := range []struct{ needle, name string }{
		{"android", "Android"}, {"iphone", "iOS"}, {"ipad", "iPadOS"}, {"windows", "Windows"},
		{"mac os x", "macOS"}, {"cros", "ChromeOS"}, {"linux", "Linux"},
	} {
		if strings.Contains(ua, o.needle) {
			osName = o.name
			break
		}
	}
	switch {
	case browser != "" && osName != "":
		return browser + " on " + osName
	case browser != "":
		return browser
	case osName != "":
		return osName
	}
	return ""
}

// cleanDevice keeps Login.Device short and printable.
func cleanDevice(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	for len(s) > maxDeviceLen {
		s = s[:maxDeviceLen]
		s = strings.ToValidUTF8(s, "")
	}
	return s
}
