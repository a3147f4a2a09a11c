package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse-auth/gatehouse/internal/telemetry"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Token returns a usable access token for the session's login, refreshing it
// through p when it expires within its refresh margin (Leeway, capped at a
// third of the lifetime the upstream gave the token: see Config.Leeway) —
// exactly once per session however many requests ask at once (in-process
// singleflight + Locker across instances, the record read only under the lock),
// the refreshed set written to the store before anyone uses it.
// Errors: ErrNotLoggedIn; ErrReauthRequired (invalid_grant: the login is cleared);
// a transient upstream failure while the current token is still valid returns the
// current token and nil error (serve while valid); after real expiry it returns an
// error matching provider.ErrUnavailable (caller answers 503 + Retry-After).
//
// How the promise is kept: the session map only holds a copy of the token
// set. The authoritative one is the login's record in the store, written
// only by the holder of the login's lock, so a request that saves its
// stale session map later cannot bring an old refresh token back: the next
// refresh starts from the record, and a stale copy is replaced by the
// record's token on its next use. The shared refresh runs on a context
// detached from the callers (bounded by RefreshTimeout); each caller waits
// at most until its own ctx ends. After a transient failure the login backs
// off (BackoffMin doubling to BackoffMax, with jitter, or the upstream's
// Retry-After) before the upstream is asked again, and the provider's
// circuit breaker (Config.BreakerThreshold) refuses refreshes without
// asking it while open (an error matching [ErrCircuitOpen]). A store failure while
// the token has expired gives an error matching [ErrStoreUnavailable].
// When p is not the login's provider the result is [ErrNotLoggedIn].
func (m *Manager) Token(ctx context.Context, p provider.Provider) (*provider.Token, error) {
	return m.token(ctx, p, false, nil)
}

// FreshLogin is [Manager.CurrentLogin] and [Manager.Token] in one call
// and one copy: the session's login, its Token the one Token returns
// (refreshed first when it expires within the leeway, once per login
// however many requests ask). providers gives the Provider for the
// login's provider name; nil (a name the app no longer configures) gives
// [ErrNotLoggedIn] and leaves the session as it is.
//
// Errors are Token's, and ErrNotLoggedIn where CurrentLogin returns
// (nil, nil). With [ErrReauthRequired] (the refresh token was refused and
// the login cleared) the login that ended is returned too, without its
// token, so the caller can say whose it was.
func (m *Manager) FreshLogin(ctx context.Context, providers func(name string) provider.Provider) (*Login, error) {
	sm, ls, now, err := m.liveLogin(ctx)
	if err != nil {
		return nil, err
	}
	p := providers(ls.Provider)
	if p == nil {
		return nil, ErrNotLoggedIn
	}
	m.indexSeen(ctx, sm, ls)
	if !m.needsRefresh(ls.ID, ls.Token, obtainedAt(ls.LoginAt, ls.RefreshedAt), now) {
		return ls.login(), nil // the common case: one session read, one copy
	}
	tok, err := m.token(ctx, p, false, nil)
	if err != nil {
		if errors.Is(err, ErrReauthRequired) {
			l := ls.login()
			l.Token = nil
			return l, err
		}
		return nil, err
	}
	cur := ls
	if _, s := m.sessionLogin(ctx); s != nil && s.ID == ls.ID {
		cur = s // the state the refresh adopted into the session
	}
	l := cur.login()
	l.Token = tok
	return l, nil
}

// ForceRefresh refreshes unless the stored token already differs from stale
// (someone refreshed meanwhile) — used by the upstream client after a 401.
//
// A nil stale means the session's current token. Concurrent calls for one
// login share one refresh, as with Token. A transient failure is an error
// (the current token was just refused, so it is not served).
func (m *Manager) ForceRefresh(ctx context.Context, p provider.Provider, stale *provider.Token) (*provider.Token, error) {
	return m.token(ctx, p, true, stale)
}

type outcome int

