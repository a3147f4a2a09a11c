package okta_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/adapters/okta"
	"github.com/gatehouse-auth/gatehouse/provider"
)

const (
	clientID     = "0oa1b2c3d4"
	clientSecret = "s3cret"
	redirectURL  = "http://127.0.0.1:8080/auth/okta/callback"
)

func newOP(t *testing.T, path string) *oidctest.Server {
	t.Helper()
	op := oidctest.NewServer(oidctest.Config{
		IssuerPath: path,
		Clients:    []oidctest.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Users:      []oidctest.User{{Subject: "00u1abcd", Name: "Casey", Email: "casey@example.test", EmailVerified: true}},
	})
	t.Cleanup(op.Close)
	return op
}

// authorize runs the browser part of a login and returns code, verifier and
// nonce.
func authorize(t *testing.T, op *oidctest.Server, p *oidc.Provider) (code, verifier, nonce string) {
	t.Helper()
	verifier, nonce = provider.NewVerifier(), provider.NewState()
	code, _, err := op.AuthorizeCode(context.Background(),
		p.AuthURL(provider.AuthRequest{State: provider.NewState(), Nonce: nonce, CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return code, verifier, nonce
}

func TestAuthorizationServers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		givenPath  string
		whenServer string
	}{
		{"org authorization server", "", ""},
		{"custom authorization server", "/oauth2/default", "default"},
		{"custom authorization server with an id", "/oauth2/aus1x2y3z", "aus1x2y3z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, tc.givenPath)
			p, err := okta.New(context.Background(), okta.Config{
				Domain: op.URL, AuthorizationServerID: tc.whenServer,
				ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if p.Config().Issuer != op.Issuer {
				t.Fatalf("issuer = %q, want %q", p.Config().Issuer, op.Issuer)
			}
			code, verifier, nonce := authorize(t, op, p)
			tok, err := p.ExchangeNonce(context.Background(), code, verifier, nonce)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			id, err := p.Identity(context.Background(), tok)
			if err != nil || id.Subject != "00u1abcd" || id.Provider != "okta" {
				t.Fatalf("identity = %+v, %v", id, err)
			}
			if !tok.HasScope("offline_access") || tok.RefreshToken == "" {
				t.Fatalf("scopes %v, refresh token %t: offline_access must be asked for by default", tok.Scopes, tok.RefreshToken != "")
			}
		})
	}
}

// The org and custom authorization servers of one domain have different
// issuers; a token of one is refused by a relying party of the other.
func TestOtherAuthorizationServerRefused(t *testing.T) {
	t.Parallel()
	op := newOP(t, "/oauth2/default")
	p, err := okta.New(context.Background(), okta.Config{
		Domain: op.URL, AuthorizationServerID: "default", ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	op.Misbehave(oidctest.Misbehaviour{IDTokenIss: op.URL}) // the org server's issuer
	code, verifier, nonce := authorize(t, op, p)
	if _, err := p.ExchangeNonce(context.Background(), code, verifier, nonce); !errors.Is(err, oidc.ErrIDToken) {
		t.Fatalf("err = %v, want oidc.ErrIDToken", err)
	}
}

// A custom domain may well have "-admin" in its first label: only Okta's
// own admin console hosts are refused.
func TestCustomDomainWithAdminLabel(t *testing.T) {
	t.Parallel()
	offline := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, errors.New("no network in tests: " + r.URL.String())
	})}
	_, err := okta.New(context.Background(), okta.Config{Domain: "login-admin.example.com", ClientID: clientID,
		RedirectURL: "https://app.example/auth/okta/callback", HTTPClient: offline})
	if errors.Is(err, okta.ErrConfig) || !strings.Contains(err.Error(), "https://login-admin.example.com/.well-known/openid-configuration") {
		t.Fatalf("err = %v, want the discovery fetch of the custom domain", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDefaultScopesInAuthURL(t *testing.T) {
	t.Parallel()
	op := newOP(t, "")
	p, err := okta.New(context.Background(), okta.Config{Domain: op.URL + "/", ClientID: clientID, RedirectURL: redirectURL})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(p.AuthURL(provider.AuthRequest{State: "s"}))
	if got := u.Query().Get("scope"); got != "openid profile email offline_access" {
		t.Fatalf("scope = %q", got)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	valid := okta.Config{Domain: "dev-123456.okta.com", ClientID: clientID, RedirectURL: "https://app.example/auth/okta/callback"}
	for _, tc := range []struct {
		name   string
		when   func(*okta.Config)
		expect string
	}{
		{"no Domain", func(c *okta.Config) { c.Domain = "" }, "okta: invalid config: Domain is required"},
		{"admin console domain", func(c *okta.Config) { c.Domain = "https://dev-123456-admin.okta.com" }, "okta: invalid config: Domain must be the Okta domain, not the admin console's"},
		{"preview admin console domain", func(c *okta.Config) { c.Domain = "dev-1-admin.oktapreview.com" }, "okta: invalid config: Domain must be the Okta domain, not the admin console's"},
		{"issuer URL as Domain", func(c *okta.Config) { c.Domain = "https://dev-123456.okta.com/oauth2/default" }, "okta: invalid config: Domain must be a host name"},
		{"http Domain", func(c *okta.Config) { c.Domain = "http://dev-123456.okta.com" }, "okta: invalid config: Domain must use https"},
		{"bad server id", func(c *okta.Config) { c.AuthorizationServerID = "default/v1" }, "okta: invalid config: AuthorizationServerID must be an authorization server id"},
		{"no ClientID", func(c *okta.Config) { c.ClientID = "" }, "okta: invalid config: ClientID is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.when(&cfg)
			_, err := okta.New(context.Background(), cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.expect) || !errors.Is(err, okta.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("err = %v, want prefix %q", err, tc.expect)
			}
		})
	}
}
