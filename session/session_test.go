package session

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestSession is the behaviour table, run over every store (memstore
// always; Redis and PostgreSQL when GATEHOUSE_REDIS_ADDR and
// GATEHOUSE_POSTGRES_DSN are set; required when CI=true).
func TestSession(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, sc storeCase)
	}{
		{"Concurrent200OneRefresh", testConcurrent200},
		{"TwoManagersOneRefresh", testTwoManagers},
		{"StrictRotationNobodyLoggedOut", testStrictRotation},
		{"CancelledWaiterDoesNotCancelRefresh", testCancelledWaiter},
		{"InvalidGrantClearsLogin", testInvalidGrant},
		{"InvalidGrantAdoptsMovedOnToken", testInvalidGrantAdopts},
		{"TransientServeWhileValidThenUnavailable", testTransient},
		{"StaleSaveKeepsNewToken", testStaleSave},
		{"LeewayBoundary", testLeeway},
		{"ForceRefresh", testForceRefresh},
		{"Attempts", testAttempts},
		{"SaveLoginRenewsSessionToken", testSaveLoginRenews},
		{"LogoutDestroysRecord", testLogout},
		{"LoadByLoginID", testLoadByLoginID},
		{"FreshLogin", testFreshLogin},
		{"OnTokenChange", testOnTokenChange},
	}
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, sc)
				})
			}
		})
	}
}

// hammer calls Token n times concurrently, each on its own request of the
// session cookie, spread over the envs, and returns the tokens and errors.
func hammer(t *testing.T, envs []*env, cookie string, n int) ([]*provider.Token, []error) {
	t.Helper()
	return hammerWith(t, envs, cookie, n, nil)
}

// hammerWith is hammer with provider p (nil: each env's fake).
func hammerWith(t *testing.T, envs []*env, cookie string, n int, p provider.Provider) ([]*provider.Token, []error) {
	t.Helper()
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = envs[i%len(envs)].request(cookie)
	}
	toks := make([]*provider.Token, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			e := envs[i%len(envs)]
			var pp provider.Provider = e.prov
			if p != nil {
				pp = p
			}
			toks[i], errs[i] = e.m.Token(ctxs[i], pp)
		}(i)
	}
	close(start)
	wg.Wait()
	return toks, errs
}

func testConcurrent200(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	cookie, _, old := e.login(30 * time.Second)
	e.clock.Advance(time.Minute) // and now really expired
	toks, errs := hammer(t, []*env{e}, cookie, 200)
	if n := e.prov.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes = %d, want exactly 1", n)
	}
	for i := range toks {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if toks[i].AccessToken == old.AccessToken || toks[i].AccessToken != toks[0].AccessToken {
			t.Fatalf("call %d got a different or old token", i)
		}
	}
}

func testTwoManagers(t *testing.T, sc storeCase) {
	a := newEnv(t, sc)
	b := newEnvWith(t, sc, a.clock, a.prov)
	cookie, _, _ := a.login(10 * time.Second)
	a.clock.Advance(time.Minute)
	toks, errs := hammer(t, []*env{a, b}, cookie, 200)
	if n := a.prov.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes across 2 managers = %d, want exactly 1", n)
	}
	for i := range toks {
		if errs[i] != nil || toks[i].AccessToken != toks[0].AccessToken {
			t.Fatalf("call %d: %v (token agrees: %v)", i, errs[i], errs[i] == nil && toks[i].AccessToken == toks[0].AccessToken)
		}
	}
}

func testStrictRotation(t *testing.T, sc storeCase) {
	a := newEnv(t, sc)
	a.prov.strict = true
	b := newEnvWith(t, sc, a.clock, a.prov)
	cookie, _, _ := a.login(time.Hour)
	const cycles = 5
	for c := 1; c <= cycles; c++ {
		a.clock.Advance(2 * time.Hour)
		_, errs := hammer(t, []*env{a, b}, cookie, 40)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("cycle %d call %d: %v", c, i, err)
			}
		}
		if n := a.prov.refreshes.Load(); n != int64(c) {
			t.Fatalf("cycle %d: refreshes = %d, want %d", c, n, c)
		}
	}
	if a.prov.revoked {
		t.Fatal("the token family was revoked (a refresh token was reused)")
	}
}

