package e2e

// Fault plan F1, F3, F10, F12, F13: refresh under concurrency, rotation,
// a dead refresh token, a failing save, and clock skew.

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
)

// F1: 200 concurrent requests, one session, access token expired, refresh
// takes 500 ms → exactly 1 refresh call; all 200 succeed with the new
// token; p99 added latency ≤ refresh latency + 100 ms.
func TestF1_ConcurrentRequestsShareOneRefresh(t *testing.T) {
	fpBaseline(t)
	f := newFPFixture(t, fpOptions{})
	c := f.browser()
	oldFP := f.login(c, 0)

	// Baseline: what a request costs when nothing refreshes, connections
	// already open (the first burst opens them).
	fpBurst(200, func(int) fpResp { return fpDo(c, http.MethodGet, f.url(0)+"/me", true, nil) })
	var base []time.Duration
	for _, r := range fpBurst(200, func(int) fpResp { return fpDo(c, http.MethodGet, f.url(0)+"/me", true, nil) }) {
		if r.status != http.StatusOK {
			t.Fatalf("baseline request: %d %v", r.status, r.err)
		}
		base = append(base, r.took)
	}

	const refreshLatency = 500 * time.Millisecond
	f.as.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{Delay: refreshLatency})
	f.clock.Advance(fpTTL + time.Minute) // expired
	rs := fpBurst(200, func(int) fpResp { return fpDo(c, http.MethodGet, f.url(0)+"/me", true, nil) })

	var took []time.Duration
	fps := map[string]int{}
	for _, r := range rs {
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("request during refresh: %d %v %s", r.status, r.err, r.body)
		}
		fps[r.json(t)["fp"].(string)]++
		took = append(took, r.took)
	}
	refreshes, _, invalid, _ := f.stats.counts()
	if n := f.as.Calls(oauth2test.EndpointRefresh); n != 1 || refreshes != 1 || invalid != 0 {
		t.Fatalf("refresh calls at the AS %d, by Gatehouse %d (invalid_grant %d); want exactly 1", n, refreshes, invalid)
	}
	if len(fps) != 1 || fps[oldFP] != 0 {
		t.Fatalf("access tokens served %v (old %s): want all 200 on the one new token", fps, oldFP)
	}
	added := fpPercentile(took, 99) - fpPercentile(base, 50)
	t.Logf("F1: 1 refresh; p99 latency %v, baseline p50 %v p99 %v → added %v", fpPercentile(took, 99), fpPercentile(base, 50), fpPercentile(base, 99), added)
	fpLatencyFigure(t, "p99 added latency", added, refreshLatency+100*time.Millisecond)
}

// F3: the AS rotates refresh tokens and revokes the family on reuse; 100
// concurrent requests × 10 expiry cycles → 0 invalid_grant, 0 family
// revocations, 10 refresh calls.
func TestF3_RotationAcrossExpiryCycles(t *testing.T) {
	fpBaseline(t)
	f := newFPFixture(t, fpOptions{})
	c := f.browser()
	seen := map[string]bool{f.login(c, 0): true}
	for cycle := 1; cycle <= 10; cycle++ {
		f.clock.Advance(fpTTL + time.Second)
		rs := fpBurst(100, func(int) fpResp { return fpDo(c, http.MethodGet, f.url(0)+"/me", true, nil) })
		fps := map[string]bool{}
		for _, r := range rs {
			if r.err != nil || r.status != http.StatusOK {
				t.Fatalf("cycle %d: %d %v %s", cycle, r.status, r.err, r.body)
			}
			fps[r.json(t)["fp"].(string)] = true
		}
		if len(fps) != 1 {
			t.Fatalf("cycle %d: %d different access tokens served, want 1", cycle, len(fps))
		}
		for fp := range fps {
			if seen[fp] {
				t.Fatalf("cycle %d: served an old access token", cycle)
			}
			seen[fp] = true
		}
	}
	refreshes, failures, invalid, _ := f.stats.counts()
	if n := f.as.Calls(oauth2test.EndpointRefresh); n != 10 || refreshes != 10 || failures != 0 || invalid != 0 {
		t.Fatalf("refresh calls %d (Gatehouse %d, failed %d, invalid_grant %d); want 10, 0, 0", n, refreshes, failures, invalid)
	}
	// 0 family revocations: a revoked family takes its newest tokens with
	// it, so the last pair must still be live at the AS.
	last := f.stats.lastIssued()
	if _, ok := f.as.LookupRefreshToken(last.RefreshToken); !ok {
		t.Fatal("the newest refresh token is dead: the token family was revoked")
	}
	if _, ok := f.as.LookupAccessToken(last.AccessToken); !ok {
		t.Fatal("the newest access token is dead: the token family was revoked")
	}
	// Every refresh presented a different refresh token, each once.
	for _, r := range f.as.Requests(oauth2test.EndpointRefresh) {
		if n := f.stats.attempts(r.Params.Get("refresh_token")); n != 1 {
			t.Fatalf("a refresh token was presented %d times", n)
		}
	}
}

