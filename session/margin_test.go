package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestRefreshMarginCappedByLifetime: the refresh margin (Leeway plus its
// jitter) never exceeds a third of the lifetime the upstream gave the
// token, so a fresh token is never due, whatever Leeway says; long-lived
// tokens keep the configured Leeway (item 28's boundary).
func TestRefreshMarginCappedByLifetime(t *testing.T) {
	t.Parallel()
	obtained := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name string
		// given
		leeway, jitter time.Duration
		life           time.Duration // Expiry − obtained
		// when: the check runs at obtained+at
		at time.Duration
		// expect
		due bool
	}{
		{"8s token fresh, default leeway: not due", 60 * time.Second, 6 * time.Second, 8 * time.Second, 0, false},
		{"8s token after 1s: not due", 60 * time.Second, 6 * time.Second, 8 * time.Second, time.Second, false},
		{"8s token at 2/3 of its life minus 1ms: not due", 60 * time.Second, 6 * time.Second, 8 * time.Second, 8*time.Second*2/3 - time.Millisecond, false},
		{"8s token 2.4s before expiry: due (below the scaled floor)", 60 * time.Second, 6 * time.Second, 8 * time.Second, 5600 * time.Millisecond, true},
		{"8s token expired: due", 60 * time.Second, 6 * time.Second, 8 * time.Second, 9 * time.Second, true},
		{"1s token fresh: not due", 60 * time.Second, 6 * time.Second, time.Second, 0, false},
		{"1s token at 0.7s: due", 60 * time.Second, 6 * time.Second, time.Second, 700 * time.Millisecond, true},
		{"60s token (leeway equal to its life) fresh: not due", 60 * time.Second, 6 * time.Second, time.Minute, 0, false},
		{"60s token after 39s: not due", 60 * time.Second, 6 * time.Second, time.Minute, 39 * time.Second, false},
		{"60s token after 42s: due", 60 * time.Second, 6 * time.Second, time.Minute, 42 * time.Second, true},
		{"1h token at exp-leeway-jitter-1s: not due", 60 * time.Second, 6 * time.Second, time.Hour, time.Hour - 67*time.Second, false},
		{"1h token at exp-leeway+1s: due", 60 * time.Second, 6 * time.Second, time.Hour, time.Hour - 59*time.Second, true},
		{"no jitter, 3m token at exp-leeway+1s: due (cap equals leeway)", 60 * time.Second, -1, 3 * time.Minute, 2*time.Minute + time.Second, true},
		{"no jitter, 3m token at exp-leeway-1s: not due", 60 * time.Second, -1, 3 * time.Minute, 2*time.Minute - time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMarginManager(t, tc.leeway, tc.jitter)
			tok := &provider.Token{AccessToken: "at", Expiry: obtained.Add(tc.life)}
			for i := range 50 { // every login's jitter
				id := fmt.Sprintf("login-%d", i)
				if got := m.needsRefresh(id, tok, obtained, obtained.Add(tc.at)); got != tc.due {
					t.Fatalf("login %s: needsRefresh = %v, want %v (margin %v)", id, got, tc.due, m.refreshMargin(id, tok, obtained))
				}
			}
		})
	}
}

// TestRefreshMarginBounds: for lifetimes from 1 s to a day and many
// logins, the margin is at most a third of the lifetime, at least the
// scaled floor, and logins still spread over a jitter window.
func TestRefreshMarginBounds(t *testing.T) {
	t.Parallel()
	m := newMarginManager(t, 0, 0) // defaults: Leeway 60 s, Jitter 6 s
	obtained := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, life := range []time.Duration{time.Second, 8 * time.Second, 30 * time.Second, time.Minute, 3 * time.Minute, 198 * time.Second, time.Hour, 24 * time.Hour} {
		tok := &provider.Token{AccessToken: "at", Expiry: obtained.Add(life)}
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for i := range 500 {
			d := m.refreshMargin(fmt.Sprintf("login-%d", i), tok, obtained)
			lo, hi = min(lo, d), max(hi, d)
		}
		limit := min(66*time.Second, life/marginDivisor)
		floor := min(60*time.Second, time.Duration(float64(life/marginDivisor)*60/66))
		if hi > limit || lo < floor-time.Nanosecond {
			t.Errorf("life %v: margins in [%v, %v], want within [%v, %v]", life, lo, hi, floor, limit)
		}
		if hi-lo < (limit-floor)/2 {
			t.Errorf("life %v: margins in [%v, %v]: the jitter no longer spreads logins", life, lo, hi)
		}
	}
	// Unknown lifetime (no receipt time, or a token that arrived expired):
	// the configured margin, uncapped.
	tok := &provider.Token{AccessToken: "at", Expiry: obtained.Add(8 * time.Second)}
	if d := m.refreshMargin("x", tok, time.Time{}); d < 60*time.Second {
		t.Errorf("unknown receipt time: margin %v, want the configured ≥ 60s", d)
	}
	if d := m.refreshMargin("x", tok, obtained.Add(time.Minute)); d < 60*time.Second {
		t.Errorf("receipt after expiry: margin %v, want the configured ≥ 60s", d)
	}
}