const (
	outFresh     outcome = iota // rec holds the token to use
	outGone                     // no record: logged out elsewhere, or expired
	outReauth                   // refresh token dead: login cleared
	outTransient                // upstream, lock or store failure; rec is the latest known
)

// result is the outcome of one shared refresh, given to every caller that
// waited for it.
type result struct {
	kind outcome
	rec  *record
	err  error

	// The login state adopt last made from a caller's (from → to). The
	// callers of one refresh mostly hold the very same decoded state
	// (the Codec's decode cache shares it), so they take up one new
	// value, which the Codec then encodes once for all of them.
	mu       sync.Mutex
	from, to *loginState
}

// liveLogin is the session's login state for Token and FreshLogin, with
// the time it was read at: ErrNoSession without a session, ErrNotLoggedIn
// without a login with a token set or for a login this process has ended.
func (m *Manager) liveLogin(ctx context.Context) (*scs.SessionManager, *loginState, time.Time, error) {
	sm, ls := m.sessionLogin(ctx)
	if sm == nil {
		return nil, nil, time.Time{}, ErrNoSession
	}
	if ls == nil || ls.Token == nil {
		return nil, nil, time.Time{}, ErrNotLoggedIn
	}
	now := m.now()
	if m.cleared.buried(ls.ID, now) {
		// Ended here (logout, invalid_grant) after this request loaded
		// its session: drop the stale copy so it is not saved back. As
		// on an instance that finds no record, ErrNotLoggedIn: the
		// request that met invalid_grant got ErrReauthRequired.
		sm.Remove(ctx, keyLogin)
		return nil, nil, time.Time{}, ErrNotLoggedIn
	}
	return sm, ls, now, nil
}

func (m *Manager) token(ctx context.Context, p provider.Provider, force bool, stale *provider.Token) (*provider.Token, error) {
	sm, ls, now, err := m.liveLogin(ctx)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("session: nil provider")
	}
	if p.Name() != ls.Provider {
		return nil, fmt.Errorf("%w with provider %q", ErrNotLoggedIn, p.Name())
	}
	if !force && !m.needsRefresh(ls.ID, ls.Token, obtainedAt(ls.LoginAt, ls.RefreshedAt), now) {
		return cloneToken(ls.Token), nil
	}
	staleAT := ls.Token.AccessToken
	key := "t:" + ls.ID
	if force {
		if stale != nil {
			staleAT = stale.AccessToken
		}
		key = "f:" + ls.ID
	}
	shared := *ls
	ch := m.sf.DoChan(key, func() (any, error) {
		return m.sharedRefresh(context.WithoutCancel(ctx), p, &shared, force, staleAT), nil
	})
	if m.testJoined != nil {
		m.testJoined()
	}
	var res *result
	select {
	case r := <-ch:
		res = r.Val.(*result)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return m.apply(ctx, sm, ls, res, force)
}

// apply turns the shared result into this caller's answer and updates this
// caller's session copy.
func (m *Manager) apply(ctx context.Context, sm *scs.SessionManager, ls *loginState, res *result, force bool) (*provider.Token, error) {
	switch res.kind {
	case outGone:
		sm.Remove(ctx, keyLogin)
		return nil, ErrNotLoggedIn
	case outReauth:
		sm.Remove(ctx, keyLogin)
		return nil, ErrReauthRequired
	case outFresh:
		m.adopt(ctx, sm, ls, res)
		return cloneToken(res.rec.Token), nil
	}
	best := ls.Token
	if res.rec != nil && res.rec.Token != nil && res.rec.Version > ls.Version {
		m.adopt(ctx, sm, ls, res)
		best = res.rec.Token
	}
	if !force && best.ValidAt(m.now()) {
		return cloneToken(best), nil // serve while valid
	}
	if errors.Is(res.err, ErrStoreUnavailable) || errors.Is(res.err, provider.ErrUnavailable) {
		return nil, res.err
	}
	return nil, fmt.Errorf("session: refresh: %w: %w", provider.ErrUnavailable, res.err)
}

