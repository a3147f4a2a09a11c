package gitlab_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/gitlab"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

const (
	clientID     = "8f3c1a"
	clientSecret = "gloas-s3cret"
	redirectURL  = "http://127.0.0.1:8080/auth/gitlab/callback"
)

func newInstance(t *testing.T, root string) *oidctest.Server {
	t.Helper()
	op := oidctest.NewServer(oidctest.Config{
		IssuerPath: root,
		Clients:    []oidctest.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
		Users: []oidctest.User{{Subject: "4242", Name: "Casey", Email: "casey@example.test", EmailVerified: true,
			Claims: map[string]any{"nickname": "casey", "groups": []string{"team"}}}},
	})
	t.Cleanup(op.Close)
	return op
}

func TestLoginAndAPI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		givenRoot string // relative URL root of the instance
	}{
		{"instance at the root (gitlab.com)", ""},
		{"self-managed with a relative URL root", "/gitlab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newInstance(t, tc.givenRoot)
			p, err := gitlab.New(context.Background(), gitlab.Config{
				BaseURL: op.URL + tc.givenRoot + "/", ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
				Scopes: []string{"profile", "email", "read_user"},
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ctx := context.Background()
			verifier, nonce := provider.NewVerifier(), provider.NewState()
			authURL := p.AuthURL(provider.AuthRequest{State: "s", Nonce: nonce, CodeChallenge: provider.S256Challenge(verifier)})
			if u, _ := url.Parse(authURL); u.Query().Get("scope") != "openid profile email read_user" {
				t.Fatalf("scope = %q", u.Query().Get("scope"))
			}
			code, _, err := op.AuthorizeCode(ctx, authURL)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := p.ExchangeNonce(ctx, code, verifier, nonce)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			id, err := p.Identity(ctx, tok)
			if err != nil || id.Subject != "4242" || id.Provider != "gitlab" || id.Raw["nickname"] != "casey" {
				t.Fatalf("identity = %+v, %v", id, err)
			}
			// The API (/api/v4) is on the instance's host, which the
			// provider declares for middleware.Auth.Client.
			host := strings.TrimPrefix(op.URL, "http://")
			if hosts := p.APIHosts(); len(hosts) == 0 || hosts[0] != host {
				t.Fatalf("APIHosts = %v, want %s first", hosts, host)
			}
			r, _ := http.NewRequest(http.MethodGet, op.URL+tc.givenRoot+"/api/v4/user", nil)
			p.SetCredential(r, tok)
			if r.Header.Get("Authorization") != "Bearer "+tok.AccessToken {
				t.Fatalf("credential header = %q", r.Header.Get("Authorization"))
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			if _, err := p.Refresh(ctx, tok); err != nil {
				t.Fatalf("refresh: %v", err)
			}
		})
	}
}

// A self-managed instance's tokens are not gitlab.com's, and vice versa:
// the issuer is the instance URL, compared exactly.
func TestOtherInstanceRefused(t *testing.T) {
	t.Parallel()
	op := newInstance(t, "/gitlab")
	p, err := gitlab.New(context.Background(), gitlab.Config{BaseURL: op.URL + "/gitlab", ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL})
	if err != nil {
		t.Fatal(err)
	}
	op.Misbehave(oidctest.Misbehaviour{IDTokenIss: gitlab.DefaultBaseURL})
	verifier, nonce := provider.NewVerifier(), provider.NewState()
	code, _, err := op.AuthorizeCode(context.Background(), p.AuthURL(provider.AuthRequest{State: "s", Nonce: nonce, CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ExchangeNonce(context.Background(), code, verifier, nonce); !errors.Is(err, oidc.ErrIDToken) {
		t.Fatalf("err = %v, want oidc.ErrIDToken", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	valid := gitlab.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: "https://app.example/auth/gitlab/callback"}
	for _, tc := range []struct {
		name   string
		when   func(*gitlab.Config)
		expect string
	}{
		{"http BaseURL", func(c *gitlab.Config) { c.BaseURL = "http://gitlab.example.com" }, "gitlab: invalid config: BaseURL must use https"},
		{"API URL as BaseURL", func(c *gitlab.Config) { c.BaseURL = "https://gitlab.example.com/api/v4" }, "gitlab: invalid config: BaseURL must be the instance's URL"},
		{"no ClientID", func(c *gitlab.Config) { c.ClientID = "" }, "gitlab: invalid config: ClientID is required"},
		{"no ClientSecret", func(c *gitlab.Config) { c.ClientSecret = "" }, "gitlab: invalid config: ClientSecret is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.when(&cfg)
			_, err := gitlab.New(context.Background(), cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.expect) || !errors.Is(err, gitlab.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("err = %v, want prefix %q", err, tc.expect)
			}
		})
	}
}
