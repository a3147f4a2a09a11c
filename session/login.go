package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// Login is the login of a session.
type Login struct {
	// ID is random (144 bits) and set by SaveLogin. JWTs carry it as "sid";
	// LoadByLoginID finds the session by it.
	ID string
	// Provider is the name of the provider the user logged in with.
	Provider string
	// Identity is who the provider says the user is.
	Identity provider.Identity
	// Token is the upstream token set. Secret (it prints redacted).
	Token *provider.Token
	// LoginAt is when the user logged in (set by SaveLogin when zero).
	LoginAt time.Time
	// RefreshedAt is the last refresh, zero until the first.
	RefreshedAt time.Time
	// Device is a short description of the client that logged in (see
	// [DeviceSummary]), shown in session lists; at most 64 bytes, never a
	// secret. Optional.
	Device string
}

// String describes l without its secrets: the token prints redacted and
// the ID (a bearer-session key, like a session id) not at all.
func (l *Login) String() string {
	if l == nil {
		return "<nil>"
	}
	return fmt.Sprintf("session.Login{ID:[REDACTED] Provider:%s Subject:%s LoginAt:%s RefreshedAt:%s Token:%s}",
		l.Provider, l.Identity.Subject, l.LoginAt.UTC().Format(time.RFC3339), l.RefreshedAt.UTC().Format(time.RFC3339), l.Token)
}

// GoString is String, so %#v does not print secrets either.
func (l *Login) GoString() string { return l.String() }

// Format implements fmt.Formatter: every verb prints the redacted String.
func (l *Login) Format(f fmt.State, verb rune) {
	s := l.String()
	if verb == 'q' {
		s = fmt.Sprintf("%q", s)
	}
	_, _ = f.Write([]byte(s))
}

// LogValue implements slog.LogValuer without the ID or token secrets.
func (l *Login) LogValue() slog.Value {
	if l == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("provider", l.Provider),
		slog.String("subject", l.Identity.Subject),
		slog.Time("login_at", l.LoginAt),
		slog.Any("token", l.Token),
	)
}

// loginIDLen is the login ID's size in random bytes (≥128 bits).
const loginIDLen = 18

func newLoginID() (string, error) {
	b := make([]byte, loginIDLen)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (m *Manager) loginState(ctx context.Context, sm *scs.SessionManager) *loginState {
	return asLoginState(sm.Get(ctx, keyLogin))
}

// asLoginState reads the session's login value (nil when absent or
// unreadable).
func asLoginState(v any) *loginState {
	switch v := v.(type) {
	case *loginState:
		return v
	case []byte:
		var l loginState
		if l.UnmarshalBinary(v) == nil {
			return &l
		}
	}
	return nil
}

// SaveLogin renews the session id (scs RenewToken: session fixation) and stores l.
//
// Renewing first means that a session id an attacker planted before the
// login never becomes authenticated (OWASP Session Management Cheat Sheet,
// "Renew the Session ID After Any Privilege Level Change"); the old id's
// record is deleted from the store. SaveLogin sets l.ID (and l.LoginAt when
// zero) and writes the login's token record to the store at once; the
// session itself is saved when the request's LoadAndSave commits it.
// l.Token is required. A login whose encoding would exceed the size bounds
// (token 16 KiB, identity 8 KiB after dropping Identity.Raw) is refused
// with [ErrTooLarge].
func (m *Manager) SaveLogin(ctx context.Context, l *Login) error {
	sm := m.smFor(ctx)
	if sm == nil {
		return ErrNoSession
	}
	if l == nil || l.Provider == "" || l.Token == nil || l.Token.AccessToken == "" {
		return errors.New("session: SaveLogin needs a Provider and a Token with an access token")
	}
	id, err := newLoginID()
	if err != nil {
		return err
	}
	if l.LoginAt.IsZero() {
		l.LoginAt = m.now()
	}
	ls := &loginState{
		ID: id, Provider: l.Provider, Identity: cloneIdentity(l.Identity), Token: l.Token.Clone(),
		LoginAt: l.LoginAt, RefreshedAt: l.RefreshedAt, Version: 1, Device: cleanDevice(l.Device),
	}
	// Encode now: size and encodability are checked before anything
	// changes, and what the session holds is exactly what it will read
	// back (an oversized Identity.Raw is dropped).
	enc, err := ls.MarshalBinary()
	if err != nil {
		return fmt.Errorf("session: save login: %w", err)
	}
	if err := ls.UnmarshalBinary(enc); err != nil {
		return fmt.Errorf("session: save login: %w", err)
	}
	if prev := m.loginState(ctx, sm); prev != nil {
		// The previous login's session ends everywhere: a request still
		// holding the old session token cannot save it back.
		if err := m.endCurrent(ctx, sm, prev); err != nil {
			return err
		}
		if err := m.storeDelete(ctx, recordKey(prev.ID)); err != nil {
			return storeErr("save login", err)
		}
	}
	if err := sm.RenewToken(ctx); err != nil {
		return storeErr("renew session token", err)
	}
	rec := &record{
		Version: 1, SessionToken: sm.Token(ctx), Provider: l.Provider,
		Token: ls.Token, RefreshedAt: l.RefreshedAt, Deadline: sm.Deadline(ctx),
	}
	if err := m.writeRecord(ctx, id, rec); err != nil {
		return err
	}
	if err := m.indexLogin(ctx, sm, ls); err != nil {
		return err
	}
	sm.Put(ctx, keyLogin, ls)
	if st := loadStateFrom(ctx); st != nil && st.m == m && sm == m.sm {
		st.noLogin = false
	}
	l.ID = id
	m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse: login saved",
		slog.String("login", m.logID(id)), slog.String("provider", l.Provider))
	return nil
}

