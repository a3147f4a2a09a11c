package startgg_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg/startggtest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

// fixture is the adapter wired to a fake start.gg sharing one clock.
type fixture struct {
	fake  *startggtest.Server
	a     *startgg.Adapter
	clock *oauth2test.Clock
}

func newFixture(t *testing.T, fcfg startggtest.Config, mutate ...func(*startgg.Config)) *fixture {
	t.Helper()
	clock := oauth2test.NewClock(testEpoch)
	fcfg.ClientID, fcfg.ClientSecret = testClientID, testSecret
	fcfg.RedirectURIs = []string{testRedirect}
	fcfg.Now = clock.Now
	fake := startggtest.NewServer(fcfg)
	t.Cleanup(fake.Close)
	cfg := startgg.Config{
		ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect,
		AuthBaseURL: fake.URL, APIBaseURL: fake.URL, Now: clock.Now, Timeout: 2 * time.Second,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	a, err := startgg.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{fake: fake, a: a, clock: clock}
}

// authorize runs the browser part (authorize, auto-approved) with PKCE,
// checking state on the way back.
func (f *fixture) authorize(t *testing.T) (code, verifier string) {
	t.Helper()
	state, verifier := provider.NewState(), provider.NewVerifier()
	code, gotState, err := f.fake.AuthorizeCode(context.Background(),
		f.a.AuthURL(provider.AuthRequest{State: state, CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if gotState != state {
		t.Fatalf("state came back as %q", gotState)
	}
	return code, verifier
}

// login is authorize plus the code exchange.
func (f *fixture) login(t *testing.T) *provider.Token {
	t.Helper()
	code, verifier := f.authorize(t)
	tok, err := f.a.Exchange(context.Background(), code, verifier)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

func TestCodeFlowWithPKCEAgainstFake(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startggtest.Config{})
	tok := f.login(t)
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || !tok.Expiry.Equal(testEpoch.Add(7*24*time.Hour)) {
		t.Errorf("token = %v, want Bearer, a refresh token, 7-day expiry", tok)
	}
	id, err := f.a.Identity(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "123456" || id.Provider != "startgg" || id.Email != "" || id.Name == "" {
		t.Errorf("Identity = %+v", id)
	}

	f.clock.Advance(7*24*time.Hour - time.Minute)
	fresh, err := f.a.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Error("refresh did not rotate the token set")
	}
	f.clock.Advance(2 * time.Minute) // the first access token is dead now
	if _, err := f.a.Identity(context.Background(), tok); !errors.Is(err, provider.ErrUnauthorized) {
		t.Errorf("Identity with the expired token = %v, want ErrUnauthorized", err)
	}
	if id2, err := f.a.Identity(context.Background(), fresh); err != nil || id2.Subject != id.Subject {
		t.Errorf("Identity with the refreshed token = %+v, %v", id2, err)
	}

	if n := f.fake.Calls(oauth2test.EndpointToken); n != 2 {
		t.Errorf("token endpoint calls = %d, want 2", n)
	}
	if n := f.fake.Calls(oauth2test.EndpointRefresh); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
	if n := f.fake.Calls(startggtest.EndpointGraphQL); n != 3 {
		t.Errorf("GraphQL calls = %d, want 3", n)
	}
	if w := f.fake.Warnings(); len(w) != 0 {
		t.Errorf("fake warnings: %v", w)
	}
	for _, r := range f.fake.Requests("") {
		if strings.Contains(r.URL.String(), testSecret) || r.URL.Query().Has("client_secret") {
			t.Errorf("%s %s carries the client secret in its URL", r.Method, r.URL.Path)
		}
		if r.Endpoint == oauth2test.EndpointToken && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("token request Content-Type = %q", r.Header.Get("Content-Type"))
		}
	}
}

func TestIdentityAgainstFake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		stringIDs bool
		scopes    []string
		grant     func([]string) []string
		wantEmail string
		wantCalls int
	}{
		{"numeric id, no email", false, nil, nil, "", 1},
		{"string id, no email", true, nil, nil, "", 1},
		{"numeric id with email", false, []string{"user.identity", "user.email"}, nil, "player123456@example.test", 1},
		{"string id with email", true, []string{"user.identity", "user.email"}, nil, "player123456@example.test", 1},
		{"email asked but not granted", false, []string{"user.identity", "user.email"},
			func([]string) []string { return []string{"user.identity"} }, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, startggtest.Config{StringIDs: tt.stringIDs, GrantScopes: tt.grant}, func(c *startgg.Config) {
				if tt.scopes != nil {
					c.Scopes = tt.scopes
				}
			})
			id, err := f.a.Identity(context.Background(), f.login(t))
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != "123456" || id.Email != tt.wantEmail || id.Raw["gamerTag"] != "Tag123456" {
				t.Errorf("Identity = %+v, want subject 123456, email %q", id, tt.wantEmail)
			}
			if n := f.fake.Calls(startggtest.EndpointGraphQL); n != tt.wantCalls {
				t.Errorf("GraphQL calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestDeadGrantsAgainstFake(t *testing.T) {
	t.Parallel()
	t.Run("replayed code", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, startggtest.Config{})
		code, verifier := f.authorize(t)
		if _, err := f.a.Exchange(context.Background(), code, verifier); err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.Exchange(context.Background(), code, verifier); !errors.Is(err, provider.ErrInvalidGrant) {
			t.Errorf("replayed code = %v, want ErrInvalidGrant", err)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, startggtest.Config{})
		code, verifier := f.authorize(t)
		f.clock.Advance(11 * time.Minute)
		if _, err := f.a.Exchange(context.Background(), code, verifier); !errors.Is(err, provider.ErrInvalidGrant) {
			t.Errorf("expired code = %v, want ErrInvalidGrant", err)
		}
	})
	t.Run("unknown refresh token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, startggtest.Config{})
		_, err := f.a.Refresh(context.Background(), &provider.Token{AccessToken: "x", RefreshToken: "never-issued"})
		if !errors.Is(err, provider.ErrInvalidGrant) {
			t.Errorf("unknown refresh token = %v, want ErrInvalidGrant", err)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, startggtest.Config{}, func(c *startgg.Config) { c.ClientSecret = "wrong-secret" })
		_, err := f.a.Refresh(context.Background(), &provider.Token{AccessToken: "x", RefreshToken: "rt"})
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.StatusCode != 400 || !errors.Is(err, provider.ErrInvalidGrant) {
			t.Errorf("wrong secret = %v, want a 400 start.gg envelope read as ErrInvalidGrant", err)
		}
	})
}

func TestRefreshRotationAgainstFake(t *testing.T) {
	t.Parallel()
	t.Run("lenient: old refresh token works until the new access token is used", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, startggtest.Config{})
		tok := f.login(t)
		second, err := f.a.Refresh(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		// The reply was lost (say the session store failed): the old
		// refresh token still works.
		third, err := f.a.Refresh(context.Background(), tok)
		if err != nil {
			t.Fatalf("retry with the old refresh token: %v", err)
		}
		if third.RefreshToken == second.RefreshToken {
			t.Error("retry returned the same refresh token")
		}
		if _, err := f.a.Identity(context.Background(), third); err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.Refresh(context.Background(), tok); !errors.Is(err, provider.ErrInvalidGrant) {
			t.Errorf("old refresh token after the new access token's use = %v, want ErrInvalidGrant", err)
		}
		if _, err := f.a.Refresh(context.Background(), third); err != nil {
			t.Errorf("newest refresh token: %v", err)
		}
	})
	t.Run("strict: old refresh token dies at once", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, startggtest.Config{StrictRotation: true})
		tok := f.login(t)
		if _, err := f.a.Refresh(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.Refresh(context.Background(), tok); !errors.Is(err, provider.ErrInvalidGrant) {
			t.Errorf("reused refresh token = %v, want ErrInvalidGrant", err)
		}
	})
}