func testCancelledWaiter(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	e.prov.gate = make(chan struct{})
	e.prov.entered = make(chan struct{}, 1)
	cookie, _, _ := e.loginAged(5 * time.Second)
	ctx1, cancel := context.WithCancel(e.request(cookie))
	err1 := make(chan error, 1)
	go func() { _, err := e.m.Token(ctx1, e.prov); err1 <- err }()
	<-e.prov.entered // the shared refresh is in flight, started by caller 1
	ctx2 := e.request(cookie)
	res2 := make(chan *provider.Token, 1)
	go func() {
		tok, err := e.m.Token(ctx2, e.prov)
		if err != nil {
			t.Errorf("caller 2: %v", err)
		}
		res2 <- tok
	}()
	cancel()
	if err := <-err1; !errors.Is(err, context.Canceled) {
		t.Fatalf("caller 1 err = %v, want context.Canceled", err)
	}
	close(e.prov.gate)
	tok := <-res2
	if tok == nil {
		t.Fatal("caller 2 got no token")
	}
	if n := e.prov.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
	e.prov.mu.Lock()
	defer e.prov.mu.Unlock()
	if e.prov.ctxErrs[0] != nil {
		t.Fatalf("the shared refresh saw its context end: %v", e.prov.ctxErrs[0])
	}
}

func testInvalidGrant(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	cookie, id, tok := e.loginAged(5 * time.Second)
	e.prov.mu.Lock()
	delete(e.prov.live, tok.RefreshToken) // revoked upstream
	e.prov.mu.Unlock()
	ctx := e.request(cookie)
	if _, err := e.m.Token(ctx, e.prov); !errors.Is(err, ErrReauthRequired) {
		t.Fatalf("Token err = %v, want ErrReauthRequired", err)
	}
	if l, err := e.m.CurrentLogin(ctx); err != nil || l != nil {
		t.Fatalf("after invalid_grant CurrentLogin = %v, %v; want nil, nil", l, err)
	}
	if e.storeHas(recordKey(id)) {
		t.Fatal("the login's token record is still in the store")
	}
	// A request that loaded the old session copy: no upstream call, not logged in.
	ctx2 := e.request(cookie)
	if _, err := e.m.Token(ctx2, e.prov); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("stale copy: err = %v, want ErrNotLoggedIn", err)
	}
	if n := e.prov.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes = %d, want exactly 1 (no retry with a dead refresh token)", n)
	}
	e.commit(ctx)
	if l, _ := e.m.CurrentLogin(e.request(cookie)); l != nil {
		t.Fatal("the committed session still holds the login")
	}
}

func testInvalidGrantAdopts(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	cookie, id, _ := e.loginAged(5 * time.Second)
	ctx := e.request(cookie)
	// Another party rotated the token behind our back (say, a lock lease
	// that ran out): the store already holds a newer set when the upstream
	// refuses the old refresh token.
	newer := e.prov.issue(time.Hour)
	e.prov.entered = make(chan struct{}, 1)
	e.prov.gate = make(chan struct{})
	e.prov.setFail(&provider.Error{Op: "refresh", Kind: provider.ErrInvalidGrant})
	done := make(chan error, 1)
	var got *provider.Token
	go func() {
		var err error
		got, err = e.m.Token(ctx, e.prov)
		done <- err
	}()
	<-e.prov.entered
	rec, err := e.m.readRecord(context.Background(), id)
	if err != nil || rec == nil {
		t.Fatalf("read record: %v", err)
	}
	rec.Version++
	rec.Token = newer
	if err := e.m.writeRecord(context.Background(), id, rec); err != nil {
		t.Fatal(err)
	}
	close(e.prov.gate)
	if err := <-done; err != nil {
		t.Fatalf("Token: %v (want the stored, newer token adopted)", err)
	}
	if got.AccessToken != newer.AccessToken {
		t.Fatal("did not adopt the stored token")
	}
}

