package github_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/github"
	"github.com/gatehouse-auth/gatehouse/adapters/github/githubtest"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

const (
	clientID     = githubtest.DefaultClientID
	clientSecret = githubtest.DefaultClientSecret
	redirectURL  = githubtest.DefaultRedirectURI
)

func newServer(t *testing.T, cfg githubtest.Config) *githubtest.Server {
	t.Helper()
	s := githubtest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

func newProvider(t *testing.T, s *githubtest.Server, edit func(*github.Config)) *github.Provider {
	t.Helper()
	cfg := github.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		BaseURL: s.URL, APIURL: s.URL, HTTPClient: s.Client(), Timeout: 2 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	p, err := github.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// authorize returns a code and its PKCE verifier for p's login at s.
func authorize(t *testing.T, s *githubtest.Server, p *github.Provider) (code, verifier string) {
	t.Helper()
	verifier = provider.NewVerifier()
	code, _, err := s.AuthorizeCode(context.Background(), p.AuthURL(provider.AuthRequest{State: "st", CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return code, verifier
}

func TestConformance(t *testing.T) {
	providertest.RunRedirect(t, providertest.RedirectHarness{
		New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
			s := newServer(t, githubtest.Config{ExpiringTokens: true, EmailPermission: true})
			p := newProvider(t, s, func(c *github.Config) {
				c.HTTPClient, c.Logger, c.Timeout = env.Client(s.Client()), env.Logger, 300*time.Millisecond
			})
			return providertest.RedirectFixture{
				Provider:  p,
				Authorize: s.AuthorizeCode,
				Fail:      func(f providertest.Failure) { s.FailNext(githubtest.EndpointToken, string(f)) },
			}
		},
		RedirectURL:         redirectURL,
		Identity:            provider.Identity{Subject: "583231", Name: "The Octocat", Email: "octocat@github.com"},
		Scopes:              github.DefaultScopes(),
		ClientSecret:        clientSecret,
		RotatesRefreshToken: true,
	})
}

// An OAuth app: tokens that never expire, no refresh token, the token
// endpoint asked for JSON.
func TestOAuthAppLogin(t *testing.T) {
	t.Parallel()
	s := newServer(t, githubtest.Config{})
	p := newProvider(t, s, nil)
	authURL := p.AuthURL(provider.AuthRequest{State: "st"})
	if u, _ := url.Parse(authURL); u.Path != "/login/oauth/authorize" || u.Query().Get("scope") != "read:user user:email" {
		t.Fatalf("auth URL = %s", authURL)
	}
	code, verifier := authorize(t, s, p)
	tok, err := p.Exchange(context.Background(), code, verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken != "" || !tok.Expiry.IsZero() || tok.TokenType != "Bearer" || !slices.Equal(tok.Scopes, []string{"read:user", "user:email"}) {
		t.Fatalf("token = %v, scopes %v", tok, tok.Scopes)
	}
	reqs := s.Requests(githubtest.EndpointToken)
	if len(reqs) != 1 || !strings.Contains(reqs[0].Header.Get("Accept"), "application/json") || reqs[0].Params.Get("client_secret") != clientSecret {
		t.Fatalf("token request: %+v", reqs)
	}
	id, err := p.Identity(context.Background(), tok)
	if err != nil {
		t.Fatalf("identity: %v", err)
	}
	if id.Subject != "583231" || id.Provider != "github" || id.Name != "The Octocat" || id.Email != "octocat@github.com" || id.Raw["login"] != "octocat" {
		t.Fatalf("identity = %+v", id)
	}
	if _, err := p.Refresh(context.Background(), tok); !errors.Is(err, provider.ErrNoRefreshToken) {
		t.Fatalf("refresh: err = %v, want ErrNoRefreshToken", err)
	}
	if p.RedirectURL() != redirectURL {
		t.Fatalf("RedirectURL = %q", p.RedirectURL())
	}
	if hosts := p.APIHosts(); !slices.Equal(hosts, []string{strings.TrimPrefix(s.URL, "http://")}) {
		t.Fatalf("APIHosts = %v", hosts)
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		givenUser   githubtest.User
		givenServer githubtest.Config
		whenScopes  []string
		expectEmail string
	}{
		{"verified primary", githubtest.DefaultUser(), githubtest.Config{}, nil, "octocat@github.com"},
		{"unverified primary, another verified", githubtest.User{ID: 7, Login: "ann", Email: "public@example.com", Emails: []githubtest.Email{
			{Email: "ann@example.com", Primary: true}, {Email: "ann@work.example", Verified: true}}}, githubtest.Config{}, nil, ""},
		{"public profile email only", githubtest.User{ID: 8, Login: "bob", Email: "bob@example.com"}, githubtest.Config{}, nil, ""},
		{"no user:email scope", githubtest.DefaultUser(), githubtest.Config{}, []string{"read:user"}, ""},
		{"GitHub App without the email permission", githubtest.DefaultUser(), githubtest.Config{ExpiringTokens: true}, nil, ""},
		{"GitHub App with the email permission", githubtest.DefaultUser(), githubtest.Config{ExpiringTokens: true, EmailPermission: true}, nil, "octocat@github.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.givenServer.Users = []githubtest.User{tc.givenUser}
			s := newServer(t, tc.givenServer)
			p := newProvider(t, s, func(c *github.Config) { c.Scopes = tc.whenScopes })
			code, verifier := authorize(t, s, p)
			tok, err := p.Exchange(context.Background(), code, verifier)
			if err != nil {
				t.Fatal(err)
			}
			id, err := p.Identity(context.Background(), tok)
			if err != nil {
				t.Fatalf("identity: %v", err)
			}
			if id.Email != tc.expectEmail {
				t.Fatalf("Email = %q, want %q", id.Email, tc.expectEmail)
			}
		})
	}
}

// GitHub answers token endpoint errors with status 200 and an error field:
// each becomes a typed error, never a token.
func TestTokenErrors(t *testing.T) {
	t.Parallel()
	const otherRedirect = "http://127.0.0.1/other/callback"
	for _, tc := range []struct {
		name       string
		when       func(t *testing.T, s *githubtest.Server, p *github.Provider) error
		expectCode string
		expectKind error
	}{
		{"unknown code", func(t *testing.T, s *githubtest.Server, p *github.Provider) error {
			_, err := p.Exchange(context.Background(), "not-a-code", provider.NewVerifier())
			return err
		}, githubtest.CodeBadVerificationCode, provider.ErrInvalidGrant},
		{"code used twice", func(t *testing.T, s *githubtest.Server, p *github.Provider) error {
			code, verifier := authorize(t, s, p)
			if _, err := p.Exchange(context.Background(), code, verifier); err != nil {
				t.Fatal(err)
			}
			_, err := p.Exchange(context.Background(), code, verifier)
			return err
		}, githubtest.CodeBadVerificationCode, provider.ErrInvalidGrant},
		{"wrong PKCE verifier", func(t *testing.T, s *githubtest.Server, p *github.Provider) error {
			code, _ := authorize(t, s, p)
			_, err := p.Exchange(context.Background(), code, provider.NewVerifier())
			return err
		}, githubtest.CodeBadVerificationCode, provider.ErrInvalidGrant},
		{"wrong client secret", func(t *testing.T, s *githubtest.Server, _ *github.Provider) error {
			p := newProvider(t, s, func(c *github.Config) { c.ClientSecret = "wrong" })
			code, verifier := authorize(t, s, p)
			_, err := p.Exchange(context.Background(), code, verifier)
			return err
		}, githubtest.CodeIncorrectClientCredentials, provider.ErrRejected},
		{"redirect_uri differs from the authorization's", func(t *testing.T, s *githubtest.Server, p *github.Provider) error {
			code, verifier := authorize(t, s, p)
			other := newProvider(t, s, func(c *github.Config) { c.RedirectURL = otherRedirect })
			_, err := other.Exchange(context.Background(), code, verifier)
			return err
		}, githubtest.CodeRedirectURIMismatch, provider.ErrRejected},
		{"rotated-out refresh token", func(t *testing.T, s *githubtest.Server, p *github.Provider) error {
			code, verifier := authorize(t, s, p)
			tok, err := p.Exchange(context.Background(), code, verifier)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Refresh(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			_, err = p.Refresh(context.Background(), tok)
			return err
		}, githubtest.CodeBadRefreshToken, provider.ErrInvalidGrant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, githubtest.Config{ExpiringTokens: true, Clients: []githubtest.Client{
				{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL, otherRedirect}}}})
			p := newProvider(t, s, nil)
			err := tc.when(t, s, p)
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Code != tc.expectCode || !errors.Is(err, tc.expectKind) || pe.StatusCode != http.StatusOK || pe.Provider != "github" {
				t.Fatalf("err = %v (%+v), want %s matching %v with status 200", err, pe, tc.expectCode, tc.expectKind)
			}
			if strings.Contains(err.Error(), clientSecret) {
				t.Fatal("the error text carries the client secret")
			}
		})
	}
}

func TestGitHubAppRefresh(t *testing.T) {
	t.Parallel()
	s := newServer(t, githubtest.Config{ExpiringTokens: true})
	p := newProvider(t, s, nil)
	code, verifier := authorize(t, s, p)
	tok, err := p.Exchange(context.Background(), code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || time.Until(tok.Expiry) < 7*time.Hour || time.Until(tok.Expiry) > 9*time.Hour {
		t.Fatalf("a GitHub App's expiring token: refresh %t, expiry in %v", tok.RefreshToken != "", time.Until(tok.Expiry))
	}
	next, err := p.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	s := newServer(t, githubtest.Config{})
	p := newProvider(t, s, nil)
	code, verifier := authorize(t, s, p)
	tok, err := p.Exchange(context.Background(), code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Revoke(context.Background(), tok); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	reqs := s.Requests(githubtest.EndpointRevoke)
	if len(reqs) != 1 || reqs[0].Method != http.MethodDelete || reqs[0].URL.Path != "/applications/"+clientID+"/token" || strings.Contains(reqs[0].URL.String(), tok.AccessToken) {
		t.Fatalf("revocation request: %+v", reqs)
	}
	if _, err := p.Identity(context.Background(), tok); !errors.Is(err, provider.ErrUnauthorized) {
		t.Fatalf("identity after revocation: err = %v, want ErrUnauthorized", err)
	}
	if err := p.Revoke(context.Background(), tok); err != nil {
		t.Fatalf("revoking a token GitHub no longer knows: %v", err)
	}
	bad := newProvider(t, s, func(c *github.Config) { c.ClientSecret = "wrong" })
	if err := bad.Revoke(context.Background(), &provider.Token{AccessToken: "gho_x"}); err == nil {
		t.Fatal("revocation with a wrong client secret succeeded")
	}
}

func TestEnterpriseServerURLs(t *testing.T) {
	t.Parallel()
	p, err := github.New(github.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: "https://app.example/auth/github/callback",
		BaseURL: "https://github.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Config(); c.APIURL != "https://github.example.com/api/v3" {
		t.Fatalf("APIURL = %q", c.APIURL)
	}
	if u, _ := url.Parse(p.AuthURL(provider.AuthRequest{State: "s"})); u.Host != "github.example.com" || u.Path != "/login/oauth/authorize" {
		t.Fatalf("auth URL = %s", u)
	}
	if !slices.Equal(p.APIHosts(), []string{"github.example.com"}) {
		t.Fatalf("APIHosts = %v", p.APIHosts())
	}
	def, err := github.New(github.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: "https://app.example/auth/github/callback"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(def.APIHosts(), []string{"api.github.com"}) {
		t.Fatalf("APIHosts = %v", def.APIHosts())
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	valid := github.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: "https://app.example/auth/github/callback"}
	for _, tc := range []struct {
		name   string
		when   func(*github.Config)
		expect string
	}{
		{"no ClientID", func(c *github.Config) { c.ClientID = "" }, "github: invalid config: ClientID is required"},
		{"no ClientSecret", func(c *github.Config) { c.ClientSecret = "" }, "github: invalid config: ClientSecret is required"},
		{"http RedirectURL", func(c *github.Config) { c.RedirectURL = "http://app.example/cb" }, "github: invalid config: RedirectURL must use https"},
		{"http BaseURL", func(c *github.Config) { c.BaseURL = "http://github.example.com" }, "github: invalid config: BaseURL must use https"},
		{"APIURL with a query", func(c *github.Config) { c.APIURL = "https://api.github.com?x=1" }, "github: invalid config: APIURL must not carry a query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.when(&cfg)
			_, err := github.New(cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.expect) || !errors.Is(err, github.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("err = %v, want prefix %q", err, tc.expect)
			}
		})
	}
}
