package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-auth/gatehouse/internal/telemetry"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Errors callers branch on with errors.Is.
var (
	// ErrAttemptNotFound: no pending login attempt has this state (unknown,
	// already used, evicted, or the request carries no session at all).
	ErrAttemptNotFound = errors.New("session: login attempt not found")
	// ErrAttemptExpired: the attempt is older than Config.AttemptTTL. It
	// has been removed.
	ErrAttemptExpired = errors.New("session: login attempt expired")
	// ErrAttemptProvider: the state belongs to another provider's attempt
	// (a mix-up attack, RFC 9700 §4.4). It has been removed.
	ErrAttemptProvider = errors.New("session: login attempt belongs to another provider")
	// ErrNotLoggedIn: the session holds no (live) login.
	ErrNotLoggedIn = errors.New("session: not logged in")
	// ErrReauthRequired: the upstream refused the refresh token
	// (invalid_grant) or there is none left; the login has been cleared
	// and the user must log in again.
	ErrReauthRequired = errors.New("session: re-authentication required")
	// ErrStoreUnavailable: the session store (or the lock service) failed.
	// Fail closed: answer 503, never treat the user as anonymous.
	ErrStoreUnavailable = errors.New("session: store unavailable")
	// ErrNoSession: the context carries no session of this Manager (the
	// handler is not wrapped in LoadAndSave, or LoadByLoginID was not
	// used). A programming error.
	ErrNoSession = errors.New("session: no session in context")
)

