package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// jwksOutage is a transport that answers the JWKS with 503 while down,
// and counts the JWKS requests that reach it.
type jwksOutage struct {
	next  http.RoundTripper
	down  atomic.Bool
	mu    sync.Mutex
	calls int
}

func (j *jwksOutage) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/jwks") {
		j.mu.Lock()
		j.calls++
		j.mu.Unlock()
		if j.down.Load() {
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
		}
	}
	return j.next.RoundTrip(r)
}

func (j *jwksOutage) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.calls
}

// While the OP's JWKS cannot be fetched, tokens sent to Gatehouse (the
// back-channel logout endpoint takes them from anyone) cause at most one
// JWKS fetch per KeyRefetchInterval: before the first successful fetch,
// and after KeyCacheTTL (when the cached keys keep verifying).
func TestJWKSOutageFetchesAreRateLimited(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		given func(t *testing.T, clk *clock, p *oidc.Provider, tr *jwksOutage, tok string) // state before the outage
		want  bool                                                                         // tokens verify during the outage
	}{
		{"never fetched", func(*testing.T, *clock, *oidc.Provider, *jwksOutage, string) {}, false},
		{"cache past its TTL", func(t *testing.T, clk *clock, p *oidc.Provider, _ *jwksOutage, tok string) {
			if _, err := p.VerifyLogoutToken(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			clk.Advance(oidc.DefaultKeyCacheTTL + time.Second)
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			op := newOP(t, oidctest.Config{Now: clk.Now})
			tr := &jwksOutage{next: op.Client().Transport}
			p := newRP(t, op, func(c *oidc.Config) {
				c.Now = clk.Now
				c.HTTPClient = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			})
			ctx := context.Background()
			claims := op.LogoutClaims(testClientID, "user-1", "")
			claims["exp"] = clk.Now().Add(3 * time.Hour).Unix()
			tok := op.SignJWT(claims)
			tc.given(t, clk, p, tr, tok)
			before := tr.count()
			// when: the JWKS is down and 100 tokens arrive
			tr.down.Store(true)
			for i := 0; i < 100; i++ {
				_, err := p.VerifyLogoutToken(ctx, tok)
				if tc.want && err != nil {
					t.Fatalf("token %d during the outage: %v", i, err)
				}
				if !tc.want && !errors.Is(err, oidc.ErrIDToken) {
					t.Fatalf("token %d during the outage: %v", i, err)
				}
			}
			// expect: one fetch for them all
			if n := tr.count() - before; n != 1 {
				t.Fatalf("JWKS fetches during the outage: %d, want 1", n)
			}
			// and once the interval has passed and the JWKS is back, one
			// more fetch and the token verifies.
			tr.down.Store(false)
			clk.Advance(oidc.DefaultKeyRefetchInterval + time.Second)
			if _, err := p.VerifyLogoutToken(ctx, tok); err != nil {
				t.Fatalf("after the outage: %v", err)
			}
			if n := tr.count() - before; n != 2 {
				t.Fatalf("JWKS fetches after the outage: %d, want 2", n)
			}
		})
	}
}
