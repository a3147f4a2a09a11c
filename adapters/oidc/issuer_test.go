package oidc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// recorder is an IssuerValidator that records the issuers it was asked
// about and accepts those in ok.
type recorder struct {
	mu   sync.Mutex
	seen []string
	ok   map[string]bool
	err  error // returned for the others; default a plain error
}

func (r *recorder) validate(iss string, claims map[string]any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, iss)
	if r.ok[iss] && claims["sub"] == "user-1" {
		return nil
	}
	if r.err != nil {
		return r.err
	}
	return errors.New("unknown tenant")
}

func (r *recorder) asked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// With an IssuerValidator, the validator decides for every token's iss —
// also for one equal to Config.Issuer, which for a multi-tenant OP is a
// template no token should carry; it sees the claims; its refusal refuses
// the login.
func TestIssuerValidatorDecidesEveryToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		givenIss     string // the ID token's iss; "" = Config.Issuer
		whenAccepted bool   // the validator accepts givenIss
		expectLogin  bool
	}{
		{"tenant issuer the validator accepts", "/tenant-42", true, true},
		{"tenant issuer the validator refuses", "/tenant-7", false, false},
		{"iss equal to Issuer, refused by the validator", "", false, false},
		{"iss equal to Issuer, accepted by the validator", "", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, oidctest.Config{})
			iss := op.Issuer + tc.givenIss
			v := &recorder{ok: map[string]bool{iss: tc.whenAccepted}}
			p := newRP(t, op, func(c *oidc.Config) { c.IssuerValidator = v.validate })
			op.Misbehave(oidctest.Misbehaviour{IDTokenIss: iss})
			if tc.expectLogin {
				mustLogin(t, p, op)
			} else {
				expectBadIDToken(t, op, p)
			}
			if got := v.asked(); len(got) != 1 || got[0] != iss {
				t.Fatalf("validator asked about %v, want exactly [%s]", got, iss)
			}
		})
	}
}

// The validator runs on refresh replies' ID tokens and on logout tokens
// too, iss equal to Config.Issuer included.
func TestIssuerValidatorOnRefreshAndLogoutTokens(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	v := &recorder{ok: map[string]bool{op.Issuer: true}}
	p := newRP(t, op, func(c *oidc.Config) { c.IssuerValidator = v.validate })
	tok, _ := mustLogin(t, p, op)
	if _, err := p.VerifyLogoutToken(context.Background(), op.SignLogoutToken(op.LogoutClaims(testClientID, "user-1", ""))); err != nil {
		t.Fatalf("logout token: %v", err)
	}
	v.mu.Lock()
	v.ok = map[string]bool{} // from now on the validator refuses the issuer
	v.mu.Unlock()
	if _, err := p.Refresh(context.Background(), tok); !errors.Is(err, provider.ErrInvalidGrant) || !errors.Is(err, oidc.ErrIDToken) {
		t.Fatalf("refresh with a refused issuer: %v, want ErrInvalidGrant and ErrIDToken", err)
	}
	if _, err := p.VerifyLogoutToken(context.Background(), op.SignLogoutToken(op.LogoutClaims(testClientID, "user-1", ""))); !errors.Is(err, oidc.ErrIDToken) {
		t.Fatalf("logout token with a refused issuer: %v, want ErrIDToken", err)
	}
	if n := len(v.asked()); n != 4 {
		t.Fatalf("validator asked %d times (%v), want 4: login, logout token, refresh, logout token", n, v.asked())
	}
}

// A validator's policy refusal (an error matching provider.ErrRejected: a
// tenant the app does not admit) fails the login as rejected, not as a
// bad answer from the OP; any other refusal stays a bad ID token. UserInfo
// is never called; on refresh both end the login.
func TestIssuerValidatorPolicyRefusalIsRejected(t *testing.T) {
	t.Parallel()
	errNotAdmitted := errors.New("tenant not admitted")
	for _, tc := range []struct {
		name       string
		givenErr   error
		expectKind error
		expectNot  error
	}{
		{"policy refusal", fmt.Errorf("%w: %w", errNotAdmitted, provider.ErrRejected), provider.ErrRejected, provider.ErrBadResponse},
		{"plain refusal", errNotAdmitted, provider.ErrBadResponse, provider.ErrRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, oidctest.Config{})
			v := &recorder{ok: map[string]bool{op.Issuer: true}}
			p := newRP(t, op, func(c *oidc.Config) { c.IssuerValidator = v.validate })
			tok, _ := mustLogin(t, p, op)
			v.mu.Lock()
			v.ok, v.err = map[string]bool{}, tc.givenErr
			v.mu.Unlock()

			a := newAttempt()
			_, err := p.ExchangeNonce(context.Background(), authorize(t, p, op, a), a.verifier, a.nonce)
			if !errors.Is(err, tc.expectKind) || errors.Is(err, tc.expectNot) || !errors.Is(err, oidc.ErrIDToken) || !errors.Is(err, errNotAdmitted) {
				t.Fatalf("login: %v; want %v (not %v), ErrIDToken and the validator's error", err, tc.expectKind, tc.expectNot)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Kind != tc.expectKind || pe.Op != "exchange" {
				t.Fatalf("provider error %+v, want Kind %v", pe, tc.expectKind)
			}
			if n := op.Calls(oidctest.EndpointUserInfo); n != 1 {
				t.Fatalf("UserInfo called %d times, want only the first login's", n)
			}
			if _, err := p.Refresh(context.Background(), tok); !errors.Is(err, provider.ErrInvalidGrant) {
				t.Fatalf("refresh: %v, want ErrInvalidGrant (the login ends)", err)
			}
		})
	}
}