// adopt puts the shared result's token set into this caller's session copy
// when it differs from it. Every waiting caller does, so that the rest of
// its request sees the new set; their identical saves are written once
// (see recentcommits.go).
func (m *Manager) adopt(ctx context.Context, sm *scs.SessionManager, ls *loginState, res *result) {
	rec := res.rec
	if rec.Version == ls.Version && rec.Token.AccessToken == ls.Token.AccessToken {
		return
	}
	res.mu.Lock()
	if res.from != ls || res.to == nil {
		n := *ls
		n.Token = cloneToken(rec.Token)
		n.Version = rec.Version
		n.RefreshedAt = rec.RefreshedAt
		res.from, res.to = ls, &n
	}
	n := res.to // shared: never changed in place, like every login state
	res.mu.Unlock()
	sm.Put(ctx, keyLogin, n)
}

// sharedRefresh is the single refresh of one login, run once however many
// callers wait for it. ctx is detached from every caller.
func (m *Manager) sharedRefresh(ctx context.Context, p provider.Provider, ls *loginState, force bool, staleAT string) (res *result) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.RefreshTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: refresh panicked", slog.String("login", m.logID(ls.ID)))
			res = &result{kind: outTransient, err: errors.New("session: refresh panicked")}
		}
	}()
	id := ls.ID
	usable := func(rec *record) bool {
		t := rec.Token
		if t == nil {
			return false
		}
		if force {
			return t.AccessToken != staleAT && t.ValidAt(m.now())
		}
		// A record never refreshed holds the login's own token set.
		return !m.needsRefresh(id, t, obtainedAt(ls.LoginAt, rec.RefreshedAt), m.now())
	}

	// No refresh now while the login backs off or the provider's breaker
	// is open; the record may still hold a token another instance got.
	if wait := m.backoffWait(id); wait > 0 {
		return m.refused(ctx, id, usable, &provider.Error{
			Provider: p.Name(), Op: "refresh", Kind: provider.ErrUnavailable, RetryAfter: wait,
			Err: errors.New("backing off after a failed refresh"),
		})
	}
	if wait := m.breaker.wait(p.Name()); wait > 0 {
		return m.refused(ctx, id, usable, circuitOpenError(p, wait))
	}

	// A copy older than a record this process has seen (a session that
	// is not saved back, as a bearer token's, or saved by a request that
	// loaded it before a refresh): the record most likely holds a usable
	// token, and one read settles it without the lock.
	if m.records.newer(id, ls.Version) {
		if res, _ := m.readSettles(ctx, id, usable); res != nil {
			return res
		}
	}

	// Otherwise the lock first, then one read: whoever held the lock
	// before us (another instance) may have refreshed, and reading only
	// under the lock keeps the round trips before the upstream call to
	// the lock's and one read. Under a burst those round trips queue
	// behind every arriving request's session read, so each one saved
	// shortens the wait of all of them.
	unlock, err := m.locker.Lock(ctx, lockKey(id))
	if err != nil {
		if ctx.Err() != nil {
			err = &provider.Error{Provider: p.Name(), Op: "refresh", Kind: provider.ErrUnavailable, Err: fmt.Errorf("waiting for the refresh lock: %w", err)}
		} else {
			err = fmt.Errorf("session: refresh lock: %w: %w", ErrStoreUnavailable, err)
		}
		// Still serve what the record holds: another instance may have
		// refreshed, or ended the login (on a context of its own, the
		// refresh's may have run out waiting).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockFailureReadTimeout)
		defer cancel()
		return m.refused(rctx, id, usable, err)
	}
	defer unlock()

	res, rec := m.readSettles(ctx, id, usable)
	if res != nil {
		return res
	}

	old := cloneToken(rec.Token) // rec may be shared (m.records): the provider gets its own copy
	if old == nil || old.RefreshToken == "" {
		if old != nil && old.ValidAt(m.now()) && !force {
			return &result{kind: outFresh, rec: rec} // nothing to refresh with: serve while valid
		}
		return m.clear(ctx, id, old)
	}
	fresh, err := m.refreshCapped(ctx, p, old)
	if err == nil && (fresh == nil || fresh.AccessToken == "") {
		err = &provider.Error{Provider: p.Name(), Op: "refresh", Kind: provider.ErrBadResponse, Err: errors.New("no access token")}
	}
	if err != nil {
		if errors.Is(err, ErrCircuitOpen) {
			// Refused without asking the upstream (half-open, another
			// call is the trial): not this login's failure.
			return &result{kind: outTransient, rec: rec, err: err}
		}
		if errors.Is(err, provider.ErrInvalidGrant) || errors.Is(err, provider.ErrNoRefreshToken) {
			// The refresh token we used is dead. If the store's has
			// moved on (a refresh we did not see, a lock lease lost),
			// adopt it rather than log the user out.
			cur, rerr := m.readRecord(ctx, id)
			if rerr != nil {
				return &result{kind: outTransient, rec: rec, err: rerr}
			}
			if cur != nil && cur.Token != nil && cur.Token.RefreshToken != old.RefreshToken {
				return &result{kind: outFresh, rec: cur}
			}
			m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse: refresh token refused, login cleared",
				slog.String("login", m.logID(id)), slog.String("error", err.Error()))
			return m.clear(ctx, id, old)
		}
		wait := m.noteFailure(id, provider.RetryAfter(err))
		m.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: refresh failed, keeping the session",
			slog.String("login", m.logID(id)), slog.String("error", err.Error()), slog.Duration("backoff", wait))
		return &result{kind: outTransient, rec: rec, err: err}
	}

	next := *rec
	next.Version++
	next.Token = provider.RefreshedToken(old, fresh.Clone())
	next.RefreshedAt = m.now()
	// Written before anyone uses the new token. A failed write is retried
	// briefly: with a rotating upstream the old refresh token is dead now.
	for i := 0; ; i++ {
		if err = m.writeRecord(ctx, id, &next); err == nil || i == 2 || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(time.Duration(50<<i) * time.Millisecond):
		case <-ctx.Done():
		}
	}
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "gatehouse: refreshed token set could not be stored",
			slog.String("login", m.logID(id)), slog.String("error", err.Error()))
		return &result{kind: outTransient, rec: rec, err: err}
	}
	m.clearBackoff(id)
	m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse: token refreshed",
		slog.String("login", m.logID(id)), slog.Any("token", next.Token))
	m.tokenChanged(ctx, id, old, next.Token)
	return &result{kind: outFresh, rec: &next}
}

