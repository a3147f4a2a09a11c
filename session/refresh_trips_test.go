package session

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/redis/go-redis/v9"
)

// countingStore counts reads of login records and writes of sessions.
type countingStore struct {
	scs.Store
	recordReads   atomic.Int64
	sessionWrites atomic.Int64
}

func (s *countingStore) Find(key string) ([]byte, bool, error) {
	if strings.HasPrefix(key, "gatehouse:login:") {
		s.recordReads.Add(1)
	}
	return s.Store.Find(key)
}

func (s *countingStore) Commit(key string, b []byte, expiry time.Time) error {
	if !strings.HasPrefix(key, "gatehouse:") {
		s.sessionWrites.Add(1)
	}
	return s.Store.Commit(key, b, expiry)
}

// serve runs handler as one request with the session cookie cookie,
// through e's LoadAndSave, and returns the response.
func (e *env) serve(cookie string, handler http.HandlerFunc) *httptest.ResponseRecorder {
	h := e.m.LoadAndSave(handler)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: e.sm.Cookie.Name, Value: cookie})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestSharedRefreshCosts: requests of one session waiting on one refresh
// cost the store one record read before the upstream call (under the
// lock: no read before it) and one session write after it. Every request
// sees the new token set in its own session copy (CurrentLogin after
// Token); the identical saves that follow are written once.
func TestSharedRefreshCosts(t *testing.T) {
	store := &countingStore{Store: memstore.NewWithCleanupInterval(0)}
	e := newEnv(t, storeCase{"counting", func(testing.TB) (scs.Store, redis.UniversalClient) { return store, nil }})
	cookie, _, _ := e.login(10 * time.Minute)
	handler := func(w http.ResponseWriter, r *http.Request) {
		tok, err := e.m.Token(r.Context(), e.prov)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		l, err := e.m.CurrentLogin(r.Context())
		if err != nil || l == nil || l.Token.AccessToken != tok.AccessToken {
			http.Error(w, "the session copy does not hold the token Token returned", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, tok.AccessToken)
	}
	serve := func() *httptest.ResponseRecorder { return e.serve(cookie, handler) }
	// A first request stores the session as requests through LoadAndSave
	// do (with its idle stamp); then the token expires.
	if w := serve(); w.Code != http.StatusOK {
		t.Fatalf("first request: %d %s", w.Code, w.Body)
	}
	e.clock.Advance(11 * time.Minute)
	e.prov.gate = make(chan struct{})
	e.prov.entered = make(chan struct{}, 1)
	store.recordReads.Store(0)
	store.sessionWrites.Store(0)

	const n = 20
	var joined sync.WaitGroup
	joined.Add(n)
	e.m.testJoined = joined.Done
	var wg sync.WaitGroup
	replies := make([]*httptest.ResponseRecorder, n)
	start := func(i int) {
		wg.Add(1)
		go func() { defer wg.Done(); replies[i] = serve() }()
	}
	start(0)
	<-e.prov.entered // the shared refresh is at the upstream
	if got := store.recordReads.Load(); got != 1 {
		t.Errorf("record reads before the upstream call: %d, want 1", got)
	}
	for i := 1; i < n; i++ {
		start(i)
	}
	joined.Wait() // all n wait for the one refresh
	close(e.prov.gate)
	wg.Wait()

	cookies := 0
	for i, w := range replies {
		if w.Code != http.StatusOK || w.Body.String() != replies[0].Body.String() {
			t.Fatalf("request %d: %d %q (request 0: %q)", i, w.Code, w.Body, replies[0].Body)
		}
		if w.Header().Get("Set-Cookie") != "" {
			cookies++
		}
	}
	if got := store.sessionWrites.Load(); got != 1 {
		t.Errorf("session writes: %d, want 1", got)
	}
	if cookies != 1 {
		t.Errorf("%d responses set the cookie, want 1", cookies)
	}
	if got := e.prov.refreshes.Load(); got != 1 {
		t.Errorf("refreshes: %d, want 1", got)
	}
	// The next request loads the stored session: the new token, nothing
	// to refresh or write.
	e.m.testJoined = nil
	if w := serve(); w.Code != http.StatusOK || w.Body.String() != replies[0].Body.String() || store.sessionWrites.Load() != 1 {
		t.Errorf("next request: %d %q, session writes %d", w.Code, w.Body, store.sessionWrites.Load())
	}
}

// TestIdenticalCommitsAcrossInstances: a change is written again when the
// session it starts from has the same contents as before but was written
// since (here by another instance): a value set on instance a, removed on
// b, set again on a is stored.
func TestIdenticalCommitsAcrossInstances(t *testing.T) {
	sc := storeCases()[0] // memstore, shared by both instances
	a := newEnv(t, sc)
	b := newEnvWith(t, sc, a.clock, a.prov)
	cookie, _, _ := a.login(time.Hour)
	step := func(e *env, f func(r *http.Request)) string {
		var got string
		e.serve(cookie, func(_ http.ResponseWriter, r *http.Request) {
			f(r)
			got = e.sm.GetString(r.Context(), "flash")
		})
		return got
	}
	set := func(r *http.Request) { a.sm.Put(r.Context(), "flash", "hello") }
	step(a, func(*http.Request) {}) // stored with its idle stamp
	step(a, set)
	step(b, func(r *http.Request) { b.sm.Remove(r.Context(), "flash") })
	step(a, set)
	if got := step(b, func(*http.Request) {}); got != "hello" {
		t.Fatalf("after set, remove (elsewhere), set: flash = %q, want it stored", got)
	}
}

// gatedStore holds session writes until gate is closed and fails the
// first failures of them.
type gatedStore struct {
	scs.Store
	gate     chan struct{}
	failures atomic.Int32
	writes   atomic.Int32
}

func (s *gatedStore) Commit(key string, b []byte, expiry time.Time) error {
	if strings.HasPrefix(key, "gatehouse:") {
		return s.Store.Commit(key, b, expiry)
	}
	s.writes.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	if s.failures.Add(-1) >= 0 {
		return errors.New("store unavailable")
	}
	return s.Store.Commit(key, b, expiry)
}

// TestIdenticalCommitWaitsForTheWrite: a request whose identical change
// another request is writing answers only once that write has returned,
// and writes itself when it failed: its session is stored when its
// response goes out, as without the shortcut.
func TestIdenticalCommitWaitsForTheWrite(t *testing.T) {
	store := &gatedStore{Store: memstore.NewWithCleanupInterval(0)}
	e := newEnv(t, storeCase{"gated", func(testing.TB) (scs.Store, redis.UniversalClient) { return store, nil }})
	cookie, _, _ := e.login(time.Hour)
	serve := func(f func(r *http.Request)) int {
		return e.serve(cookie, func(_ http.ResponseWriter, r *http.Request) { f(r) }).Code
	}
	serve(func(*http.Request) {}) // stored with its idle stamp

	store.gate = make(chan struct{})
	store.failures.Store(1)
	writes := store.writes.Load()
	put := func(r *http.Request) { e.sm.Put(r.Context(), "flash", "saved") }
	// Both requests load the same version before either saves.
	first, second := make(chan int, 1), make(chan int, 1)
	loaded := make(chan struct{})
	var both sync.WaitGroup
	both.Add(2)
	go func() {
		first <- serve(func(r *http.Request) { put(r); both.Done(); both.Wait(); close(loaded) })
	}()
	go func() {
		second <- serve(func(r *http.Request) {
			put(r)
			both.Done()
			both.Wait()
			<-loaded
			// Let the first request's write start (and block) first.
			for store.writes.Load() == writes {
				time.Sleep(time.Millisecond)
			}
		})
	}()
	select {
	case code := <-second:
		t.Fatalf("the second request answered %d while the identical write was still running", code)
	case <-time.After(200 * time.Millisecond):
	}
	close(store.gate) // the first write fails
	if code := <-first; code != http.StatusServiceUnavailable {
		t.Errorf("first request: %d, want 503 (its write failed)", code)
	}
	if code := <-second; code != http.StatusOK {
		t.Errorf("second request: %d, want 200", code)
	}
	var got string
	serve(func(r *http.Request) { got = e.sm.GetString(r.Context(), "flash") })
	if got != "saved" {
		t.Fatalf("after the first write failed, the second's change is not stored (flash = %q)", got)
	}
}

// panickyStore panics on its first session write.
type panickyStore struct {
	scs.Store
	panics atomic.Int32
}

func (s *panickyStore) Commit(key string, b []byte, expiry time.Time) error {
	if !strings.HasPrefix(key, "gatehouse:") && s.panics.Add(-1) >= 0 {
		panic("store bug")
	}
	return s.Store.Commit(key, b, expiry)
}

// TestIdenticalCommitAfterPanickedWrite: a write that panicked in the
// store still ends the wait of an identical change, which then writes.
func TestIdenticalCommitAfterPanickedWrite(t *testing.T) {
	store := &panickyStore{Store: memstore.NewWithCleanupInterval(0)}
	e := newEnv(t, storeCase{"panicky", func(testing.TB) (scs.Store, redis.UniversalClient) { return store, nil }})
	cookie, _, _ := e.login(time.Hour)
	serve := func(f func(r *http.Request)) (code int, panicked bool) {
		defer func() {
			if recover() != nil {
				panicked = true
			}
		}()
		return e.serve(cookie, func(_ http.ResponseWriter, r *http.Request) { f(r) }).Code, false
	}
	serve(func(*http.Request) {}) // stored with its idle stamp
	store.panics.Store(1)
	put := func(r *http.Request) { e.sm.Put(r.Context(), "flash", "saved") }
	// Two requests load the same version; the first one's write panics.
	var both sync.WaitGroup
	both.Add(2)
	firstDone := make(chan bool, 1)
	go func() {
		_, p := serve(func(r *http.Request) { put(r); both.Done(); both.Wait() })
		firstDone <- p
	}()
	done := make(chan int, 1)
	go func() {
		code, _ := serve(func(r *http.Request) {
			put(r)
			both.Done()
			both.Wait()
			<-firstDone // the first request's write has panicked
		})
		done <- code
	}()
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Fatalf("second request: %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second request still waits for a write that panicked")
	}
	var got string
	serve(func(r *http.Request) { got = e.sm.GetString(r.Context(), "flash") })
	if got != "saved" {
		t.Fatalf("flash = %q, want the second request's change stored", got)
	}
}

