package oidc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func TestAuthURL(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	p := newRP(t, op, func(c *oidc.Config) { c.Scopes = []string{"email"} })
	q := mustQuery(t, p.AuthURL(provider.AuthRequest{State: "st", CodeChallenge: "ch", Nonce: "nn", Scopes: []string{"admin"}}))
	if q.Get("nonce") != "nn" || q.Get("scope") != "openid admin" || q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" {
		t.Fatalf("auth URL query %v", q)
	}
	q = mustQuery(t, p.AuthURL(provider.AuthRequest{State: "st"}))
	if q.Get("scope") != "openid email" || q.Has("nonce") {
		t.Fatalf("default scopes: %v", q)
	}
	if got := newRP(t, op, nil).Config().Scopes; strings.Join(got, " ") != "openid profile email" {
		t.Fatalf("default scopes %v", got)
	}
}

func TestAuthMethod(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		supported []string
		secret    string
		given     oidc.AuthMethod
		expect    oidc.AuthMethod // "" means New fails
	}{
		{"basic preferred", nil, "s", "", oidc.AuthClientSecretBasic},
		{"post when basic is not offered", []string{"client_secret_post", "private_key_jwt"}, "s", "", oidc.AuthClientSecretPost},
		{"public client", nil, "", "", oidc.AuthNone},
		{"nothing we can do", []string{"private_key_jwt"}, "s", "", ""},
		{"explicit post", nil, "s", oidc.AuthClientSecretPost, oidc.AuthClientSecretPost},
		{"basic without secret", nil, "", oidc.AuthClientSecretBasic, ""},
		{"none with a secret", nil, "s", oidc.AuthNone, ""},
		{"unknown", nil, "s", "private_key_jwt", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, oidctest.Config{AuthMethods: tc.supported})
			p, err := oidc.New(context.Background(), oidc.Config{Issuer: op.Issuer, ClientID: testClientID, ClientSecret: tc.secret,
				AuthMethod: tc.given, RedirectURL: testRedirect})
			if tc.expect == "" {
				if !errors.Is(err, oidc.ErrConfig) {
					t.Fatalf("New: %v; want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Config().AuthMethod; got != tc.expect {
				t.Fatalf("AuthMethod %q, want %q", got, tc.expect)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	for name, cfg := range map[string]oidc.Config{
		"no issuer":             {ClientID: testClientID, RedirectURL: testRedirect},
		"http issuer":           {Issuer: "http://op.example", ClientID: testClientID, RedirectURL: testRedirect},
		"no client id":          {Issuer: op.Issuer, RedirectURL: testRedirect},
		"http redirect":         {Issuer: op.Issuer, ClientID: testClientID, RedirectURL: "http://app.example/cb"},
		"http post-logout":      {Issuer: op.Issuer, ClientID: testClientID, RedirectURL: testRedirect, PostLogoutRedirectURL: "http://app.example/x"},
		"static without jwks":   {Issuer: op.Issuer, ClientID: testClientID, RedirectURL: testRedirect, Endpoints: &oidc.Endpoints{Authorization: op.Issuer + "/authorize", Token: op.Issuer + "/token"}},
		"static http endpoints": {Issuer: op.Issuer, ClientID: testClientID, RedirectURL: testRedirect, Endpoints: &oidc.Endpoints{Authorization: "http://op.example/a", Token: op.Issuer + "/token", JWKS: op.Issuer + "/jwks"}},
		"discovery unreachable": {Issuer: "https://127.0.0.1:1", ClientID: testClientID, RedirectURL: testRedirect},
	} {
		if _, err := oidc.New(context.Background(), cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// Static endpoints: no discovery request at all.
func TestStaticEndpoints(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	p := newRP(t, op, func(c *oidc.Config) {
		c.Endpoints = &oidc.Endpoints{Authorization: op.Issuer + "/authorize", Token: op.Issuer + "/token", JWKS: op.Issuer + "/jwks",
			UserInfo: op.Issuer + "/userinfo", SigningAlgs: []string{"RS256", "HS256", "none"}}
	})
	mustLogin(t, p, op)
	if n := op.Calls(oidctest.EndpointDiscovery); n != 0 {
		t.Fatalf("discovery fetched %d times", n)
	}
	if algs := p.Endpoints().SigningAlgs; strings.Join(algs, ",") != "RS256" {
		t.Fatalf("accepted algorithms %v: HMAC and none must never be", algs)
	}
}

func TestIdentityAndClaims(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{Users: []oidctest.User{{Subject: "u-9", Name: "Ada", Email: "ada@example.com", EmailVerified: true,
		Claims: map[string]any{"iss": "https://userinfo.evil.example", "locale": "en"}}}})
	p := newRP(t, op, nil)
	_, id := mustLogin(t, p, op)
	c, ok := oidc.ClaimsOf(id)
	if !ok || c.Issuer != op.Issuer || c.Subject != "u-9" || c.SessionID == "" || id.SessionID != c.SessionID ||
		c.Name != "Ada" || !c.EmailVerified || c.IssuedAt.IsZero() || c.Raw["locale"] != "en" || c.Audience[0] != testClientID {
		t.Fatalf("claims %+v ok %v", c, ok)
	}
	if _, ok := oidc.ClaimsOf(&provider.Identity{Subject: "x", Raw: map[string]any{"sub": "x"}}); ok {
		t.Fatal("ClaimsOf accepted an identity without iss")
	}
	// SkipUserInfo: the ID token alone.
	p2 := newRP(t, op, func(c *oidc.Config) { c.SkipUserInfo = true })
	before := op.Calls(oidctest.EndpointUserInfo)
	mustLogin(t, p2, op)
	if op.Calls(oidctest.EndpointUserInfo) != before {
		t.Fatal("UserInfo called with SkipUserInfo")
	}
}

// RFC 9207: the provider reports its issuer, and whether the OP promised
// to send it, for the middleware's callback check.
func TestIssuerParameter(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{IssParameter: true})
	iss, required := newRP(t, op, nil).Issuer()
	if iss != op.Issuer || !required {
		t.Fatalf("Issuer() = %q, %v", iss, required)
	}
	op2 := newOP(t, oidctest.Config{})
	if _, required := newRP(t, op2, nil).Issuer(); required {
		t.Fatal("required without authorization_response_iss_parameter_supported")
	}
}

// Identity.Email is only an address the OP says it verified: an unverified
// one (whatever the user typed at the OP) could take over an app account
// linked by email. The claim stays readable through ClaimsOf.
func TestEmailOnlyWhenVerified(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		verified  bool
		wantEmail string
	}{
		{"verified", true, "ada@example.com"},
		{"unverified", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, oidctest.Config{Users: []oidctest.User{{Subject: "u-1", Name: "Ada", Email: "ada@example.com", EmailVerified: tc.verified}}})
			_, id := mustLogin(t, newRP(t, op, nil), op)
			if id.Email != tc.wantEmail {
				t.Fatalf("Identity.Email = %q, want %q", id.Email, tc.wantEmail)
			}
			if c, ok := oidc.ClaimsOf(id); !ok || c.Email != "ada@example.com" || c.EmailVerified != tc.verified {
				t.Fatalf("ClaimsOf = %+v, %v", c, ok)
			}
		})
	}
}