func testTransient(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	cookie, _, old := e.loginAged(30 * time.Second)
	e.prov.setFail(&provider.Error{Op: "refresh", Kind: provider.ErrUnavailable, StatusCode: 503})
	ctx := e.request(cookie)
	tok, err := e.m.Token(ctx, e.prov)
	if err != nil || tok.AccessToken != old.AccessToken {
		t.Fatalf("while valid: tok ok=%v err=%v; want the current token served", tok != nil && tok.AccessToken == old.AccessToken, err)
	}
	if n := e.prov.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
	// Backing off: the next calls do not hammer the upstream.
	for i := 0; i < 5; i++ {
		if _, err := e.m.Token(e.request(cookie), e.prov); err != nil {
			t.Fatalf("during backoff while valid: %v", err)
		}
	}
	if n := e.prov.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes during backoff = %d, want 1", n)
	}
	e.clock.Advance(45 * time.Second) // past real expiry
	_, err = e.m.Token(e.request(cookie), e.prov)
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("after expiry: err = %v, want provider.ErrUnavailable", err)
	}
	if errors.Is(err, ErrReauthRequired) || errors.Is(err, ErrNotLoggedIn) {
		t.Fatal("a transient failure ended the login")
	}
	if n := e.prov.refreshes.Load(); n != 2 {
		t.Fatalf("refreshes after the first backoff = %d, want 2", n)
	}
	// Right after, within the (now longer) backoff: no upstream call, an
	// error carrying Retry-After.
	_, err = e.m.Token(e.request(cookie), e.prov)
	if !errors.Is(err, provider.ErrUnavailable) || provider.RetryAfter(err) <= 0 {
		t.Fatalf("during backoff after expiry: err = %v, retry-after %v", err, provider.RetryAfter(err))
	}
	if n := e.prov.refreshes.Load(); n != 2 {
		t.Fatalf("refreshes during backoff = %d, want 2", n)
	}
	e.prov.setFail(nil)
	e.clock.Advance(2 * time.Minute)
	tok, err = e.m.Token(e.request(cookie), e.prov)
	if err != nil || tok.AccessToken == old.AccessToken {
		t.Fatalf("after recovery: %v", err)
	}
}

func testStaleSave(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	e.prov.strict = true
	cookie, id, _ := e.loginAged(30 * time.Second)
	slow := e.request(cookie) // loaded before the refresh
	fast := e.request(cookie)
	fresh, err := e.m.Token(fast, e.prov)
	if err != nil {
		t.Fatal(err)
	}
	e.commit(fast)
	// The slow request saves its (modified) session map after the refresh.
	e.sm.Put(slow, "app.note", "hello")
	e.commit(slow)

	rec, err := e.m.readRecord(context.Background(), id)
	if err != nil || rec == nil || rec.Token.RefreshToken != fresh.RefreshToken {
		t.Fatal("the store lost the refreshed refresh token")
	}
	next := e.request(cookie)
	tok, err := e.m.Token(next, e.prov)
	if err != nil || tok.AccessToken != fresh.AccessToken {
		t.Fatalf("next request: err=%v, new token=%v", err, err == nil && tok.AccessToken == fresh.AccessToken)
	}
	if got := e.sm.GetString(next, "app.note"); got != "hello" {
		t.Fatalf("app value = %q", got)
	}
	if n := e.prov.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
	// And the next refresh uses the new refresh token: strict rotation holds.
	e.commit(next)
	e.clock.Advance(2 * time.Hour)
	if _, err := e.m.Token(e.request(cookie), e.prov); err != nil {
		t.Fatalf("second refresh: %v", err)
	}
	if e.prov.revoked {
		t.Fatal("family revoked: an old refresh token came back")
	}
}

func testLeeway(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	cookie, _, old := e.login(10 * time.Minute)
	e.clock.Advance(10*time.Minute - 60*time.Second - time.Second) // exp − leeway + … − 1s
	tok, err := e.m.Token(e.request(cookie), e.prov)
	if err != nil || tok.AccessToken != old.AccessToken || e.prov.refreshes.Load() != 0 {
		t.Fatalf("at exp−leeway−1s: err=%v refreshes=%d, want no refresh", err, e.prov.refreshes.Load())
	}
	e.clock.Advance(2 * time.Second) // exp − leeway + 1s
	tok, err = e.m.Token(e.request(cookie), e.prov)
	if err != nil || tok.AccessToken == old.AccessToken || e.prov.refreshes.Load() != 1 {
		t.Fatalf("at exp−leeway+1s: err=%v refreshes=%d, want a refresh", err, e.prov.refreshes.Load())
	}
}

func testForceRefresh(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	cookie, _, old := e.login(time.Hour)
	ctx := e.request(cookie)
	tok, err := e.m.ForceRefresh(ctx, e.prov, old)
	if err != nil || tok.AccessToken == old.AccessToken || e.prov.refreshes.Load() != 1 {
		t.Fatalf("ForceRefresh: err=%v refreshes=%d", err, e.prov.refreshes.Load())
	}
	// Another request still holding the old token gets the new one, no refresh.
	tok2, err := e.m.ForceRefresh(e.request(cookie), e.prov, old)
	if err != nil || tok2.AccessToken != tok.AccessToken || e.prov.refreshes.Load() != 1 {
		t.Fatalf("second ForceRefresh: err=%v refreshes=%d", err, e.prov.refreshes.Load())
	}
}