// Locker serialises refreshes of one login across instances. Gatehouse
// also deduplicates within one process, so a Locker only sees one caller
// per key per process at a time. Implementations must be safe for
// concurrent use.
type Locker interface {
	// Lock blocks until the lock for key is held or ctx ends; unlock releases it
	// (token-checked: never releases someone else's lock). The lease is kept
	// alive while held. unlock may be called more than once.
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// LockerFunc adapts a function to [Locker].
type LockerFunc func(ctx context.Context, key string) (unlock func(), err error)

// Lock calls f.
func (f LockerFunc) Lock(ctx context.Context, key string) (func(), error) { return f(ctx, key) }

// Config configures a [Manager]. Every field is optional.
type Config struct {
	// SessionManager is the app's scs manager. Default: scs.New() with
	// an in-memory store (scs memstore's behaviour; [Manager.Close] stops
	// its sweeper), Cookie.Name "__Host-gatehouse", HttpOnly, Secure,
	// SameSite=Lax, Path "/", IdleTimeout 30m, Lifetime 8h, and
	// Gatehouse's [Codec]. If the app passes its own, Gatehouse sets its
	// Codec only when the app left scs's default (GobCodec or nil); with
	// GobCodec kept, Gatehouse registers its value types with gob. Other
	// codecs are not supported.
	SessionManager *scs.SessionManager
	// Locker serialises refreshes across instances. Default: an
	// in-process lock ([NewLocalLocker]), enough for one instance. Use
	// session/redislock when several instances share a store.
	Locker Locker
	// Leeway: refresh when the token expires within this. Default 60s.
	//
	// The margin never exceeds a third of the token's lifetime (its
	// Expiry minus the local time Gatehouse received it, at the login or
	// the last refresh): when Leeway+Jitter is longer than that, both
	// shrink in proportion so that their sum is a third. So a token is
	// never due before two thirds of its life: a fresh token is always
	// used, one request refreshes at most once, and a burst of requests
	// on a short-lived token (an 8 s token refreshes about 2.5 s before
	// it expires) refreshes once per expiry. Tokens without an expiry are
	// never refreshed ahead.
	Leeway time.Duration
	// Jitter is the most added at random to Leeway per check, so that
	// sessions that logged in together do not refresh together (scaled
	// down with Leeway for short-lived tokens, see Leeway). Default:
	// Leeway/10. Negative: none.
	Jitter time.Duration
	// AttemptTTL is a login attempt's max age. Default 10m.
	AttemptTTL time.Duration
	// MaxAttempts is the number of pending attempts per session; the
	// oldest is dropped beyond it. Default 5, at most 8 (this keeps
	// a session within MaxSessionSize).
	MaxAttempts int
	// RefreshTimeout bounds one shared refresh (lock wait, upstream call
	// and store writes). Default 10s.
	RefreshTimeout time.Duration
	// BackoffMin and BackoffMax bound the per-login wait after a transient
	// refresh failure (doubling, with jitter). Defaults 1s and 60s.
	BackoffMin, BackoffMax time.Duration
	// MaxConcurrentRefreshes caps the upstream refresh calls this Manager
	// has in flight at once, so that many logins expiring together do not
	// flood the provider: the others queue (their wait counts against
	// RefreshTimeout). Default 64. Negative: no cap.
	MaxConcurrentRefreshes int
	// BreakerThreshold is the number of consecutive transient refresh
	// failures (provider.ErrUnavailable: 5xx, refused connections,
	// timeouts) for one provider, across all its logins on this Manager,
	// that open the provider's circuit breaker. While it is open, refreshes
	// of that provider fail fast without calling the upstream, as a
	// transient failure (an error matching provider.ErrUnavailable and
	// [ErrCircuitOpen], with a Retry-After): tokens still valid are
	// served, expired ones get 503. After BreakerOpen one trial refresh
	// goes upstream (the others keep failing fast): its success closes the
	// circuit, its failure opens it again. Any successful refresh closes it
	// and resets the count; invalid_grant and other non-transient answers
	// mean the provider is up and count as such. The breaker is
	// in-process: each instance keeps its own. Default 5. Negative:
	// no breaker.
	BreakerThreshold int
	// BreakerOpen is how long an open circuit breaker stays open before
	// its half-open trial. Default 30s.
	BreakerOpen time.Duration
	// TracerProvider receives a span per token refresh sent upstream
	// ("gatehouse.refresh": one per real refresh, however many requests
	// wait for it). Default: the global provider (otel.GetTracerProvider),
	// a no-op until the app installs an OpenTelemetry SDK. The middleware
	// passes its own Config.TracerProvider to the session manager it
	// creates; set this one when you pass your own manager.
	TracerProvider trace.TracerProvider
	// MeterProvider receives the refresh metrics (gatehouse.refreshes and
	// gatehouse.refresh.duration, by provider and outcome). Default: the
	// global provider (otel.GetMeterProvider), a no-op until the app
	// installs an OpenTelemetry SDK. As with TracerProvider, the middleware
	// passes its own to the manager it creates.
	MeterProvider metric.MeterProvider
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// OnTokenChange is called after a login's token set changed in the
	// store (refreshed: old and new; cleared after invalid_grant: new is
	// nil). It runs synchronously inside the shared refresh, on a context
	// detached from any one request, and must not block for long.
	OnTokenChange func(ctx context.Context, loginID string, old, new *provider.Token)
	// Logger receives refresh and store events (never a secret; login IDs
	// are logged as a salted hash). Default slog.Default().
	Logger *slog.Logger
	// Index keeps, in the session store's backend, every logged-in
	// session under its user and its upstream session id, and the
	// markers of ended sessions that every instance checks on the read
	// it makes anyway: with it, [Manager.ListSessions],
	// [Manager.EndSession], [Manager.EndSessions] and [Manager.Once]
	// work, and logout holds on every instance sharing the store. Use
	// [NewMemIndex] for the in-memory store, session/redisindex for scs
	// goredisstore, session/pgindex for scs pgxstore; New fails for
	// another store. New replaces SessionManager.Store with a view of it
	// that checks the markers. Default nil: no index.
	Index IndexStore
}

// Manager keeps Gatehouse's per-browser state in an scs session. It is safe
// for concurrent use.
type Manager struct {
	sm       *scs.SessionManager
	bearerSM *scs.SessionManager // loads sessions for LoadByLoginID when ctx already has one
	ownStore *memStore           // the default store, stopped by Close
	locker   Locker
	cfg      Config
	now      func() time.Time
	wall     func() time.Time // the store's clock (scs's: time.Now), for idle expiries
	log      *slog.Logger
	logSalt  [16]byte
	sf       singleflight.Group
	// testJoined, set by tests only, is called by each caller that is
	// about to wait for a shared refresh.
	testJoined func()
	backoffMu  sync.Mutex
	backoff    map[string]backoffState
	graves     tombstones     // destroyed session keys LoadAndSave must not bring back
	cleared    tombstones     // login IDs ended here (logout, invalid_grant): stale copies must not serve
	records    *recordCache   // opened login records by their sealed bytes
	commits    *recentCommits // session changes written by LoadAndSave (recentcommits.go)
	refreshes  chan struct{}  // MaxConcurrentRefreshes slots; nil: no cap
	breaker    *breaker       // per-provider circuit breaker (refresh path only)
	tel        *telemetry.Telemetry
	observers  atomic.Pointer[[]TokenObserver]
	index      *indexState // nil without Config.Index
}

// TokenObserver is told of every change of a login's token set, exactly
// once per change: see Config.OnTokenChange, which is the first observer.
type TokenObserver func(ctx context.Context, loginID string, old, new *provider.Token)

// Observe adds f to the observers of token changes (after
// Config.OnTokenChange). The middleware uses it to fire its OnRefresh hook
// once per refresh. Safe for concurrent use; observers cannot be removed.
func (m *Manager) Observe(f TokenObserver) {
	for {
		old := m.observers.Load()
		var next []TokenObserver
		if old != nil {
			next = append(next, (*old)...)
		}
		next = append(next, f)
		if m.observers.CompareAndSwap(old, &next) {
			return
		}
	}
}

// tokenChanged runs Config.OnTokenChange and the observers.
func (m *Manager) tokenChanged(ctx context.Context, id string, old, new *provider.Token) {
	if m.cfg.OnTokenChange != nil {
		m.cfg.OnTokenChange(ctx, id, old.Clone(), new.Clone())
	}
	if obs := m.observers.Load(); obs != nil {
		for _, f := range *obs {
			f(ctx, id, old.Clone(), new.Clone())
		}
	}
}

// New returns a Manager for cfg. It never panics; an invalid field is an
// error.
func New(cfg Config) (*Manager, error) {
	switch {
	case cfg.Leeway < 0, cfg.AttemptTTL < 0, cfg.RefreshTimeout < 0, cfg.BackoffMin < 0, cfg.BackoffMax < 0, cfg.BreakerOpen < 0:
		return nil, errors.New("session: negative duration in Config")
	case cfg.MaxAttempts < 0 || cfg.MaxAttempts > maxAttemptsLimit:
		return nil, fmt.Errorf("session: MaxAttempts must be between 1 and %d", maxAttemptsLimit)
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 60 * time.Second
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = cfg.Leeway / 10
	}
	if cfg.AttemptTTL == 0 {
		cfg.AttemptTTL = 10 * time.Minute
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RefreshTimeout == 0 {
		cfg.RefreshTimeout = 10 * time.Second
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = time.Second
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 60 * time.Second
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = cfg.BackoffMin
	}
	if cfg.BreakerThreshold == 0 {
		cfg.BreakerThreshold = 5
	}
	if cfg.BreakerOpen == 0 {
		cfg.BreakerOpen = 30 * time.Second
	}
	if cfg.MaxConcurrentRefreshes == 0 {
		cfg.MaxConcurrentRefreshes = 64
	}
	m := &Manager{cfg: cfg, now: cfg.Now, wall: time.Now, log: cfg.Logger, locker: cfg.Locker, backoff: map[string]backoffState{},
		records: newRecordCache(recordCacheSize), commits: newRecentCommits()}
	if cfg.MaxConcurrentRefreshes > 0 {
		m.refreshes = make(chan struct{}, cfg.MaxConcurrentRefreshes)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	m.breaker = newBreaker(cfg.BreakerThreshold, cfg.BreakerOpen, cfg.BackoffMin, m.now)
	m.tel = telemetry.New(cfg.TracerProvider, cfg.MeterProvider)
	if m.locker == nil {
		m.locker = NewLocalLocker()
	}
	if _, err := rand.Read(m.logSalt[:]); err != nil {
		return nil, err
	}
	sm := cfg.SessionManager
	if sm == nil {
		sm = scs.New()
		m.ownStore = newMemStore(time.Minute)
		sm.Store = m.ownStore
		sm.Cookie.Name = "__Host-gatehouse"
		sm.Cookie.HttpOnly = true
		sm.Cookie.Secure = true
		sm.Cookie.SameSite = http.SameSiteLaxMode
		sm.Cookie.Path = "/"
		sm.Cookie.Domain = ""
		sm.IdleTimeout = 30 * time.Minute
		sm.Lifetime = 8 * time.Hour
		sm.Codec = nil
	}
	switch c := sm.Codec.(type) {
	case nil, scs.GobCodec, *scs.GobCodec:
		sm.Codec = Codec{FallbackLifetime: sm.Lifetime, cache: newDecodeCache(decodeCacheSize), idleSlot: sm.IdleTimeout > 0}
	case Codec:
		if c.cache == nil {
			c.cache = newDecodeCache(decodeCacheSize)
		}
		c.idleSlot = sm.IdleTimeout > 0
		sm.Codec = c
	case *Codec:
	default:
		registerGob()
	}
	if sm.Store == nil {
		return nil, errors.New("session: SessionManager.Store is nil")
	}
	m.sm = sm
	if err := m.initIndex(sm); err != nil {
		return nil, err
	}
	// A session map loaded before its login ended here can be saved back
	// and live at most sm.Lifetime from then.
	m.cleared.ttl = max(sm.Lifetime, tombstoneTTL)
	b := scs.New()
	b.Store, b.Codec, b.Lifetime, b.IdleTimeout = sm.Store, sm.Codec, sm.Lifetime, sm.IdleTimeout
	b.HashTokenInStore, b.Cookie = sm.HashTokenInStore, sm.Cookie
	m.bearerSM = b
	return m, nil
}

// Sessions returns the scs manager (LoadAndSave, cookie config, app values).
func (m *Manager) Sessions() *scs.SessionManager { return m.sm }

// Close stops the default in-memory store's sweeper goroutine, if New
// created that store. It is safe to call more than once.
// A Manager built on the app's SessionManager has nothing to close.
func (m *Manager) Close() error {
	m.closeIndex()
	if m.ownStore != nil {
		m.ownStore.close()
	}
	return nil
}

func (m *Manager) storeErrorFunc(w http.ResponseWriter, r *http.Request, err error) {
	m.log.LogAttrs(r.Context(), slog.LevelError, "gatehouse: session store failed",
		slog.String("error", err.Error()))
	h := w.Header()
	h.Del("Set-Cookie")
	h.Set("Cache-Control", "no-store")
	h.Set("Retry-After", "1")
	http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
}

// hasSession reports whether ctx carries a session of sm (scs panics
// rather than report it).
func hasSession(sm *scs.SessionManager, ctx context.Context) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_ = sm.Status(ctx)
	return true
}

// bearerKey marks a ctx whose session was loaded by LoadByLoginID through
// bearerSM.
type bearerKey struct{}

// sessionGet is sm.Get(ctx, key) and whether ctx carries a session of sm
// at all (scs panics rather than report it): one session lookup where
// hasSession followed by Get takes two.
func sessionGet(sm *scs.SessionManager, ctx context.Context, key string) (v any, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = nil, false
		}
	}()
	return sm.Get(ctx, key), true
}

