package oidc_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// Back-Channel Logout 1.0 §2.6: every rule refuses a token that breaks it.
func TestVerifyLogoutToken(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	p := newRP(t, op, nil)
	edit := func(f func(c map[string]any)) map[string]any {
		c := op.LogoutClaims(testClientID, "user-1", "sid-1")
		f(c)
		return c
	}
	cases := []struct {
		name   string
		given  map[string]any
		when   oidctest.Misbehaviour
		expect bool
	}{
		{"valid sub and sid", op.LogoutClaims(testClientID, "user-1", "sid-1"), oidctest.Misbehaviour{}, true},
		{"valid sid only", op.LogoutClaims(testClientID, "", "sid-1"), oidctest.Misbehaviour{}, true},
		{"valid sub only", op.LogoutClaims(testClientID, "user-1", ""), oidctest.Misbehaviour{}, true},
		{"bad signature", op.LogoutClaims(testClientID, "user-1", ""), oidctest.Misbehaviour{BadSignature: true}, false},
		{"alg none", op.LogoutClaims(testClientID, "user-1", ""), oidctest.Misbehaviour{AlgNone: true}, false},
		{"HS256 with the public key", op.LogoutClaims(testClientID, "user-1", ""), oidctest.Misbehaviour{HS256PublicKey: true}, false},
		{"key outside the JWKS", op.LogoutClaims(testClientID, "user-1", ""), oidctest.Misbehaviour{WrongKey: true}, false},
		{"wrong iss", edit(func(c map[string]any) { c["iss"] = "https://op.evil.example" }), oidctest.Misbehaviour{}, false},
		{"wrong aud", op.LogoutClaims("another-client", "user-1", ""), oidctest.Misbehaviour{}, false},
		{"no iat", edit(func(c map[string]any) { delete(c, "iat") }), oidctest.Misbehaviour{}, false},
		{"no exp", edit(func(c map[string]any) { delete(c, "exp") }), oidctest.Misbehaviour{}, false},
		{"expired", edit(func(c map[string]any) { c["exp"] = c["iat"].(int64) - 60 }), oidctest.Misbehaviour{}, false},
		{"no events", edit(func(c map[string]any) { delete(c, "events") }), oidctest.Misbehaviour{}, false},
		{"events without the logout event", edit(func(c map[string]any) { c["events"] = map[string]any{"other": map[string]any{}} }), oidctest.Misbehaviour{}, false},
		{"logout event not an object", edit(func(c map[string]any) { c["events"] = map[string]any{oidc.EventBackChannelLogout: "yes"} }), oidctest.Misbehaviour{}, false},
		{"nonce present", edit(func(c map[string]any) { c["nonce"] = "n" }), oidctest.Misbehaviour{}, false},
		{"neither sub nor sid", op.LogoutClaims(testClientID, "", ""), oidctest.Misbehaviour{}, false},
		{"no jti", edit(func(c map[string]any) { delete(c, "jti") }), oidctest.Misbehaviour{}, false},
		{"sid not a string", edit(func(c map[string]any) { c["sid"] = 7 }), oidctest.Misbehaviour{}, false},
	}
	for _, tc := range cases {
		op.Misbehave(tc.when)
		raw := op.SignJWT(tc.given)
		op.Misbehave(oidctest.Misbehaviour{})
		c, err := p.VerifyLogoutToken(context.Background(), raw)
		if tc.expect {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if c.TokenID == "" || c.Subject != tc.given["sub"] && tc.given["sub"] != nil || c.Expiry.IsZero() {
				t.Errorf("%s: claims %+v", tc.name, c)
			}
			continue
		}
		if err == nil || !errors.Is(err, oidc.ErrIDToken) {
			t.Errorf("%s: err %v; want ErrIDToken", tc.name, err)
		}
	}
	// An ID token is not a logout token.
	tok, _ := mustLogin(t, p, op)
	if _, err := p.VerifyLogoutToken(context.Background(), tok.Extra[oidc.ExtraIDToken].(string)); err == nil {
		t.Error("an ID token passed as a logout token")
	}
}

func TestEndSessionURL(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	p := newRP(t, op, nil)
	tok, _ := mustLogin(t, p, op)
	u, err := url.Parse(p.EndSessionURL(tok, "st-123"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if !strings.HasPrefix(u.String(), op.Issuer+"/end_session?") || q.Get("id_token_hint") != tok.Extra[oidc.ExtraIDToken] ||
		q.Get("client_id") != testClientID || q.Get("post_logout_redirect_uri") != testPostLogout || q.Get("state") != "st-123" {
		t.Fatalf("EndSessionURL %s", u)
	}
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, testClientSecret} {
		if strings.Contains(u.String(), secret) {
			t.Fatal("the end-session URL carries a secret")
		}
	}
	noES := newRP(t, newOP(t, oidctest.Config{NoEndSession: true}), nil)
	if got := noES.EndSessionURL(tok, "s"); got != "" {
		t.Fatalf("without end_session_endpoint: %q", got)
	}
	noReturn := newRP(t, op, func(c *oidc.Config) { c.PostLogoutRedirectURL = "" })
	if q := mustQuery(t, noReturn.EndSessionURL(tok, "s")); q.Has("state") || q.Has("post_logout_redirect_uri") {
		t.Fatalf("without PostLogoutRedirectURL: %v", q)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