// F10: invalid_grant on refresh → 1 call; tokens cleared; the next request
// makes 0 upstream calls; browsers get 302 to login with return-to kept,
// APIs get 401.
func TestF10_InvalidGrantEndsTheLogin(t *testing.T) {
	fpBaseline(t)
	f := newFPFixture(t, fpOptions{})
	browser, api := f.browser(), f.browser()
	f.login(browser, 0)
	f.login(api, 0)
	f.as.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{OAuthError: "invalid_grant", Times: 2})
	f.clock.Advance(fpTTL + time.Minute)
	f.as.ResetCalls()

	r := fpDo(browser, http.MethodGet, f.url(0)+"/me?tab=2", false, nil)
	// Sent to sign in again with the return path kept, through the sign-in
	// page, which says once why (the provider ended the login).
	wantLoc := "/auth/login?return_to=" + url.QueryEscape("/me?tab=2") + "&notice=reauth_required"
	if r.status != http.StatusFound || r.header.Get("Location") != wantLoc {
		t.Fatalf("browser after invalid_grant: %d Location %q, want 302 %q", r.status, r.header.Get("Location"), wantLoc)
	}
	if n := f.as.Calls(oauth2test.EndpointRefresh); n != 1 {
		t.Fatalf("refresh calls %d, want 1", n)
	}
	r = fpDo(api, http.MethodGet, f.url(0)+"/me", true, nil)
	if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("API after invalid_grant: %d WWW-Authenticate %q, want 401 Bearer", r.status, r.header.Get("WWW-Authenticate"))
	}
	if n := f.as.Calls(oauth2test.EndpointRefresh); n != 2 {
		t.Fatalf("refresh calls %d, want 2 (one per session)", n)
	}

	// Tokens cleared, no retry loop: the next requests ask the AS nothing.
	f.as.ResetCalls()
	for range 3 {
		if r := fpDo(browser, http.MethodGet, f.url(0)+"/me", false, nil); r.status != http.StatusFound {
			t.Fatalf("browser again: %d, want 302 to login", r.status)
		}
		if r := fpDo(api, http.MethodGet, f.url(0)+"/me", true, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("API again: %d, want 401", r.status)
		}
	}
	f.clock.Advance(time.Hour)
	if r := fpDo(api, http.MethodGet, f.url(0)+"/opt", true, nil); r.status != http.StatusOK {
		t.Fatalf("optional route after the login ended: %d", r.status)
	}
	if calls := f.as.Requests(""); len(calls) != 0 {
		t.Fatalf("%d upstream calls after the login ended, want 0", len(calls))
	}
	if f.reached.Load() != 2 { // the two /me of the logins
		t.Fatalf("/me handler reached %d times, want 2", f.reached.Load())
	}
}

// fpFlakyStore fails commits of Gatehouse's login records (the
// refresh's save) while armed; sessions themselves save fine.
type fpFlakyStore struct {
	scs.Store
	fail    atomic.Int64 // commits of login records still to fail
	failed  atomic.Int64
	commits atomic.Int64
}