// sessionLogin is smFor and loginState in one session lookup (the hot
// path of every logged-in request): the scs manager holding ctx's session
// (nil when none) and its login state (nil when not logged in).
func (m *Manager) sessionLogin(ctx context.Context) (*scs.SessionManager, *loginState) {
	if ctx.Value(bearerKey{}) != nil {
		if v, ok := sessionGet(m.bearerSM, ctx, keyLogin); ok {
			return m.bearerSM, asLoginState(v)
		}
	}
	if v, ok := sessionGet(m.sm, ctx, keyLogin); ok {
		return m.sm, asLoginState(v)
	}
	return nil, nil
}

// smFor returns the scs manager holding ctx's session, or nil.
func (m *Manager) smFor(ctx context.Context) *scs.SessionManager {
	if ctx.Value(bearerKey{}) != nil && hasSession(m.bearerSM, ctx) {
		return m.bearerSM
	}
	if hasSession(m.sm, ctx) {
		return m.sm
	}
	return nil
}

func (m *Manager) logID(id string) string {
	h := sha256.Sum256(append(m.logSalt[:], id...))
	return hex.EncodeToString(h[:6])
}

func storeErr(op string, err error) error {
	return fmt.Errorf("session: %s: %w: %w", op, ErrStoreUnavailable, err)
}

