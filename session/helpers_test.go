package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session/redislock"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// storeCase is one backing store of the table.
type storeCase struct {
	name string
	// open returns a fresh, empty store namespace and, for Redis, the
	// client (for redislock). Calling it twice within a test returns the
	// same namespace: two Managers share it.
	open func(t testing.TB) (scs.Store, redis.UniversalClient)
}

func storeCases() []storeCase {
	return []storeCase{
		{"memstore", func(t testing.TB) (scs.Store, redis.UniversalClient) {
			return sharedPerTest(t, "mem", func() any {
				s := memstore.NewWithCleanupInterval(0)
				return s
			}).(scs.Store), nil
		}},
		{"redis", func(t testing.TB) (scs.Store, redis.UniversalClient) {
			addr := servicetest.Env(t, "GATEHOUSE_REDIS_ADDR")
			c := sharedPerTest(t, "redis", func() any {
				c := redis.NewClient(&redis.Options{Addr: addr})
				t.Cleanup(func() { c.Close() })
				return c
			}).(*redis.Client)
			prefix := sharedPerTest(t, "redis-prefix", func() any { return "gh-test:" + randHex(8) + ":" }).(string)
			return goredisstore.NewWithPrefix(c, prefix), c
		}},
		{"postgres", func(t testing.TB) (scs.Store, redis.UniversalClient) {
			dsn := servicetest.Env(t, "GATEHOUSE_POSTGRES_DSN")
			return sharedPerTest(t, "pg", func() any {
				pool, err := pgxpool.New(context.Background(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(pool.Close)
				return pgxstore.NewWithCleanupInterval(pool, 0)
			}).(scs.Store), nil
		}},
	}
}

var perTest sync.Map // test name + key → value

func sharedPerTest(t testing.TB, key string, mk func() any) any {
	k := t.Name() + "\x00" + key
	if v, ok := perTest.Load(k); ok {
		return v
	}
	v, loaded := perTest.LoadOrStore(k, mk())
	if !loaded {
		t.Cleanup(func() { perTest.Delete(k) })
	}
	return v
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeProvider counts refreshes. With strict rotation, each refresh token
// works once; reusing one revokes the whole family (RFC 9700 §4.14.2).
type fakeProvider struct {
	name    string
	clock   *fakeClock
	ttl     time.Duration
	strict  bool
	gate    chan struct{} // when non-nil, Refresh waits for it to close
	entered chan struct{} // when non-nil, Refresh signals here on entry

	mu        sync.Mutex
	live      map[string]bool // refresh tokens that work
	used      map[string]bool
	revoked   bool
	fail      error // returned by Refresh when set
	ctxErrs   []error
	refreshes atomic.Int64
	seq       int
}

func newFakeProvider(clock *fakeClock) *fakeProvider {
	return &fakeProvider{name: "fake", clock: clock, ttl: time.Hour, live: map[string]bool{}, used: map[string]bool{}}
}

func (p *fakeProvider) Name() string { return p.name }

func (p *fakeProvider) SetCredential(r *http.Request, t *provider.Token) {
	r.Header.Set("Authorization", "Bearer "+t.AccessToken)
}

func (p *fakeProvider) Identity(context.Context, *provider.Token) (*provider.Identity, error) {
	return &provider.Identity{Provider: p.name, Subject: "user-1"}, nil
}

// issue returns a new token set whose refresh token is live.
func (p *fakeProvider) issue(expiresIn time.Duration) *provider.Token {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issueLocked(expiresIn)
}

func (p *fakeProvider) issueLocked(expiresIn time.Duration) *provider.Token {
	p.seq++
	t := &provider.Token{
		AccessToken:  fmt.Sprintf("AT-%d-%s", p.seq, randHex(8)),
		RefreshToken: fmt.Sprintf("RT-%d-%s", p.seq, randHex(8)),
		TokenType:    "Bearer",
		Expiry:       p.clock.Now().Add(expiresIn),
		Scopes:       []string{"read"},
	}
	p.live[t.RefreshToken] = true
	return t
}

func (p *fakeProvider) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	p.refreshes.Add(1)
	if p.entered != nil {
		p.entered <- struct{}{}
	}
	if p.gate != nil {
		<-p.gate
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctxErrs = append(p.ctxErrs, ctx.Err())
	if p.fail != nil {
		return nil, p.fail
	}
	if t.RefreshToken == "" {
		return nil, provider.ErrNoRefreshToken
	}
	if p.revoked || !p.live[t.RefreshToken] {
		if p.strict && p.used[t.RefreshToken] {
			p.revoked = true // reuse detected: the family dies
		}
		return nil, &provider.Error{Provider: p.name, Op: "refresh", Kind: provider.ErrInvalidGrant, Code: "invalid_grant", StatusCode: 400}
	}
	if p.strict {
		delete(p.live, t.RefreshToken)
		p.used[t.RefreshToken] = true
	}
	return p.issueLocked(p.ttl), nil
}

func (p *fakeProvider) setFail(err error) {
	p.mu.Lock()
	p.fail = err
	p.mu.Unlock()
}

var _ provider.Provider = (*fakeProvider)(nil)

// env is one test's world: a Manager over a store, a clock and a provider.
type env struct {
	t     testing.TB
	m     *Manager
	sm    *scs.SessionManager
	clock *fakeClock
	prov  *fakeProvider
	store scs.Store
	redis redis.UniversalClient
}

type envOpt func(*Config)

func newEnv(t testing.TB, sc storeCase, opts ...envOpt) *env {
	t.Helper()
	clock := newClock()
	return newEnvWith(t, sc, clock, newFakeProvider(clock), opts...)
}

// newEnvWith builds a Manager with its own scs manager (its own in-process
// state) over the test's shared store, clock and provider.
func newEnvWith(t testing.TB, sc storeCase, clock *fakeClock, prov *fakeProvider, opts ...envOpt) *env {
	t.Helper()
	store, rc := sc.open(t)
	sm := scs.New()
	sm.Store = store
	sm.Lifetime = time.Hour
	sm.IdleTimeout = 30 * time.Minute
	cfg := Config{SessionManager: sm, Now: clock.Now, Jitter: -1, Logger: discardLogger()}
	if rc != nil {
		l, err := redislock.New(redislock.Config{Client: rc, Prefix: "gh-test-lock:" + randHex(4) + ":", TTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Locker = sharedPerTest(t, "locker", func() any { return l }).(Locker)
	} else {
		cfg.Locker = sharedPerTest(t, "locker", func() any { return NewLocalLocker() }).(Locker)
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, m: m, sm: sm, clock: clock, prov: prov, store: store, redis: rc}
}

// request loads the session for the cookie value token, as LoadAndSave would.
func (e *env) request(token string) context.Context {
	e.t.Helper()
	return loadSession(e.t, e.sm, token)
}

// commit saves the request's session, as LoadAndSave would.
func (e *env) commit(ctx context.Context) string {
	e.t.Helper()
	return commitSession(e.t, e.sm, ctx)
}

// loadSession loads sm's session for the cookie value token, failing t on
// a store error.
func loadSession(t testing.TB, sm *scs.SessionManager, token string) context.Context {
	t.Helper()
	ctx, err := sm.Load(context.Background(), token)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return ctx
}

// commitSession saves ctx's session of sm and returns its token, failing
// t on a store error.
func commitSession(t testing.TB, sm *scs.SessionManager, ctx context.Context) string {
	t.Helper()
	tok, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	return tok
}

// login makes a logged-in session whose token expires in expiresIn and
// returns its cookie value and login ID.
// The token set is received now: a token shorter than Leeway is not due
// before two thirds of its life (see loginAged).
func (e *env) login(expiresIn time.Duration) (cookie, id string, tok *provider.Token) {
	e.t.Helper()
	return e.loginAt(expiresIn, time.Time{})
}

// loginAged is login for a token set received an hour ago that expires in
// expiresIn: the end of a long life, due as soon as expiresIn is within
// Leeway (the lifetime cap of the margin does not come into play).
func (e *env) loginAged(expiresIn time.Duration) (cookie, id string, tok *provider.Token) {
	e.t.Helper()
	return e.loginAt(expiresIn, e.clock.Now().Add(-time.Hour))
}

// loginAt is login with the login time (the token's receipt) at; zero: now.
func (e *env) loginAt(expiresIn time.Duration, at time.Time) (cookie, id string, tok *provider.Token) {
	e.t.Helper()
	ctx := e.request("")
	tok = e.prov.issue(expiresIn)
	l := &Login{Provider: e.prov.name, Identity: provider.Identity{Provider: e.prov.name, Subject: "user-1", Name: "Ada"}, Token: tok, LoginAt: at}
	if err := e.m.SaveLogin(ctx, l); err != nil {
		e.t.Fatalf("SaveLogin: %v", err)
	}
	return e.commit(ctx), l.ID, tok
}

func (e *env) storeHas(key string) bool {
	e.t.Helper()
	_, found, err := e.m.storeFind(context.Background(), key)
	if err != nil {
		e.t.Fatalf("store find: %v", err)
	}
	return found
}

// tcpProxy forwards 127.0.0.1:random to target until cut.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   atomic.Bool
}

func newTCPProxy(t testing.TB, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); u.Close() }()
		go func() { _, _ = io.Copy(c, u); c.Close() }()
	}
}

// cut drops every connection and refuses new ones until restore.
func (p *tcpProxy) cut() {
	p.down.Store(true)
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

func (p *tcpProxy) restore() { p.down.Store(false) }

func isErr(err, target error) bool { return errors.Is(err, target) }

// proxyRedis opens the Redis store through addr (a tcpProxy).
func proxyRedis(addr string) func(t testing.TB) (scs.Store, redis.UniversalClient) {
	return func(t testing.TB) (scs.Store, redis.UniversalClient) {
		c := sharedPerTest(t, "redis", func() any {
			c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialTimeout: time.Second, ReadTimeout: time.Second})
			t.Cleanup(func() { c.Close() })
			return c
		}).(*redis.Client)
		prefix := sharedPerTest(t, "redis-prefix", func() any { return "gh-test:" + randHex(8) + ":" }).(string)
		return goredisstore.NewWithPrefix(c, prefix), c
	}
}
