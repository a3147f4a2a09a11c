package entra_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/entra"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// newWithoutRedirectURL builds the provider with no RedirectURL and
// returns it with its WithRedirectURL copy, checking the copy's type and
// that the receiver was not changed.
func newWithoutRedirectURL(t *testing.T, f *fakeEntra, cfg entra.Config) (*entra.Provider, *entra.Provider) {
	t.Helper()
	cfg.ClientID, cfg.ClientSecret, cfg.HTTPClient = clientID, clientSecret, f.client()
	p, err := entra.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New without RedirectURL: %v", err)
	}
	cp, err := p.WithRedirectURL(redirectURL)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := cp.(*entra.Provider)
	if !ok {
		t.Fatalf("WithRedirectURL returned %T, want *entra.Provider", cp)
	}
	if p.RedirectURL() != "" || c.RedirectURL() != redirectURL {
		t.Fatalf("RedirectURL: receiver %q (want empty), copy %q (want %q)", p.RedirectURL(), c.RedirectURL(), redirectURL)
	}
	return p, c
}

// TestWithRedirectURLKeepsTenantChecks: the copy middleware.New uses for a
// provider built without a RedirectURL still refuses a tenant outside
// AllowedTenants and still keeps an email Microsoft does not vouch for out
// of Identity.Email (the embedded oidc provider's copy would let that
// address through); the provider without a RedirectURL sends nothing.
func TestWithRedirectURLKeepsTenantChecks(t *testing.T) {
	t.Parallel()
	t.Run("no RedirectURL", func(t *testing.T) {
		t.Parallel()
		f := newFakeEntra(t, tenantA)
		p, _ := newWithoutRedirectURL(t, f, entra.Config{Tenant: tenantA})
		if got := p.AuthURL(provider.AuthRequest{State: "s", Nonce: "n", CodeChallenge: "c"}); got != "" {
			t.Errorf("AuthURL = %q, want empty", got)
		}
		if _, err := p.ExchangeNonce(context.Background(), "code", "verifier", "n"); !errors.Is(err, oauth2.ErrNoRedirectURL) {
			t.Errorf("ExchangeNonce: err = %v, want oauth2.ErrNoRedirectURL", err)
		}
	})
	t.Run("tenant not admitted", func(t *testing.T) {
		t.Parallel()
		f := newFakeEntra(t, tenantB)
		f.set(tenantB, "", nil)
		_, c := newWithoutRedirectURL(t, f, entra.Config{Tenant: "common", AllowedTenants: []string{tenantA}})
		if _, err := exchange(t, f, c); !refusedTenant(err, "is not in AllowedTenants") || !errors.Is(err, provider.ErrRejected) {
			t.Fatalf("err = %v, want a tenant refusal", err)
		}
	})
	t.Run("unverified email", func(t *testing.T) {
		t.Parallel()
		f := newFakeEntra(t, tenantB)
		f.set(tenantB, "", nil)
		p, c := newWithoutRedirectURL(t, f, entra.Config{Tenant: "common"})
		tok, id := login(t, f, c)
		if id.Email != "" || id.Raw["email"] == nil {
			t.Fatalf("copy: Email = %q (Raw %v), want cleared", id.Email, id.Raw["email"])
		}
		// The hazard the method avoids: the embedded provider's identity
		// has no such rule.
		bare, err := p.Provider.WithRedirectURL(redirectURL)
		if err != nil {
			t.Fatal(err)
		}
		if bid, err := bare.Identity(context.Background(), tok); err != nil || bid.Email == "" {
			t.Fatalf("embedded oidc copy: Email = %v, %v (expected it to lack the email rule)", bid, err)
		}
	})
}