// Store helpers: the scs Store is used directly for login records, through
// its Ctx variant when it has one (some stores panic on the plain methods).

func (m *Manager) storeFind(ctx context.Context, key string) ([]byte, bool, error) {
	if s, ok := m.sm.Store.(scs.CtxStore); ok {
		return s.FindCtx(ctx, key)
	}
	return m.sm.Store.Find(key)
}

func (m *Manager) storeCommit(ctx context.Context, key string, b []byte, exp time.Time) error {
	if s, ok := m.sm.Store.(scs.CtxStore); ok {
		return s.CommitCtx(ctx, key, b, exp)
	}
	return m.sm.Store.Commit(key, b, exp)
}

func (m *Manager) storeDelete(ctx context.Context, key string) error {
	if s, ok := m.sm.Store.(scs.CtxStore); ok {
		return s.DeleteCtx(ctx, key)
	}
	return m.sm.Store.Delete(key)
}

// NewLocalLocker returns the in-process [Locker]: a mutex per key, waits
// bounded by ctx. It serialises refreshes among Managers of one process
// that share it (and within one Manager, which is the default).
func NewLocalLocker() Locker { return &localLocker{m: map[string]*localLock{}} }

type localLocker struct {
	mu sync.Mutex
	m  map[string]*localLock
}

type localLock struct {
	ch   chan struct{}
	refs int
}

func (l *localLocker) Lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	e := l.m[key]
	if e == nil {
		e = &localLock{ch: make(chan struct{}, 1)}
		l.m[key] = e
	}
	e.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-e.ch
			release()
		})
	}, nil
}

// Ping checks that the session store answers: it reads a probe key and
// returns an error matching [ErrStoreUnavailable] when the store fails. Use
// it in a readiness endpoint, so that a load balancer sees the instance as
// degraded while its store is down (requests get 503 meanwhile, never an
// anonymous pass-through). ctx bounds the check when the store honours it.
func (m *Manager) Ping(ctx context.Context) error {
	if _, _, err := m.storeFind(ctx, "gatehouse:ping"); err != nil {
		return storeErr("ping", err)
	}
	return nil
}