func testAttempts(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	ctx := e.request("")
	put := func(state, prov string) {
		t.Helper()
		if err := e.m.PutAttempt(ctx, Attempt{State: state, Provider: prov, Verifier: "v-" + state, ReturnTo: "/r/" + state}); err != nil {
			t.Fatal(err)
		}
	}
	// Two tabs.
	put("tab1", "fake")
	put("tab2", "fake")
	cookie := e.commit(ctx)
	ctx = e.request(cookie)
	a, err := e.m.TakeAttempt(ctx, "fake", "tab2")
	if err != nil || a.Verifier != "v-tab2" || a.ReturnTo != "/r/tab2" {
		t.Fatalf("take tab2: %v", err)
	}
	a, err = e.m.TakeAttempt(ctx, "fake", "tab1")
	if err != nil || a.Verifier != "v-tab1" {
		t.Fatalf("take tab1: %v", err)
	}
	// Single use, also after a commit.
	cookie = e.commit(ctx)
	ctx = e.request(cookie)
	if _, err := e.m.TakeAttempt(ctx, "fake", "tab1"); !errors.Is(err, ErrAttemptNotFound) {
		t.Fatalf("replay: err = %v", err)
	}
	// Expiry with the fake clock.
	put("old", "fake")
	e.clock.Advance(10*time.Minute + time.Second)
	if _, err := e.m.TakeAttempt(ctx, "fake", "old"); !errors.Is(err, ErrAttemptExpired) {
		t.Fatalf("expired: err = %v", err)
	}
	if _, err := e.m.TakeAttempt(ctx, "fake", "old"); !errors.Is(err, ErrAttemptNotFound) {
		t.Fatalf("expired attempt not removed: %v", err)
	}
	// Provider mismatch: refused and removed.
	put("mix", "other")
	if _, err := e.m.TakeAttempt(ctx, "fake", "mix"); !errors.Is(err, ErrAttemptProvider) {
		t.Fatalf("mix-up: err = %v", err)
	}
	if _, err := e.m.TakeAttempt(ctx, "other", "mix"); !errors.Is(err, ErrAttemptNotFound) {
		t.Fatalf("mixed-up attempt not removed: %v", err)
	}
	// At most 5, oldest dropped.
	for _, s := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		put(s, "fake")
		e.clock.Advance(time.Second)
	}
	cookie = e.commit(ctx)
	ctx = e.request(cookie)
	if _, err := e.m.TakeAttempt(ctx, "fake", "a1"); !errors.Is(err, ErrAttemptNotFound) {
		t.Fatalf("oldest not dropped: %v", err)
	}
	for _, s := range []string{"a2", "a3", "a4", "a5", "a6"} {
		if _, err := e.m.TakeAttempt(ctx, "fake", s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if _, err := e.m.TakeAttempt(ctx, "fake", ""); !errors.Is(err, ErrAttemptNotFound) {
		t.Fatalf("empty state: %v", err)
	}
	if _, err := e.m.TakeAttempt(context.Background(), "fake", "x"); !errors.Is(err, ErrAttemptNotFound) {
		t.Fatalf("no session: %v", err)
	}
}

func testSaveLoginRenews(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	ctx := e.request("")
	e.sm.Put(ctx, "app.pre", "x")
	before := e.commit(ctx)
	ctx = e.request(before)
	l := &Login{Provider: "fake", Token: e.prov.issue(time.Hour), Identity: provider.Identity{Subject: "u"}}
	if err := e.m.SaveLogin(ctx, l); err != nil {
		t.Fatal(err)
	}
	after := e.commit(ctx)
	if after == before {
		t.Fatal("session token not renewed")
	}
	if e.storeHas(before) {
		t.Fatal("the pre-login session is still in the store")
	}
	if len(l.ID) < 22 {
		t.Fatalf("login ID %q too short", l.ID)
	}
	got, err := e.m.CurrentLogin(e.request(after))
	if err != nil || got == nil || got.ID != l.ID || got.Identity.Subject != "u" || got.Token.AccessToken != l.Token.AccessToken || got.LoginAt.IsZero() {
		t.Fatalf("CurrentLogin = %+v, %v", got, err)
	}
	// Logging in again in the same session replaces the login and its record.
	ctx = e.request(after)
	l2 := &Login{Provider: "fake", Token: e.prov.issue(time.Hour)}
	if err := e.m.SaveLogin(ctx, l2); err != nil {
		t.Fatal(err)
	}
	e.commit(ctx)
	if e.storeHas(recordKey(l.ID)) {
		t.Fatal("the replaced login's record is still in the store")
	}
}

func testLogout(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	cookie, id, _ := e.login(time.Hour)
	// Refresh first, so Logout must return the latest token set.
	fresh, err := e.m.ForceRefresh(e.request(cookie), e.prov, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := e.request(cookie)
	l, err := e.m.Logout(ctx)
	if err != nil || l == nil || l.ID != id || l.Token.RefreshToken != fresh.RefreshToken {
		t.Fatalf("Logout = %v, %v (latest token: %v)", l, err, l != nil && l.Token.RefreshToken == fresh.RefreshToken)
	}
	if e.storeHas(cookie) || e.storeHas(recordKey(id)) {
		t.Fatal("the session or the login record survived logout")
	}
	if got, _ := e.m.CurrentLogin(e.request(cookie)); got != nil {
		t.Fatal("the old cookie is still logged in")
	}
	if l, err := e.m.Logout(e.request(cookie)); err != nil || l != nil {
		t.Fatalf("second logout = %v, %v", l, err)
	}
}

func testLoadByLoginID(t *testing.T, sc storeCase) {
	e := newEnv(t, sc)
	cookie, id, tok := e.login(time.Hour)
	ctx, err := e.m.LoadByLoginID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.m.CurrentLogin(ctx)
	if err != nil || l == nil || l.ID != id {
		t.Fatalf("CurrentLogin = %v, %v", l, err)
	}
	if got, err := e.m.Token(ctx, e.prov); err != nil || got.AccessToken != tok.AccessToken {
		t.Fatalf("Token = %v", err)
	}
	// Inside another (cookie) session, the login's session is used.
	other := e.request("")
	ctx, err = e.m.LoadByLoginID(other, id)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := e.m.CurrentLogin(ctx); l == nil || l.ID != id {
		t.Fatal("bearer login not visible inside another session")
	}
	if _, err := e.m.LoadByLoginID(context.Background(), "nope"); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := e.m.Logout(e.request(cookie)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.LoadByLoginID(context.Background(), id); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("after logout: %v, want ErrNotLoggedIn", err)
	}
}

func testOnTokenChange(t *testing.T, sc storeCase) {
	var calls atomic.Int64
	var mu sync.Mutex
	var gotOld, gotNew *provider.Token
	e := newEnv(t, sc, func(c *Config) {
		c.OnTokenChange = func(_ context.Context, _ string, old, new *provider.Token) {
			calls.Add(1)
			mu.Lock()
			gotOld, gotNew = old, new
			mu.Unlock()
		}
	})
	cookie, _, old := e.loginAged(time.Second)
	tok, err := e.m.Token(e.request(cookie), e.prov)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls.Load() != 1 || gotOld.AccessToken != old.AccessToken || gotNew.AccessToken != tok.AccessToken {
		t.Fatalf("OnTokenChange calls=%d", calls.Load())
	}
}

// TestRedisOutage: Redis stops mid-test (a proxy is cut): clear errors
// matching ErrStoreUnavailable, no panic, and the token intact afterwards.
func TestRedisOutage(t *testing.T) {
	addr := servicetest.Env(t, "GATEHOUSE_REDIS_ADDR")
	proxy := newTCPProxy(t, addr)
	sc := storeCases()[1]
	sc.open = proxyRedis(proxy.Addr())
	e := newEnv(t, sc)
	cookie, id, _ := e.login(30 * time.Second)
	loaded := e.request(cookie)
	proxy.cut()

	if _, err := e.sm.Load(context.Background(), cookie); err == nil {
		t.Fatal("load with Redis down succeeded")
	}
	e.clock.Advance(time.Minute) // expired: a refresh is needed
	_, err := e.m.Token(loaded, e.prov)
	if !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("Token with Redis down: %v, want ErrStoreUnavailable", err)
	}
	if _, err := e.m.LoadByLoginID(context.Background(), id); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("LoadByLoginID with Redis down: %v", err)
	}
	if e.prov.refreshes.Load() != 0 {
		t.Fatal("refreshed upstream without being able to store the result")
	}

	proxy.restore()
	ctx := e.request(cookie)
	tok, err := e.m.Token(ctx, e.prov)
	if err != nil {
		t.Fatalf("after Redis is back: %v", err)
	}
	if e.prov.refreshes.Load() != 1 || tok == nil {
		t.Fatal("refresh after recovery did not happen once")
	}
}