func TestRateLimitAgainstFake(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startggtest.Config{})
	tok := f.login(t)
	for _, ep := range []oauth2test.Endpoint{oauth2test.EndpointRefresh, startggtest.EndpointGraphQL} {
		f.fake.RateLimit(ep, 1)
	}
	_, rerr := f.a.Refresh(context.Background(), tok)
	_, ierr := f.a.Identity(context.Background(), tok)
	for name, err := range map[string]error{"refresh": rerr, "identity": ierr} {
		if !errors.Is(err, provider.ErrUnavailable) || errors.Is(err, provider.ErrInvalidGrant) {
			t.Errorf("%s under rate limit = %v, want ErrUnavailable only", name, err)
		}
		if provider.RetryAfter(err) != time.Minute {
			t.Errorf("%s RetryAfter = %v, want 1m", name, provider.RetryAfter(err))
		}
	}
	// The limit has passed: both work again, and the refresh token was
	// not burnt by the rejected call.
	if _, err := f.a.Refresh(context.Background(), tok); err != nil {
		t.Errorf("refresh after the rate limit: %v", err)
	}
}

// The quirks against the fake: the fake requires what start.gg documents,
// so these prove the adapter sends it.
func TestQuirksAgainstFake(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startggtest.Config{}, func(c *startgg.Config) {
		c.Scopes = []string{startgg.ScopeIdentity, startgg.ScopeTournamentReporter}
	})
	tok := f.login(t)
	if _, err := f.a.Refresh(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.fake.Requests(oauth2test.EndpointToken) {
		for _, k := range []string{"grant_type", "client_id", "client_secret", "scope", "redirect_uri"} {
			if r.Params.Get(k) == "" {
				t.Errorf("%s: %s missing", r.URL.Path, k)
			}
		}
		if r.Params.Get("scope") != "user.identity tournament.reporter" {
			t.Errorf("%s scope = %q", r.URL.Path, r.Params.Get("scope"))
		}
	}
	auth := f.fake.Requests(oauth2test.EndpointAuthorize)
	if len(auth) != 1 {
		t.Fatalf("%d authorize requests", len(auth))
	}
	if raw := auth[0].URL.RawQuery; !strings.Contains(raw, "scope=user.identity%20tournament.reporter") {
		t.Errorf("authorize query %q: want scopes separated by %%20", raw)
	}
}