func newMarginManager(t *testing.T, leeway, jitter time.Duration) *Manager {
	t.Helper()
	m, err := New(Config{Leeway: leeway, Jitter: jitter, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestShortTokenOneRefreshPerExpiry (F18 at the session layer): 8 s
// tokens, the default Leeway and Jitter, 50 concurrent Token calls at each
// moment of a token's life and five expiries → exactly one refresh per
// expiry, and every token handed out after a refresh is the new one. A
// Token call on the request that just refreshed does not refresh again.
func TestShortTokenOneRefreshPerExpiry(t *testing.T) {
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sc, func(c *Config) { c.Jitter = 0 }) // 0: the default jitter
			e.prov.ttl = 8 * time.Second
			e.prov.strict = true
			cookie, _, first := e.login(8 * time.Second)

			// Fresh token: never due, however many ask.
			toks, errs := hammer(t, []*env{e}, cookie, 50)
			checkAll(t, toks, errs, first.AccessToken)
			if n := e.prov.refreshes.Load(); n != 0 {
				t.Fatalf("fresh 8s token: %d refreshes, want 0", n)
			}

			cur := first.AccessToken
			for exp := 1; exp <= 5; exp++ {
				// Walk through the token's life in 500 ms steps, 50
				// concurrent requests at each; the expiry itself included.
				refreshedAt := -1
				for step := 1; step <= 16; step++ {
					e.clock.Advance(500 * time.Millisecond)
					before := e.prov.refreshes.Load()
					toks, errs := hammer(t, []*env{e}, cookie, 50)
					if e.prov.refreshes.Load() != before {
						if refreshedAt >= 0 {
							t.Fatalf("expiry %d: a second refresh at step %d (first at step %d)", exp, step, refreshedAt)
						}
						refreshedAt = step
						if errs[0] == nil {
							cur = toks[0].AccessToken
						}
					}
					checkAll(t, toks, errs, cur)
					if refreshedAt >= 0 {
						break
					}
				}
				if refreshedAt < 0 {
					t.Fatalf("expiry %d: no refresh within the token's life", exp)
				}
				// Due at 2/3 of the life at the earliest, before expiry.
				if at := time.Duration(refreshedAt) * 500 * time.Millisecond; at < 8*time.Second*2/3 || at > 8*time.Second {
					t.Fatalf("expiry %d: refreshed %v after receipt, want within [5.33s, 8s]", exp, at)
				}
				if n := e.prov.refreshes.Load(); n != int64(exp) {
					t.Fatalf("after expiry %d: %d refreshes, want %d", exp, n, exp)
				}
			}
			if e.prov.revoked {
				t.Fatal("a refresh token was replayed: the family was revoked")
			}
		})
	}
}

// TestTokenTwiceInOneRequestRefreshesOnce: the request that refreshed
// (Require's call) asks again (the upstream client's call) and gets the
// token it just obtained, with no second refresh — for a token shorter
// than Leeway too.
func TestTokenTwiceInOneRequestRefreshesOnce(t *testing.T) {
	t.Parallel()
	for _, life := range []time.Duration{time.Second, 8 * time.Second, 30 * time.Second, time.Hour} {
		t.Run(life.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storeCases()[0], func(c *Config) { c.Jitter = 0 })
			e.prov.ttl = life
			cookie, _, old := e.login(life)
			e.clock.Advance(life) // expired: the first call must refresh
			ctx := e.request(cookie)
			a, err := e.m.Token(ctx, e.prov)
			if err != nil || a.AccessToken == old.AccessToken {
				t.Fatalf("first call: %v (refreshed: %v)", err, err == nil && a.AccessToken != old.AccessToken)
			}
			b, err := e.m.Token(ctx, e.prov)
			if err != nil || b.AccessToken != a.AccessToken {
				t.Fatalf("second call: %v (same token: %v)", err, err == nil && b.AccessToken == a.AccessToken)
			}
			// A later request of the same session, at once: no refresh either.
			c, err := e.m.Token(e.request(e.commit(ctx)), e.prov)
			if err != nil || c.AccessToken != a.AccessToken {
				t.Fatalf("next request: %v", err)
			}
			if n := e.prov.refreshes.Load(); n != 1 {
				t.Fatalf("%d refreshes, want 1", n)
			}
		})
	}
}

func checkAll(t *testing.T, toks []*provider.Token, errs []error, want string) {
	t.Helper()
	for i := range toks {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if toks[i].AccessToken != want {
			t.Fatalf("call %d got another token than the current one", i)
		}
	}
}