// lockFailureReadTimeout bounds the record read after the refresh lock
// could not be taken.
const lockFailureReadTimeout = 2 * time.Second

// refused is the result of a refresh that is not tried now (refusal):
// the record's token when it is usable (another instance refreshed), else
// the refusal with the latest known record, for serve-while-valid.
func (m *Manager) refused(ctx context.Context, id string, usable func(*record) bool, refusal error) *result {
	res, rec := m.readSettles(ctx, id, usable)
	if res != nil {
		return res
	}
	return &result{kind: outTransient, rec: rec, err: refusal}
}

// readSettles reads the login's record and returns the result it settles
// on its own: a store failure, the login gone, or a usable token. Else res
// is nil and rec is the record, whose token needs refreshing.
func (m *Manager) readSettles(ctx context.Context, id string, usable func(*record) bool) (res *result, rec *record) {
	rec, err := m.readRecord(ctx, id)
	switch {
	case err != nil:
		return &result{kind: outTransient, err: err}, nil
	case rec == nil:
		return &result{kind: outGone}, nil
	case usable(rec):
		return &result{kind: outFresh, rec: rec}, rec
	}
	return nil, rec
}

// refreshCapped calls p.Refresh within the MaxConcurrentRefreshes cap,
// waiting for a slot at most until ctx ends (a transient failure), and
// through the provider's circuit breaker: while it is open the answer is
// an error matching ErrCircuitOpen and p is not called.
func (m *Manager) refreshCapped(ctx context.Context, p provider.Provider, old *provider.Token) (tok *provider.Token, err error) {
	if m.refreshes != nil {
		select {
		case m.refreshes <- struct{}{}:
			defer func() { <-m.refreshes }()
		case <-ctx.Done():
			return nil, &provider.Error{Provider: p.Name(), Op: "refresh", Kind: provider.ErrUnavailable,
				Err: fmt.Errorf("waiting for a refresh slot: %w", ctx.Err())}
		}
	}
	name := p.Name()
	trial, wait := m.breaker.acquire(name)
	if wait > 0 {
		return nil, circuitOpenError(p, wait)
	}
	res := breakerAbandoned // p.Refresh panicked
	defer func() { m.breaker.done(name, trial, res) }()
	// The span and metrics of this refresh: one per real refresh (the
	// callers waiting for it share it), its outcome the upstream's answer.
	ctx, op := m.tel.Start(ctx, telemetry.Refresh, name)
	defer func() { op.EndErr(refreshOutcome(res, tok, err)) }()
	tok, err = p.Refresh(ctx, old)
	res = classify(err)
	return tok, err
}