// CurrentLogin returns the session's login, or (nil, nil) when not logged in.
// A store failure returns an error matching ErrStoreUnavailable.
//
// CurrentLogin reads the session already loaded by LoadAndSave (or
// LoadByLoginID) and makes no store round trip of its own; its Token may
// be about to expire (use [Manager.Token] to get a usable one). A ctx
// without a session gives [ErrNoSession]. The result is a copy. A login
// this process has ended (Logout, or invalid_grant in Token/ForceRefresh)
// since the request loaded its session is not returned, and is removed
// from the request's session so it is not saved back.
func (m *Manager) CurrentLogin(ctx context.Context) (*Login, error) {
	sm, ls := m.sessionLogin(ctx)
	if sm == nil {
		return nil, ErrNoSession
	}
	if ls == nil {
		return nil, nil
	}
	if m.cleared.buried(ls.ID, m.now()) {
		sm.Remove(ctx, keyLogin)
		return nil, nil
	}
	m.indexSeen(ctx, sm, ls)
	return ls.login(), nil
}

// Logout destroys the session (server-side record gone) and returns the login it held (nil if none).
//
// The login's token record is deleted first, under the login's lock, so a
// refresh in flight cannot write it back and every bearer JWT bound to the
// login stops working (LoadByLoginID fails). The returned Login carries the
// latest token set (for revocation). A store failure is returned as an
// error matching [ErrStoreUnavailable]: logout never reports success while
// the session may survive.
func (m *Manager) Logout(ctx context.Context) (*Login, error) {
	sm := m.smFor(ctx)
	if sm == nil {
		return nil, ErrNoSession
	}
	var out *Login
	if ls := m.loginState(ctx, sm); ls != nil {
		out = ls.login()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.RefreshTimeout)
		unlock, lerr := m.locker.Lock(lctx, lockKey(ls.ID))
		if lerr != nil {
			m.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: logout without refresh lock",
				slog.String("login", m.logID(ls.ID)), slog.String("error", lerr.Error()))
		}
		rec, rerr := m.readRecord(lctx, ls.ID)
		if rerr == nil && rec != nil && rec.Token != nil {
			out.Token = cloneToken(rec.Token)
		}
		// Ended in this process from now on, whatever the store says: a
		// request that loaded the session before sees it gone.
		m.cleared.bury(ls.ID, m.now())
		// With the index: ended on every instance from now on.
		if err := m.endCurrent(lctx, sm, ls); err != nil {
			if unlock != nil {
				unlock()
			}
			cancel()
			return nil, err
		}
		derr := m.storeDelete(lctx, recordKey(ls.ID))
		if unlock != nil {
			unlock()
		}
		cancel()
		if derr != nil {
			return nil, storeErr("logout", derr)
		}
		m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse: logout", slog.String("login", m.logID(ls.ID)))
	}
	m.buryCurrent(ctx, sm) // a request still running cannot save it back
	if err := sm.Destroy(ctx); err != nil {
		return nil, storeErr("logout", err)
	}
	return out, nil
}

