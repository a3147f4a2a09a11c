package keycloak_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/keycloak"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

const (
	clientID     = "gatehouse-app"
	clientSecret = "s3cret"
	redirectURL  = "http://127.0.0.1:8080/auth/keycloak/callback"
)

// newOP starts a fake Keycloak realm served under path (e.g. "/realms/demo").
func newOP(t *testing.T, path string) *oidctest.Server {
	t.Helper()
	op := oidctest.NewServer(oidctest.Config{
		IssuerPath: path,
		Clients:    []oidctest.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Users:      []oidctest.User{{Subject: "f:1234:casey", Name: "Casey", Email: "casey@example.test", EmailVerified: true}},
	})
	t.Cleanup(op.Close)
	return op
}

// login runs a whole redirect login against op.
func login(t *testing.T, op *oidctest.Server, p *oidc.Provider) (*provider.Token, *provider.Identity) {
	t.Helper()
	ctx := context.Background()
	verifier, state, nonce := provider.NewVerifier(), provider.NewState(), provider.NewState()
	code, _, err := op.AuthorizeCode(ctx, p.AuthURL(provider.AuthRequest{State: state, Nonce: nonce, CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	tok, err := p.ExchangeNonce(ctx, code, verifier, nonce)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	id, err := p.Identity(ctx, tok)
	if err != nil {
		t.Fatalf("identity: %v", err)
	}
	return tok, id
}

func TestIssuerLayouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		givenPath string // where the fake serves the realm
		whenBase  string // suffix the app appends to the server URL
	}{
		{"current layout (Keycloak 17+)", "/realms/demo", ""},
		{"legacy /auth layout", "/auth/realms/demo", "/auth"},
		{"trailing slash on BaseURL", "/realms/demo", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, tc.givenPath)
			p, err := keycloak.New(context.Background(), keycloak.Config{
				BaseURL: op.URL + tc.whenBase, Realm: "demo",
				ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := p.Config().Issuer; got != op.Issuer {
				t.Fatalf("issuer = %q, want %q", got, op.Issuer)
			}
			tok, id := login(t, op, p)
			if id.Subject != "f:1234:casey" || id.Provider != "keycloak" || id.Email != "casey@example.test" {
				t.Fatalf("identity = %+v", id)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token: Keycloak's standard flow issues one without extra scopes")
			}
			if _, err := p.Refresh(context.Background(), tok); err != nil {
				t.Fatalf("refresh: %v", err)
			}
		})
	}
}

func TestWrongLayoutHint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		givenPath string
		whenBase  string
		expect    string
	}{
		{"server under /auth, BaseURL without", "/auth/realms/demo", "", "set BaseURL to http://"},
		{"server at the root, BaseURL with /auth", "/realms/demo", "/auth", "Keycloak 17 and later serve without /auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, tc.givenPath)
			_, err := keycloak.New(context.Background(), keycloak.Config{
				BaseURL: op.URL + tc.whenBase, Realm: "demo",
				ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			})
			if err == nil || !strings.Contains(err.Error(), tc.expect) || !errors.Is(err, oidc.ErrDiscovery) {
				t.Fatalf("err = %v, want a discovery error containing %q", err, tc.expect)
			}
		})
	}
}

// A token whose iss names another realm is refused: realms of one server
// share nothing.
func TestOtherRealmRefused(t *testing.T) {
	t.Parallel()
	op := newOP(t, "/realms/demo")
	p, err := keycloak.New(context.Background(), keycloak.Config{
		BaseURL: op.URL, Realm: "demo", ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	op.Misbehave(oidctest.Misbehaviour{IDTokenIss: op.URL + "/realms/other"})
	ctx := context.Background()
	verifier, nonce := provider.NewVerifier(), provider.NewState()
	code, _, err := op.AuthorizeCode(ctx, p.AuthURL(provider.AuthRequest{State: "s", Nonce: nonce, CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ExchangeNonce(ctx, code, verifier, nonce); !errors.Is(err, oidc.ErrIDToken) {
		t.Fatalf("err = %v, want oidc.ErrIDToken", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	valid := keycloak.Config{BaseURL: "https://sso.example.com", Realm: "demo", ClientID: clientID, RedirectURL: "https://app.example/auth/keycloak/callback"}
	for _, tc := range []struct {
		name   string
		when   func(*keycloak.Config)
		expect string
	}{
		{"no BaseURL", func(c *keycloak.Config) { c.BaseURL = "" }, "keycloak: invalid config: BaseURL is required"},
		{"http BaseURL", func(c *keycloak.Config) { c.BaseURL = "http://sso.example.com" }, "keycloak: invalid config: BaseURL must use https"},
		{"issuer given as BaseURL", func(c *keycloak.Config) { c.BaseURL = "https://sso.example.com/realms/demo" }, "keycloak: invalid config: BaseURL must be the server's base URL"},
		{"no Realm", func(c *keycloak.Config) { c.Realm = "" }, "keycloak: invalid config: Realm is required"},
		{"no ClientID", func(c *keycloak.Config) { c.ClientID = "" }, "keycloak: invalid config: ClientID is required"},
		{"bad PostLogoutRedirectURL", func(c *keycloak.Config) { c.PostLogoutRedirectURL = "http://app.example/out" }, "keycloak: invalid config: PostLogoutRedirectURL must use https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.when(&cfg)
			_, err := keycloak.New(context.Background(), cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.expect) || !errors.Is(err, keycloak.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("err = %v, want prefix %q", err, tc.expect)
			}
		})
	}
}

func TestIssuer(t *testing.T) {
	t.Parallel()
	if got, want := keycloak.Issuer("https://sso.example.com/auth/", "my realm"), "https://sso.example.com/auth/realms/my%20realm"; got != want {
		t.Fatalf("Issuer = %q, want %q", got, want)
	}
}