func (s *fpFlakyStore) Commit(token string, b []byte, expiry time.Time) error {
	if strings.HasPrefix(token, "gatehouse:login:") {
		s.commits.Add(1)
		if s.fail.Add(-1) >= 0 {
			s.failed.Add(1)
			return errInjectedStore
		}
		s.fail.Store(0)
	}
	return s.Store.Commit(token, b, expiry)
}

var errInjectedStore = &storeError{"injected store failure"}

type storeError struct{ s string }

func (e *storeError) Error() string { return e.s }

// F12: refresh succeeds but saving the session fails once (rotated RT) →
// the save is retried (≤ 3 attempts, ≤ 1 s in total) and the session keeps
// the new RT. If every attempt fails: 503, a metric is incremented, and the
// new RT is not sent to the browser.
func TestF12_SaveFailsAfterRefresh(t *testing.T) {
	fpBaseline(t)
	store := &fpFlakyStore{Store: memstore.NewWithCleanupInterval(0)}
	f := newFPFixture(t, fpOptions{store: func(int) scs.Store { return store }})
	c := f.browser()
	f.login(c, 0)

	t.Run("fails once", func(t *testing.T) {
		store.commits.Store(0)
		store.fail.Store(1)
		f.clock.Advance(fpTTL + time.Minute)
		r := fpDo(c, http.MethodGet, f.url(0)+"/me", true, nil)
		if r.status != http.StatusOK {
			t.Fatalf("after one failed save: %d %s", r.status, r.body)
		}
		if store.failed.Load() != 1 || store.commits.Load() != 2 {
			t.Fatalf("record commits %d (failed %d), want 2 (1)", store.commits.Load(), store.failed.Load())
		}
		if r.took > time.Second {
			t.Fatalf("request with a retried save took %v, want ≤ 1 s", r.took)
		}
		// The session kept the rotated RT: the next refresh presents it
		// (the AS revokes the family on reuse of the old one).
		f.clock.Advance(fpTTL + time.Minute)
		if r := fpDo(c, http.MethodGet, f.url(0)+"/me", true, nil); r.status != http.StatusOK {
			t.Fatalf("next refresh: %d %s", r.status, r.body)
		}
		if refreshes, failures, _, _ := f.stats.counts(); refreshes != 2 || failures != 0 {
			t.Fatalf("refreshes %d failed %d, want 2 and 0", refreshes, failures)
		}
	})

	t.Run("fails every time", func(t *testing.T) {
		leaks := harness.NewLeakScanner()
		store.commits.Store(0)
		store.fail.Store(1 << 20)
		f.logs.Reset()
		f.clock.Advance(fpTTL + time.Minute)
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, f.url(0)+"/me", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		took := time.Since(start)
		store.fail.Store(0)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("every save failing: %d %s, want 503", resp.StatusCode, body)
		}
		if n := store.commits.Load(); n != 3 {
			t.Fatalf("%d save attempts, want 3", n)
		}
		if took > time.Second+200*time.Millisecond {
			t.Fatalf("request took %v: retries must stay within about 1 s", took)
		}
		// The "metric": one error record for the lost token set.
		n := 0
		for _, m := range f.logs.Messages() {
			if strings.Contains(m, "could not be stored") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d 'could not be stored' errors logged, want 1", n)
		}
		fresh := f.stats.lastIssued()
		leaks.Plant("new refresh token", fresh.RefreshToken)
		leaks.Plant("new access token", fresh.AccessToken)
		leaks.ScanResponse(resp, []byte(body))
		for _, ck := range c.Jar.Cookies(mustURL(t, f.url(0))) {
			leaks.ScanString("cookie "+ck.Name, ck.Value)
		}
		leaks.ScanLogs(f.logs)
		leaks.AssertNone(t)
	})
}

