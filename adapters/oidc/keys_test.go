package oidc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// Tokens naming keys the cache does not hold cause at most one JWKS
// refetch per KeyRefetchInterval, however many arrive.
func TestJWKSRefetchIsRateLimited(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newOP(t, oidctest.Config{Now: clk.Now})
	p := newRP(t, op, func(c *oidc.Config) { c.Now = clk.Now })
	ctx := context.Background()
	good := op.SignJWT(op.LogoutClaims(testClientID, "user-1", ""))
	if _, err := p.VerifyLogoutToken(ctx, good); err != nil {
		t.Fatal(err)
	}
	if n := op.Calls(oidctest.EndpointJWKS); n != 1 {
		t.Fatalf("JWKS fetches %d, want 1", n)
	}
	// Junk: tokens whose kid is unknown (signed by a key the OP then
	// withdraws from its JWKS).
	op.RotateKey()
	junk := op.SignJWT(op.LogoutClaims(testClientID, "user-1", ""))
	op.RotateKey()
	op.RetireKeys()
	for i := 0; i < 200; i++ {
		if _, err := p.VerifyLogoutToken(ctx, junk); !errors.Is(err, oidc.ErrIDToken) {
			t.Fatalf("junk token: %v", err)
		}
	}
	if n := op.Calls(oidctest.EndpointJWKS); n != 2 {
		t.Fatalf("JWKS fetches %d after 200 junk tokens, want 2", n)
	}
	// A token from a key published after that refetch is refused within
	// the interval (no refetch), and verifies once it has passed.
	op.RotateKey()
	fresh := op.SignJWT(op.LogoutClaims(testClientID, "user-1", ""))
	clk.Advance(oidc.DefaultKeyRefetchInterval - time.Second)
	if _, err := p.VerifyLogoutToken(ctx, fresh); err == nil {
		t.Fatal("verified without a refetch")
	}
	clk.Advance(2 * time.Second)
	if _, err := p.VerifyLogoutToken(ctx, fresh); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	if n := op.Calls(oidctest.EndpointJWKS); n != 3 {
		t.Fatalf("JWKS fetches %d, want 3", n)
	}
}

// The cached JWKS is fetched again after KeyCacheTTL, so a key the OP
// withdrew stops verifying.
func TestJWKSCacheExpires(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newOP(t, oidctest.Config{Now: clk.Now})
	p := newRP(t, op, func(c *oidc.Config) { c.Now = clk.Now })
	ctx := context.Background()
	old := op.SignJWT(op.LogoutClaims(testClientID, "user-1", ""))
	if _, err := p.VerifyLogoutToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	op.RotateKey()
	op.RetireKeys()
	if _, err := p.VerifyLogoutToken(ctx, op.SignJWT(op.LogoutClaims(testClientID, "user-1", ""))); err != nil {
		t.Fatal(err) // unknown kid: refetched
	}
	clk.Advance(oidc.DefaultKeyCacheTTL + time.Second)
	old = op.SignJWT(op.LogoutClaims(testClientID, "user-1", "")) // current key, fresh claims
	if _, err := p.VerifyLogoutToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	if n := op.Calls(oidctest.EndpointJWKS); n != 3 {
		t.Fatalf("JWKS fetches %d, want 3 (first use, unknown kid, TTL)", n)
	}
}
