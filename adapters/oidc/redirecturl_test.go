package oidc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestWithRedirectURL: a relying party built without a RedirectURL sends
// no authorization request and no code exchange; its WithRedirectURL copy
// logs in against the OP (which compares the token request's redirect_uri
// with the authorization request's byte for byte), keeps every other
// setting (PostLogoutRedirectURL, issuer) and leaves the receiver as it was.
func TestWithRedirectURL(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	p := newRP(t, op, func(c *oidc.Config) { c.RedirectURL = "" })
	if got := p.AuthURL(provider.AuthRequest{State: "s", Nonce: "n", CodeChallenge: "c"}); got != "" {
		t.Errorf("AuthURL without RedirectURL = %q, want empty", got)
	}
	if _, err := p.ExchangeNonce(context.Background(), "code", "verifier", "n"); !errors.Is(err, oauth2.ErrNoRedirectURL) {
		t.Errorf("ExchangeNonce without RedirectURL: err = %v, want oauth2.ErrNoRedirectURL", err)
	}
	cp, err := p.WithRedirectURL(testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := cp.(*oidc.Provider)
	if !ok {
		t.Fatalf("WithRedirectURL returned %T, want *oidc.Provider", cp)
	}
	if p.RedirectURL() != "" || c.RedirectURL() != testRedirect || c.Config().RedirectURL != testRedirect {
		t.Fatalf("RedirectURL: receiver %q (want empty), copy %q", p.RedirectURL(), c.RedirectURL())
	}
	if c.PostLogoutRedirectURL() != testPostLogout || c.Name() != p.Name() {
		t.Errorf("copy: PostLogoutRedirectURL %q, Name %q", c.PostLogoutRedirectURL(), c.Name())
	}
	if iss, _ := c.Issuer(); iss != op.Issuer {
		t.Errorf("copy's issuer = %q, want %q", iss, op.Issuer)
	}
	mustLogin(t, c, op)
	if _, err := p.WithRedirectURL("http://app.example/auth/oidc/callback"); !errors.Is(err, oidc.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
		t.Errorf("WithRedirectURL(http off loopback): err = %v, want oidc.ErrConfig", err)
	}
}