// Config.DiscoveryURL reads the discovery document from elsewhere — for
// an OP whose published issuer is a template — and the document's issuer
// must still equal Config.Issuer exactly.
func TestDiscoveryURL(t *testing.T) {
	t.Parallel()
	const tenantPath = "/tenant-a/v2.0"
	for _, tc := range []struct {
		name string
		// givenDocIssuer is the document's issuer: "template" or "op".
		givenDocIssuer string
		// whenIssuer is Config.Issuer: "template" or "op".
		whenIssuer string
		// whenDiscovery is Config.DiscoveryURL: "op" (the OP's own
		// well-known URL), "elsewhere" (another server's path), "".
		whenDiscovery string
		expectErr     error
	}{
		{"template issuer, document at the OP's URL", "template", "template", "op", nil},
		{"same issuer, document elsewhere", "op", "op", "elsewhere", nil},
		{"template issuer without DiscoveryURL", "template", "template", "", oidc.ErrDiscovery},
		{"document's issuer differs from Issuer", "op", "template", "op", oidc.ErrDiscovery},
		{"document elsewhere names another issuer", "template", "op", "elsewhere", oidc.ErrDiscovery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, oidctest.Config{})
			template := op.URL + "/{tenantid}/v2.0"
			pick := func(which string) string {
				if which == "template" {
					return template
				}
				return op.Issuer
			}
			if tc.givenDocIssuer == "template" {
				op.Misbehave(oidctest.Misbehaviour{DiscoveryIssuer: template})
			}
			elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/config/oidc.json" {
					http.NotFound(w, r)
					return
				}
				resp, err := http.Get(op.Issuer + "/.well-known/openid-configuration")
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				defer resp.Body.Close()
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.Copy(w, resp.Body)
			}))
			t.Cleanup(elsewhere.Close)
			discovery := map[string]string{"op": op.Issuer + "/.well-known/openid-configuration", "elsewhere": elsewhere.URL + "/config/oidc.json", "": ""}[tc.whenDiscovery]
			v := &recorder{ok: map[string]bool{op.URL + tenantPath: true, op.Issuer: tc.whenIssuer == "op"}}
			cfg := oidc.Config{Issuer: pick(tc.whenIssuer), DiscoveryURL: discovery, ClientID: testClientID, ClientSecret: testClientSecret,
				RedirectURL: testRedirect, IssuerValidator: v.validate}
			p, err := oidc.New(context.Background(), cfg)
			if tc.expectErr != nil {
				if !errors.Is(err, tc.expectErr) {
					t.Fatalf("New: %v, want %v", err, tc.expectErr)
				}
				if tc.whenDiscovery != "" && (!strings.Contains(err.Error(), pick(tc.givenDocIssuer)) || !strings.Contains(err.Error(), cfg.Issuer)) {
					t.Fatalf("error %q does not name both issuers", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if e := p.Endpoints(); e.Token != op.Issuer+"/token" || e.JWKS != op.Issuer+"/jwks" {
				t.Fatalf("endpoints %+v, want the document's", e)
			}
			if iss, _ := p.Issuer(); iss != cfg.Issuer {
				t.Fatalf("RFC 9207 issuer = %q, want Config.Issuer %q", iss, cfg.Issuer)
			}
			if tc.whenIssuer == "template" {
				// Tokens carry the tenant's issuer; one carrying the
				// template itself is refused.
				op.Misbehave(oidctest.Misbehaviour{IDTokenIss: op.URL + tenantPath})
				mustLogin(t, p, op)
				op.Misbehave(oidctest.Misbehaviour{IDTokenIss: template})
				expectBadIDToken(t, op, p)
			} else {
				mustLogin(t, p, op)
			}
		})
	}
}

func TestDiscoveryURLConfigErrors(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	for name, cfg := range map[string]oidc.Config{
		"with Endpoints": {Issuer: op.Issuer, DiscoveryURL: op.Issuer + "/.well-known/openid-configuration", ClientID: testClientID, RedirectURL: testRedirect,
			Endpoints: &oidc.Endpoints{Authorization: op.Issuer + "/authorize", Token: op.Issuer + "/token", JWKS: op.Issuer + "/jwks"}},
		"plain http off loopback": {Issuer: op.Issuer, DiscoveryURL: "http://op.example/.well-known/openid-configuration", ClientID: testClientID, RedirectURL: testRedirect},
		"not a URL":               {Issuer: op.Issuer, DiscoveryURL: "op.example/config", ClientID: testClientID, RedirectURL: testRedirect},
	} {
		if _, err := oidc.New(context.Background(), cfg); !errors.Is(err, oidc.ErrConfig) {
			t.Errorf("%s: New: %v, want ErrConfig", name, err)
		}
	}
	if n := op.Calls(oidctest.EndpointDiscovery); n != 0 {
		t.Fatalf("a refused configuration fetched discovery %d times", n)
	}
}