func TestProviderConformance(t *testing.T) {
	providertest.RunRedirect(t, providertest.RedirectHarness{
		New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
			fake := startggtest.NewServer(startggtest.Config{
				ClientID: testClientID, ClientSecret: testSecret, RedirectURIs: []string{testRedirect},
			})
			t.Cleanup(fake.Close)
			a, err := startgg.New(startgg.Config{
				ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect,
				Scopes:      []string{startgg.ScopeIdentity, startgg.ScopeEmail},
				AuthBaseURL: fake.URL, APIBaseURL: fake.URL, HTTPClient: env.Client(fake.Client()),
				Timeout: time.Second, Logger: env.Logger,
			})
			if err != nil {
				t.Fatal(err)
			}
			return providertest.RedirectFixture{
				Provider:  a,
				Authorize: fake.AuthorizeCode,
				Fail:      func(fl providertest.Failure) { fake.FailNext(oauth2test.EndpointToken, string(fl)) },
			}
		},
		RedirectURL:         testRedirect,
		Identity:            provider.Identity{Subject: "123456"}, // the fake's first user
		Scopes:              []string{startgg.ScopeIdentity, startgg.ScopeEmail},
		ClientSecret:        testSecret,
		RotatesRefreshToken: true,
		NoRevocation:        true, // start.gg documents no revocation endpoint
	})
}

func TestRevokeIsANoOp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startggtest.Config{})
	tok := f.login(t)
	f.fake.ResetCalls()
	if err := f.a.Revoke(context.Background(), tok); err != nil {
		t.Fatalf("Revoke = %v, want nil (start.gg has no revocation endpoint)", err)
	}
	if reqs := f.fake.Requests(""); len(reqs) != 0 {
		t.Errorf("Revoke made %d upstream calls, want 0", len(reqs))
	}
	if _, err := f.a.Identity(context.Background(), tok); err != nil {
		t.Errorf("token unusable after the no-op Revoke: %v", err)
	}
}

// The fake and the adapter agree on the URL layout: one base URL serves
// both "hosts".
func TestFakeServesBothHosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startggtest.Config{})
	u, _ := url.Parse(f.a.AuthURL(provider.AuthRequest{State: "s"}))
	if u.Scheme+"://"+u.Host+u.Path != f.fake.AuthorizeURL() {
		t.Errorf("AuthURL %s is not the fake's %s", u.Redacted(), f.fake.AuthorizeURL())
	}
	if f.a.GraphQLURL() != f.fake.GraphQLURL() {
		t.Errorf("GraphQLURL %s, fake %s", f.a.GraphQLURL(), f.fake.GraphQLURL())
	}
}