// F13: host clock ±5 min against the provider → refresh timing unaffected
// (computed from local receipt time); JWT leeway of 60 s accepts ±59 s and
// rejects ±61 s; the login attempt's TTL is measured on the host's clock.
func TestF13_ClockSkew(t *testing.T) {
	fpBaseline(t)
	for _, skew := range []time.Duration{5 * time.Minute, -5 * time.Minute} {
		t.Run("provider "+skew.String(), func(t *testing.T) {
			asClock := oauth2test.NewClock(fpEpoch.Add(skew))
			f := newFPFixture(t, fpOptions{asClock: asClock})
			advance := func(d time.Duration) { f.clock.Advance(d); asClock.Advance(d) }
			c := f.browser()
			received := f.clock.Now()
			f.login(c, 0)
			me := fpDo(c, http.MethodGet, f.url(0)+"/me", true, nil).json(t)
			if exp := time.Unix(int64(me["exp"].(float64)), 0); !exp.Equal(received.Add(fpTTL)) {
				t.Fatalf("expiry %v, want local receipt time + expires_in = %v", exp, received.Add(fpTTL))
			}
			// Default leeway 60 s plus up to 6 s of jitter: 67 s before
			// expiry nothing refreshes, 59 s before it does.
			advance(fpTTL - 67*time.Second)
			if r := fpDo(c, http.MethodGet, f.url(0)+"/me", true, nil); r.status != http.StatusOK || f.as.Calls(oauth2test.EndpointRefresh) != 0 {
				t.Fatalf("67 s before expiry: %d, %d refreshes; want 200 and none", r.status, f.as.Calls(oauth2test.EndpointRefresh))
			}
			advance(8 * time.Second)
			if r := fpDo(c, http.MethodGet, f.url(0)+"/me", true, nil); r.status != http.StatusOK || f.as.Calls(oauth2test.EndpointRefresh) != 1 {
				t.Fatalf("59 s before expiry: %d, %d refreshes; want 200 and 1", r.status, f.as.Calls(oauth2test.EndpointRefresh))
			}

			// Login attempts live AttemptTTL (10 min) on the host clock,
			// whatever the provider's clock says.
			for _, tc := range []struct {
				wait time.Duration
				want int
			}{{9 * time.Minute, http.StatusSeeOther}, {11 * time.Minute, http.StatusBadRequest}} {
				b := f.browser()
				start := fpDo(b, http.MethodGet, f.url(0)+"/auth/"+fpProvider+"/login", false, nil)
				cb, err := f.as.Authorize(t.Context(), start.header.Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				f.clock.Advance(tc.wait) // host only; the code's own TTL is the AS's
				if r := fpDo(b, http.MethodGet, cb.String(), false, nil); r.status != tc.want {
					t.Fatalf("callback %v after login start: %d, want %d (%s)", tc.wait, r.status, tc.want, r.body)
				}
				asClock.Advance(tc.wait)
			}
		})
	}

	t.Run("JWT leeway 60s", func(t *testing.T) {
		var now atomic.Pointer[time.Time]
		set := func(t time.Time) { now.Store(&t) }
		set(fpEpoch)
		key, err := jwtauth.GenerateKey("")
		if err != nil {
			t.Fatal(err)
		}
		a, err := jwtauth.New(jwtauth.Config{Issuer: "https://app.example", Audience: "app", Leeway: 60 * time.Second, Keys: []jwtauth.Key{key},
			Lifetime: 5 * time.Minute, Now: func() time.Time { return *now.Load() }})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := a.Mint("user-1", "sid-1", fpProvider, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			at time.Time
			ok bool
		}{
			{fpEpoch.Add(-59 * time.Second), true}, // verifier 59 s behind the minter: iat/nbf in the future
			{fpEpoch.Add(-61 * time.Second), false},
			{fpEpoch.Add(5*time.Minute + 59*time.Second), true}, // 59 s past exp
			{fpEpoch.Add(5*time.Minute + 61*time.Second), false},
		} {
			set(tc.at)
			_, err := a.Verify("Bearer " + tok)
			if (err == nil) != tc.ok {
				t.Errorf("verify at mint%+v: err %v, want ok=%v", tc.at.Sub(fpEpoch), err, tc.ok)
			}
		}
	})
}