// refreshOutcome is the error a refresh's telemetry reports: the upstream's,
// a bad response for an answer without an access token (sharedRefresh
// refuses it), or an unexplained failure when p.Refresh panicked.
func refreshOutcome(res breakerResult, tok *provider.Token, err error) error {
	switch {
	case res == breakerAbandoned:
		return errRefreshPanicked
	case err == nil && (tok == nil || tok.AccessToken == ""):
		return provider.ErrBadResponse
	}
	return err
}

var errRefreshPanicked = errors.New("session: refresh panicked")

// clear deletes the login's record (its tokens) after the refresh token
// died: the login is over. The ID goes into m.cleared first, so a request
// of this process that loaded the session before (and would save the login
// back) treats it as ended too.
func (m *Manager) clear(ctx context.Context, id string, old *provider.Token) *result {
	m.cleared.bury(id, m.now())
	if err := m.storeDelete(ctx, recordKey(id)); err != nil {
		return &result{kind: outTransient, err: storeErr("clear login", err)}
	}
	m.clearBackoff(id)
	m.tokenChanged(ctx, id, old, nil)
	return &result{kind: outReauth}
}

// backoffState is one login's refresh backoff (in-process).
type backoffState struct {
	failures int
	until    time.Time
}

// maxBackoffEntries bounds the backoff table.
const maxBackoffEntries = 100_000

func (m *Manager) backoffWait(id string) time.Duration {
	m.backoffMu.Lock()
	defer m.backoffMu.Unlock()
	b, ok := m.backoff[id]
	if !ok {
		return 0
	}
	return b.until.Sub(m.now())
}

func (m *Manager) noteFailure(id string, retryAfter time.Duration) time.Duration {
	m.backoffMu.Lock()
	defer m.backoffMu.Unlock()
	now := m.now()
	if len(m.backoff) >= maxBackoffEntries {
		for k, v := range m.backoff {
			if !v.until.After(now) {
				delete(m.backoff, k)
			}
		}
		for k := range m.backoff {
			if len(m.backoff) < maxBackoffEntries {
				break
			}
			delete(m.backoff, k)
		}
	}
	b := m.backoff[id]
	b.failures++
	d := m.cfg.BackoffMin
	for i := 1; i < b.failures && d < m.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, m.cfg.BackoffMax)
	d = d/2 + rand.N(d/2+1) // jitter in [d/2, d]
	if retryAfter > d {
		d = min(retryAfter, m.cfg.BackoffMax)
	}
	b.until = now.Add(d)
	m.backoff[id] = b
	return d
}

func (m *Manager) clearBackoff(id string) {
	m.backoffMu.Lock()
	delete(m.backoff, id)
	m.backoffMu.Unlock()
}