// LoadByLoginID finds the session whose Login.ID is id and returns a ctx
// carrying it (scs Load by the session token), on which CurrentLogin/Token
// work. ErrNotLoggedIn when that login is gone (logout, expiry) — that is
// how logout revokes every JWT of the session. A store failure gives an
// error matching ErrStoreUnavailable.
//
// When ctx carries no session of this Manager yet, the session is loaded
// into Sessions() itself, so Sessions().Commit(ctx) and the app's own
// session values work on the result. When ctx already carries one (the
// handler runs inside LoadAndSave) and it is another session, the login's
// session is loaded alongside it: CurrentLogin, Token, ForceRefresh and the
// attempt methods use it, Sessions() keeps seeing the cookie's session.
func (m *Manager) LoadByLoginID(ctx context.Context, id string) (context.Context, error) {
	if id == "" || len(id) > 64 {
		return nil, ErrNotLoggedIn
	}
	rec, err := m.readRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, ErrNotLoggedIn
	}
	// Beside a session ctx already has (a bearer request's usual case: the
	// empty one of a request without a cookie), the login's session is
	// loaded through bearerSM.
	beside := m.holdsNoLogin(ctx)
	if !beside {
		v, ok := sessionGet(m.sm, ctx, keyLogin)
		if ls := asLoginState(v); ok && ls != nil && ls.ID == id {
			return ctx, nil
		}
		beside = ok
	}
	sm, lctx := m.sm, ctx
	if beside {
		sm, lctx = m.bearerSM, context.WithValue(ctx, bearerKey{}, true)
	}
	out, err := sm.Load(lctx, rec.SessionToken)
	if err != nil {
		return nil, storeErr("load session", err)
	}
	if ls := m.loginState(out, sm); ls == nil || ls.ID != id {
		return nil, ErrNotLoggedIn
	}
	return out, nil
}

// holdsNoLogin reports, without reading the session, that ctx's session
// was loaded by this Manager's LoadAndSave for a request without a
// session cookie and has not been given a login since (SaveLogin).
func (m *Manager) holdsNoLogin(ctx context.Context) bool {
	st := loadStateFrom(ctx)
	return st != nil && st.m == m && st.noLogin
}

func lockKey(loginID string) string {
	return "gatehouse:refresh:" + recordKey(loginID)[len("gatehouse:login:"):]
}

// readRecord returns the login's record, nil when there is none (or it
// cannot be read: treated as logged out). It always reads the store; bytes
// it has opened before are not decrypted again (m.records). The result may
// be shared: never change it in place.
func (m *Manager) readRecord(ctx context.Context, id string) (*record, error) {
	b, found, err := m.storeFind(ctx, recordKey(id))
	if err != nil {
		return nil, storeErr("read login", err)
	}
	if !found {
		return nil, nil
	}
	if rec := m.records.get(id, b); rec != nil {
		return rec, nil
	}
	rec, err := openRecord(id, b)
	if err == nil {
		m.records.put(id, b, rec)
	}
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: unreadable login record (treated as logged out)",
			slog.String("login", m.logID(id)))
		return nil, nil
	}
	return rec, nil
}

func (m *Manager) writeRecord(ctx context.Context, id string, rec *record) error {
	b, err := rec.seal(id)
	if err != nil {
		return fmt.Errorf("session: seal login: %w", err)
	}
	if err := m.storeCommit(ctx, recordKey(id), b, rec.Deadline); err != nil {
		return storeErr("write login", err)
	}
	m.records.put(id, b, rec)
	return nil
}
