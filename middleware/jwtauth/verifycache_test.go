package jwtauth

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestVerifyCachedToken: a token verified twice is remembered, but every
// Verify still checks its times against the clock, a different token
// (even one differing only in its signature) is verified in full, and each
// caller gets its own copy of the claims.
func TestVerifyCachedToken(t *testing.T) {
	t.Parallel()
	const lifetime, leeway = 10 * time.Minute, 30 * time.Second
	tests := []struct {
		name         string
		givenToken   func(good string) string
		whenClock    time.Duration // from the mint, after the first (cached) Verify
		expectReason string        // "" = accepted
	}{
		{"again within its lifetime", func(g string) string { return g }, lifetime - time.Second, ""},
		{"again within the leeway after exp", func(g string) string { return g }, lifetime + leeway - time.Second, ""},
		{"again past exp and the leeway", func(g string) string { return g }, lifetime + leeway, "expired"},
		{"again with the clock before iat and the leeway", func(g string) string { return g }, -leeway - time.Second, "issued in the future"},
		{"tampered signature of a cached token", flipSig, 0, "bad signature or algorithm"},
	}
	for _, alg := range []Algorithm{EdDSA, ES256, HS256} {
		for _, tc := range tests {
			t.Run(string(alg)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				var offset atomic.Int64
				a := newTestAuthority(t, alg, func(c *Config) {
					c.Lifetime, c.Leeway = lifetime, leeway
					c.Now = func() time.Time { return t0.Add(time.Duration(offset.Load())) }
				})
				good, _, err := a.Mint("user-1", "session-1", "whisk", []string{"read"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := a.Verify("Bearer " + good); err != nil {
					t.Fatal(err)
				}
				first, err := a.Verify("Bearer " + good) // the second: cached from here
				if err != nil {
					t.Fatal(err)
				}
				// The caller owns its claims: changing them changes
				// nothing for the next caller.
				first.Subject = "mallory"
				first.ExpiresAt.Time = first.ExpiresAt.Add(time.Hour)
				first.Audience[0] = "them"

				offset.Store(int64(tc.whenClock))
				c, err := a.Verify("Bearer " + tc.givenToken(good))
				if tc.expectReason != "" {
					var ite InvalidTokenError
					if !errors.As(err, &ite) || ite.Reason != tc.expectReason {
						t.Fatalf("Verify: %v (%+v), want reason %q", err, ite, tc.expectReason)
					}
					return
				}
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c == first || c.Subject != "user-1" || c.Audience[0] != testAud || !c.ExpiresAt.Equal(t0.Add(lifetime)) {
					t.Fatalf("cached claims %+v (first %p, this %p)", c, first, c)
				}
				c.Subject, c.Audience[0] = "mallory", "them"
				c.IssuedAt.Time = c.IssuedAt.Add(time.Hour)
				again, err := a.Verify("Bearer " + good)
				if err != nil || again == c || again.Subject != "user-1" || again.Audience[0] != testAud || !again.IssuedAt.Equal(t0) {
					t.Fatalf("third Verify: %+v, %v: a cached copy was changed through an earlier result", again, err)
				}
			})
		}
	}
}

// TestVerifiedCacheAdmission: a token is kept from its second
// verification on, so tokens sent once each fill nothing, and the cache
// stays within its bound however many tokens come twice.
func TestVerifiedCacheAdmission(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, HS256, nil)
	mint := func() string {
		tok, _, err := a.Mint("user-1", "session-1", "whisk", nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	verify := func(tok string) {
		if _, err := a.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	cached := func() int {
		a.verified.mu.Lock()
		defer a.verified.mu.Unlock()
		return len(a.verified.entries)
	}

	tok := mint()
	verify(tok)
	if a.verified.get(tok) != nil {
		t.Fatal("a token verified once is cached")
	}
	verify(tok)
	if a.verified.get(tok) == nil {
		t.Fatal("a token verified twice is not cached")
	}
	before := cached()
	for range 2 * verifiedCacheSize {
		verify(mint())
	}
	if n := cached(); n != before {
		t.Fatalf("tokens sent once each: cache went from %d to %d entries", before, n)
	}
	for range verifiedCacheSize + 100 {
		tok := mint()
		verify(tok)
		verify(tok)
	}
	if n := cached(); n != verifiedCacheSize {
		t.Fatalf("cache holds %d entries, want its bound %d", n, verifiedCacheSize)
	}
}
