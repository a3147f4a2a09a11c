package auth0_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/auth0"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

const (
	clientID     = "aBcD1234"
	clientSecret = "s3cret"
	redirectURL  = "http://127.0.0.1:8080/auth/auth0/callback"
)

// newTenant starts a fake OP that names itself as Auth0 does: the issuer in
// discovery and in every ID token is the base URL with a trailing slash.
func newTenant(t *testing.T) *oidctest.Server {
	t.Helper()
	op := oidctest.NewServer(oidctest.Config{
		Clients: []oidctest.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Users:   []oidctest.User{{Subject: "auth0|64f1c2", Name: "Casey", Email: "casey@example.test", EmailVerified: true}},
	})
	t.Cleanup(op.Close)
	op.Misbehave(oidctest.Misbehaviour{DiscoveryIssuer: op.URL + "/", IDTokenIss: op.URL + "/"})
	return op
}

func exchange(t *testing.T, op *oidctest.Server, p *oidc.Provider) (*provider.Token, error) {
	t.Helper()
	verifier, nonce := provider.NewVerifier(), provider.NewState()
	code, _, err := op.AuthorizeCode(context.Background(),
		p.AuthURL(provider.AuthRequest{State: provider.NewState(), Nonce: nonce, CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return p.ExchangeNonce(context.Background(), code, verifier, nonce)
}

func TestTrailingSlashIssuer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		whenDomain func(base string) string
	}{
		{"domain as a URL", func(b string) string { return b }},
		{"domain with the trailing slash", func(b string) string { return b + "/" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newTenant(t)
			p, err := auth0.New(context.Background(), auth0.Config{
				Domain: tc.whenDomain(op.URL), ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := p.Config().Issuer; got != op.URL+"/" {
				t.Fatalf("issuer = %q, want the trailing slash", got)
			}
			tok, err := exchange(t, op, p)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			id, err := p.Identity(context.Background(), tok)
			if err != nil || id.Subject != "auth0|64f1c2" || id.Provider != "auth0" {
				t.Fatalf("identity = %+v, %v", id, err)
			}
		})
	}
}

// The pitfall the preset exists for: the same tenant configured by hand
// without the slash fails discovery, with an error naming both issuers.
func TestIssuerWithoutSlashFails(t *testing.T) {
	t.Parallel()
	op := newTenant(t)
	_, err := oidc.New(context.Background(), oidc.Config{
		Issuer: op.URL, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
	})
	if !errors.Is(err, oidc.ErrDiscovery) || !strings.Contains(err.Error(), `"`+op.URL+`/"`) || !strings.Contains(err.Error(), `"`+op.URL+`"`) {
		t.Fatalf("err = %v, want a discovery error naming %q and %q", err, op.URL+"/", op.URL)
	}
}

// A token whose iss lacks the slash is not Auth0's issuer: refused.
func TestTokenWithoutSlashRefused(t *testing.T) {
	t.Parallel()
	op := newTenant(t)
	p, err := auth0.New(context.Background(), auth0.Config{Domain: op.URL, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL})
	if err != nil {
		t.Fatal(err)
	}
	op.Misbehave(oidctest.Misbehaviour{DiscoveryIssuer: op.URL + "/", IDTokenIss: op.URL})
	if _, err := exchange(t, op, p); !errors.Is(err, oidc.ErrIDToken) {
		t.Fatalf("err = %v, want oidc.ErrIDToken", err)
	}
}

func TestAudienceAndScopes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		whenAudience string
		expect       []string // audience values in the authorization URL
	}{
		{"no audience: opaque token for /userinfo", "", nil},
		{"audience of an API", "https://api.example.com", []string{"https://api.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newTenant(t)
			p, err := auth0.New(context.Background(), auth0.Config{
				Domain: op.URL, Audience: tc.whenAudience, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(p.AuthURL(provider.AuthRequest{State: "s"}))
			if got := u.Query()["audience"]; strings.Join(got, ",") != strings.Join(tc.expect, ",") {
				t.Fatalf("audience = %q, want %q", got, tc.expect)
			}
			if got := u.Query().Get("scope"); got != "openid profile email offline_access" {
				t.Fatalf("scope = %q", got)
			}
		})
	}
}

func TestIssuer(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"example.us.auth0.com", "https://example.us.auth0.com", "https://example.us.auth0.com/", "example.us.auth0.com/"} {
		if got, err := auth0.Issuer(d); err != nil || got != "https://example.us.auth0.com/" {
			t.Errorf("Issuer(%q) = %q, %v", d, got, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	valid := auth0.Config{Domain: "example.us.auth0.com", ClientID: clientID, RedirectURL: "https://app.example/auth/auth0/callback"}
	for _, tc := range []struct {
		name   string
		when   func(*auth0.Config)
		expect string
	}{
		{"no Domain", func(c *auth0.Config) { c.Domain = "" }, "auth0: invalid config: Domain is required"},
		{"path in Domain", func(c *auth0.Config) { c.Domain = "https://example.us.auth0.com/authorize" }, "auth0: invalid config: Domain must be a host name"},
		{"http Domain", func(c *auth0.Config) { c.Domain = "http://example.us.auth0.com" }, "auth0: invalid config: Domain must use https"},
		{"no ClientID", func(c *auth0.Config) { c.ClientID = "" }, "auth0: invalid config: ClientID is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.when(&cfg)
			_, err := auth0.New(context.Background(), cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.expect) || !errors.Is(err, auth0.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("err = %v, want prefix %q", err, tc.expect)
			}
		})
	}
}