// countingLocker counts the locks taken.
type countingLocker struct {
	Locker
	n atomic.Int64
}

func (l *countingLocker) Lock(ctx context.Context, key string) (func(), error) {
	l.n.Add(1)
	return l.Locker.Lock(ctx, key)
}

// TestStaleCopyReadsWithoutLock: a session copy older than the login's
// record (one that is never saved back, as a bearer token's) takes up the
// record's token with one read, neither the lock nor the upstream.
func TestStaleCopyReadsWithoutLock(t *testing.T) {
	locks := &countingLocker{Locker: NewLocalLocker()}
	e := newEnv(t, storeCases()[0], func(c *Config) { c.Locker = locks })
	cookie, _, _ := e.login(2 * time.Minute)
	e.clock.Advance(90 * time.Second)
	if _, err := e.m.Token(e.request(cookie), e.prov); err != nil { // refreshed; this copy is not saved
		t.Fatal(err)
	}
	before := locks.n.Load()
	for range 10 {
		if _, err := e.m.Token(e.request(cookie), e.prov); err != nil {
			t.Fatal(err)
		}
	}
	if n := locks.n.Load() - before; n != 0 {
		t.Errorf("10 requests on the stale copy took %d locks, want 0", n)
	}
	if n := e.prov.refreshes.Load(); n != 1 {
		t.Errorf("refreshes: %d, want 1", n)
	}
}

