package google_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/google"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

var workspaceUser = oidctest.User{Subject: "110248495921238986420", Name: "Casey Cook", Email: "casey@example.com", EmailVerified: true,
	Claims: map[string]any{"hd": "example.com"}}

func newProvider(t *testing.T, f *fakeGoogle, cfg google.Config) *google.Provider {
	t.Helper()
	cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL, cfg.HTTPClient = clientID, clientSecret, redirectURL, f.client()
	p, err := google.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// exchange runs the browser part of a login and the code exchange.
func exchange(t *testing.T, f *fakeGoogle, p *google.Provider) (*provider.Token, error) {
	t.Helper()
	verifier, nonce := provider.NewVerifier(), provider.NewState()
	code, _, err := f.op.AuthorizeCode(context.Background(),
		p.AuthURL(provider.AuthRequest{State: provider.NewState(), Nonce: nonce, CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return p.ExchangeNonce(context.Background(), code, verifier, nonce)
}

func TestIssuer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		givenIss  string
		expectErr bool
	}{
		{"https://accounts.google.com", google.Issuer, false},
		{"legacy accounts.google.com", google.LegacyIssuer, false},
		{"another issuer", "https://accounts.google.com.evil.example", true},
		{"legacy form with a path", "accounts.google.com/x", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGoogle(t, workspaceUser)
			p := newProvider(t, f, google.Config{})
			if p.Config().Issuer != google.Issuer {
				t.Fatalf("issuer = %q", p.Config().Issuer)
			}
			f.set(tc.givenIss, "")
			tok, err := exchange(t, f, p)
			if tc.expectErr {
				if !errors.Is(err, oidc.ErrIDToken) {
					t.Fatalf("err = %v, want oidc.ErrIDToken", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			id, err := p.Identity(context.Background(), tok)
			if err != nil || id.Subject != workspaceUser.Subject || id.Email != "casey@example.com" || id.Provider != "google" {
				t.Fatalf("identity = %+v, %v", id, err)
			}
		})
	}
}

func TestHostedDomain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		givenHD     string   // hd claim Google puts in the ID token
		whenDomains []string // Config.HostedDomains
		expectOK    bool
	}{
		{"no restriction, consumer account", "", nil, true},
		{"no restriction, workspace account", "example.com", nil, true},
		{"allowed domain", "example.com", []string{"example.com"}, true},
		{"allowed domain, config in upper case", "example.com", []string{"Example.COM"}, true},
		{"one of several domains", "example.org", []string{"example.com", "example.org"}, true},
		{"wrong domain", "evil.example", []string{"example.com"}, false},
		{"consumer account (no hd)", "", []string{"example.com"}, false},
		{"subdomain is not the domain", "sub.example.com", []string{"example.com"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			user := workspaceUser
			user.Claims = map[string]any{}
			if tc.givenHD != "" {
				user.Claims["hd"] = tc.givenHD
			}
			f := newFakeGoogle(t, user)
			p := newProvider(t, f, google.Config{HostedDomains: tc.whenDomains})
			f.set(google.Issuer, tc.givenHD)
			tok, err := exchange(t, f, p)
			if !tc.expectOK {
				if !errors.Is(err, google.ErrHostedDomain) || !errors.Is(err, provider.ErrRejected) {
					t.Fatalf("err = %v, want ErrHostedDomain and provider.ErrRejected", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if _, err := p.Identity(context.Background(), tok); err != nil {
				t.Fatalf("identity: %v", err)
			}
		})
	}
}

// The hd claim is checked on refresh replies too: an account that left the
// domain loses its login at the next refresh.
func TestHostedDomainOnRefresh(t *testing.T) {
	t.Parallel()
	f := newFakeGoogle(t, workspaceUser)
	p := newProvider(t, f, google.Config{HostedDomains: []string{"example.com"}})
	f.set(google.Issuer, "example.com")
	tok, err := exchange(t, f, p)
	if err != nil {
		t.Fatal(err)
	}
	tok, err = p.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatalf("refresh in the domain: %v", err)
	}
	f.set(google.Issuer, "other.example")
	_, err = p.Refresh(context.Background(), tok)
	if !errors.Is(err, google.ErrHostedDomain) || !errors.Is(err, provider.ErrInvalidGrant) {
		t.Fatalf("err = %v, want ErrHostedDomain and provider.ErrInvalidGrant", err)
	}
}

// UserInfo may not contradict the ID token's hd.
func TestHostedDomainUserInfoDisagrees(t *testing.T) {
	t.Parallel()
	user := workspaceUser
	user.Claims = map[string]any{"hd": "other.example"}
	f := newFakeGoogle(t, user)
	p := newProvider(t, f, google.Config{HostedDomains: []string{"example.com"}})
	f.set(google.Issuer, "example.com")
	tok, err := exchange(t, f, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Identity(context.Background(), tok); !errors.Is(err, google.ErrHostedDomain) {
		t.Fatalf("err = %v, want ErrHostedDomain", err)
	}
}

func TestEmailVerified(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		givenVerify bool
		expectEmail string
	}{
		{"verified", true, "casey@example.com"},
		{"unverified", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			user := workspaceUser
			user.EmailVerified = tc.givenVerify
			f := newFakeGoogle(t, user)
			p := newProvider(t, f, google.Config{})
			tok, err := exchange(t, f, p)
			if err != nil {
				t.Fatal(err)
			}
			id, err := p.Identity(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if id.Email != tc.expectEmail || id.Raw["email"] != "casey@example.com" {
				t.Fatalf("Email = %q (Raw %v), want %q", id.Email, id.Raw["email"], tc.expectEmail)
			}
		})
	}
}

func TestAuthParams(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		when   google.Config
		expect map[string]string // "" means absent
	}{
		{"default: offline with consent", google.Config{}, map[string]string{"access_type": "offline", "prompt": "consent", "hd": ""}},
		{"online", google.Config{AccessType: google.AccessTypeOnline}, map[string]string{"access_type": "online", "prompt": ""}},
		{"offline, account chooser and consent", google.Config{Prompt: "select_account consent"}, map[string]string{"access_type": "offline", "prompt": "select_account consent"}},
		{"one hosted domain", google.Config{HostedDomains: []string{"example.com"}}, map[string]string{"hd": "example.com"}},
		{"several hosted domains", google.Config{HostedDomains: []string{"example.com", "example.org"}}, map[string]string{"hd": "*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGoogle(t, workspaceUser)
			p := newProvider(t, f, tc.when)
			u, _ := url.Parse(p.AuthURL(provider.AuthRequest{State: "s"}))
			for k, want := range tc.expect {
				if got := u.Query().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// Offline access without prompt=consent is allowed but warned about: later
// logins of the same user would get no refresh token.
func TestOfflineWithoutConsentWarns(t *testing.T) {
	t.Parallel()
	f := newFakeGoogle(t, workspaceUser)
	var logs bytes.Buffer
	newProvider(t, f, google.Config{Prompt: "select_account", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "without prompt=consent") {
		t.Fatalf("no warning logged: %q", logs.String())
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	valid := google.Config{ClientID: clientID, RedirectURL: "https://app.example/auth/google/callback"}
	for _, tc := range []struct {
		name   string
		when   func(*google.Config)
		expect string
	}{
		{"no ClientID", func(c *google.Config) { c.ClientID = "" }, "google: invalid config: ClientID is required"},
		{"http RedirectURL", func(c *google.Config) { c.RedirectURL = "http://app.example/cb" }, "google: invalid config: RedirectURL must use https"},
		{"bad AccessType", func(c *google.Config) { c.AccessType = "always" }, `google: invalid config: AccessType must be "offline" or "online"`},
		{"wildcard domain", func(c *google.Config) { c.HostedDomains = []string{"*"} }, `google: invalid config: HostedDomains: entry "*" must be a domain name`},
		{"email as domain", func(c *google.Config) { c.HostedDomains = []string{"casey@example.com"} }, `google: invalid config: HostedDomains: entry "casey@example.com"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.when(&cfg)
			_, err := google.New(context.Background(), cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.expect) || !errors.Is(err, google.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("err = %v, want prefix %q", err, tc.expect)
			}
		})
	}
}

// TestConformance runs the provider contract suite against the preset
// (whose Exchange, Refresh and Identity wrap the oidc provider's).
func TestConformance(t *testing.T) {
	providertest.RunRedirect(t, providertest.RedirectHarness{
		New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
			f := newFakeGoogle(t, workspaceUser)
			f.set(google.Issuer, "example.com")
			p, err := google.New(context.Background(), google.Config{
				ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL, HostedDomains: []string{"example.com"},
				HTTPClient: env.Client(f.client()), Logger: env.Logger, Timeout: time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			return providertest.RedirectFixture{
				Provider:  p,
				Authorize: f.op.AuthorizeCode,
				Fail:      func(fl providertest.Failure) { f.op.FailNext(oidctest.EndpointToken, string(fl)) },
			}
		},
		RedirectURL:         redirectURL,
		Identity:            provider.Identity{Subject: workspaceUser.Subject, Name: workspaceUser.Name, Email: workspaceUser.Email},
		Scopes:              []string{"openid", "profile", "email"},
		ClientSecret:        clientSecret,
		RotatesRefreshToken: true,
	})
}