type failingLocker struct{}

func (failingLocker) Lock(context.Context, string) (func(), error) {
	return nil, errors.New("lock backend down")
}

// TestLockFailureServesTheRecord: when the refresh lock cannot be taken,
// the login's record still decides: a token another instance refreshed is
// served, and a login ended elsewhere is over.
func TestLockFailureServesTheRecord(t *testing.T) {
	sc := storeCases()[0]
	a := newEnv(t, sc)
	b := newEnvWith(t, sc, a.clock, a.prov, func(c *Config) { c.Locker = failingLocker{} })

	cookie, _, _ := a.login(2 * time.Minute)
	stale := b.request(cookie) // loaded before a refreshes
	a.clock.Advance(90 * time.Second)
	fresh, err := a.m.Token(a.request(cookie), a.prov)
	if err != nil {
		t.Fatal(err)
	}
	a.clock.Advance(60 * time.Second) // the stale copy's token has expired
	if tok, err := b.m.Token(stale, b.prov); err != nil || tok.AccessToken != fresh.AccessToken {
		t.Errorf("lock down, refreshed token in the store: Token = %v, %v; want the stored token", tok, err)
	}

	cookie2, id2, _ := a.login(2 * time.Minute)
	stale2 := b.request(cookie2)
	a.clock.Advance(90 * time.Second)                                             // due, still valid
	if err := a.m.storeDelete(context.Background(), recordKey(id2)); err != nil { // ended elsewhere
		t.Fatal(err)
	}
	if tok, err := b.m.Token(stale2, b.prov); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("lock down, login ended elsewhere: Token = %v, %v; want ErrNotLoggedIn", tok, err)
	}
}
