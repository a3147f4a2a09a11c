package whisk_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk/whisktest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

const fakeRedirect = "https://app.example/auth/whisk/callback"

// fakeClient is the application registered at every fake in these tests;
// its secret has characters that need escaping.
var fakeClient = whisktest.Client{ID: "app-1", Secret: "wh1sk s3cret&/=+%", RedirectURIs: []string{fakeRedirect}}

func newFake(t *testing.T, cfg whisktest.Config) *whisktest.Server {
	t.Helper()
	if cfg.Clients == nil {
		cfg.Clients = []whisktest.Client{fakeClient}
	}
	s := whisktest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// wantError checks that err is a *provider.Error of kind with code, and
// returns it.
func wantError(t *testing.T, err, kind error, code string) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.Is(err, kind) || !errors.As(err, &pe) || pe.Code != code {
		t.Errorf("err = %v, want %v with code %q", err, kind, code)
		return &provider.Error{}
	}
	return pe
}

// loggedIn is a default fake, an adapter for it and a token from a code
// flow.
func loggedIn(t *testing.T) (*whisktest.Server, *whisk.Adapter, *provider.Token) {
	t.Helper()
	s := newFake(t, whisktest.Config{})
	a := mustNew(t, adapterConfig(s))
	return s, a, login(t, s, a, provider.AuthRequest{})
}

// offlineFake is a default fake and an adapter for it that asks for
// offline_access.
func offlineFake(t *testing.T) (*whisktest.Server, *whisk.Adapter) {
	t.Helper()
	s := newFake(t, whisktest.Config{})
	cfg := adapterConfig(s)
	cfg.Offline = true
	return s, mustNew(t, cfg)
}

// adapterConfig points an adapter at s.
func adapterConfig(s *whisktest.Server) whisk.Config {
	return whisk.Config{
		ClientID: fakeClient.ID, ClientSecret: fakeClient.Secret, RedirectURL: fakeRedirect,
		Scopes:      []string{"community.read", "user.profile:read"},
		AuthBaseURL: s.URL, APIBaseURL: s.URL, HTTPClient: s.Client(), Timeout: 2 * time.Second,
	}
}

// login runs authorize (at the fake) and the code exchange with PKCE.
func login(t *testing.T, s *whisktest.Server, a *whisk.Adapter, req provider.AuthRequest) *provider.Token {
	t.Helper()
	verifier := provider.NewVerifier()
	req.State = provider.NewState()
	req.CodeChallenge = provider.S256Challenge(verifier)
	code, state, err := s.AuthorizeCode(context.Background(), a.AuthURL(req))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if state != req.State {
		t.Fatalf("state = %q, want %q", state, req.State)
	}
	tok, err := a.Exchange(context.Background(), code, verifier)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// TestConformance runs the provider contract suite against the fake. The
// string form of scope is covered by TestQuirk2_ScopeArrayOrString.
func TestConformance(t *testing.T) {
	providertest.RunRedirect(t, providertest.RedirectHarness{
		New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
			s := newFake(t, whisktest.Config{RequirePKCE: true, RequireOfflineAccess: true, ReuseDetection: true})
			cfg := adapterConfig(s)
			cfg.HTTPClient = env.Client(s.Client())
			cfg.Offline = true
			// Generous: the oversized reply (1 MiB) must stream in under
			// -race on a loaded machine before the timeout fires.
			cfg.Timeout = 2 * time.Second
			cfg.Logger = env.Logger
			return providertest.RedirectFixture{
				Provider:  mustNew(t, cfg),
				Authorize: s.AuthorizeCode,
				Fail:      func(f providertest.Failure) { s.FailNext(whisktest.EndpointToken, string(f)) },
			}
		},
		RedirectURL:         fakeRedirect,
		Identity:            provider.Identity{Subject: whisktest.DefaultUser().ID, Email: whisktest.DefaultUser().Email, Name: "Casey Cook"},
		Scopes:              []string{"community.read", whisk.OfflineAccess},
		ClientSecret:        fakeClient.Secret,
		RotatesRefreshToken: true,
	})
}

func TestCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	clock := oauth2test.NewClock(time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC))
	s := newFake(t, whisktest.Config{RequirePKCE: true, Now: clock.Now, Users: []whisktest.User{
		{ID: "5f1d00aa", Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", PhotoURL: "https://img.example/ann.png"},
	}})
	cfg := adapterConfig(s)
	cfg.Offline = true
	cfg.IdentityProvider = "google"
	cfg.Now = clock.Now
	a := mustNew(t, cfg)

	tok := login(t, s, a, provider.AuthRequest{})
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || !tok.Expiry.Equal(clock.Now().Add(24*time.Hour)) {
		t.Errorf("token = %v", tok)
	}
	if strings.Join(tok.Scopes, " ") != "community.read user.profile:read offline_access" {
		t.Errorf("scopes = %q", tok.Scopes)
	}
	id, err := a.Identity(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Provider != "whisk" || id.Subject != "5f1d00aa" || id.Email != "ann@example.com" || id.Name != "Ann Lee" || id.Picture != "https://img.example/ann.png" {
		t.Errorf("identity = %+v", id)
	}

	// What went over the wire.
	auth := s.Requests(whisktest.EndpointAuthorize)[0]
	if auth.Params.Get("code_challenge_method") != "S256" || auth.Params.Get("identity_provider") != "google" || auth.Params.Get("state") == "" {
		t.Errorf("authorize params = %v", auth.Params)
	}
	if got := s.IdentityProviders(); len(got) != 1 || got[0] != "google" {
		t.Errorf("identity providers = %q", got)
	}
	me := s.Requests(whisktest.EndpointMe)[0]
	if me.Header.Get("Authorization") != "Bearer "+tok.AccessToken || me.URL.RawQuery != "" {
		t.Errorf("/me sent Authorization %q, query %q", me.Header.Get("Authorization"), me.URL.RawQuery)
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("the fake noticed protocol misuse: %q", w)
	}
}

func TestRefreshFlow(t *testing.T) {
	t.Parallel()
	s, a := offlineFake(t)
	tok := login(t, s, a, provider.AuthRequest{})
	fresh, err := a.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
		t.Errorf("refresh did not return a new set")
	}
	if strings.Join(fresh.Scopes, " ") != strings.Join(tok.Scopes, " ") {
		t.Errorf("scopes after refresh %q, before %q", fresh.Scopes, tok.Scopes)
	}
	ref := s.Requests(whisktest.EndpointRefresh)[0]
	if ref.Params.Get("client_secret") != fakeClient.Secret || ref.Params.Get("refresh_token") != tok.RefreshToken || ref.URL.RawQuery != "" {
		t.Errorf("refresh request params %v query %q", ref.Params, ref.URL.RawQuery)
	}
	// The rotated-out refresh token is dead: ErrInvalidGrant, one call.
	s.ResetCalls()
	if _, err := a.Refresh(context.Background(), tok); !errors.Is(err, provider.ErrInvalidGrant) {
		t.Errorf("old refresh token: err = %v", err)
	}
	if n := s.Calls(whisktest.EndpointRefresh); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
}

func TestExpiredAccessToken(t *testing.T) {
	t.Parallel()
	clock := oauth2test.NewClock(time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC))
	s := newFake(t, whisktest.Config{Now: clock.Now})
	cfg := adapterConfig(s)
	cfg.Now = clock.Now
	a := mustNew(t, cfg)
	tok := login(t, s, a, provider.AuthRequest{})
	clock.Advance(24 * time.Hour)
	if tok.ValidAt(clock.Now()) {
		t.Error("token still valid by its own expiry")
	}
	_, err := a.Identity(context.Background(), tok)
	wantError(t, err, provider.ErrUnauthorized, whisk.CodeTokenExpired)
}

func TestAPIRequest(t *testing.T) {
	t.Parallel()
	_, a, tok := loggedIn(t)
	resp, err := a.APIRequest(context.Background(), "user/v2/me", tok, nil, 0)
	if err != nil || !strings.Contains(string(resp.Body), `"user"`) {
		t.Fatalf("APIRequest: %v", err)
	}
	_, err = a.APIRequest(context.Background(), "/user/v2/me", &provider.Token{AccessToken: "bogus"}, nil, 0)
	pe := wantError(t, err, provider.ErrUnauthorized, whisk.CodeTokenNotFound)
	if pe.Op != "api" {
		t.Errorf("bad token: %v", err)
	}
}

// Quirk 1: scopes may be separated by comma or space; send them joined by
// %20, read both.
func TestQuirk1_ScopeSeparators(t *testing.T) {
	t.Parallel()
	s := newFake(t, whisktest.Config{ScopeAsString: true, GrantScopes: func(req []string) []string {
		return []string{strings.Join(req, ",")} // the reply's scope string is comma separated
	}})
	cfg := adapterConfig(s)
	cfg.Scopes = []string{"community.read,user.profile:read", " cookbook:write ", "community.read"}
	a := mustNew(t, cfg)

	raw := a.AuthURL(provider.AuthRequest{State: "s"})
	if !strings.Contains(raw, "scope=community.read%20user.profile%3Aread%20cookbook%3Awrite&") {
		t.Errorf("scope not space (%%20) joined and deduplicated: %s", raw)
	}
	if strings.Contains(raw, "+") || strings.Contains(raw, "%2C") {
		t.Errorf("auth URL uses + or a comma: %s", raw)
	}
	// Per-login scopes are normalised too.
	_, q := parseAuthURL(t, a.AuthURL(provider.AuthRequest{State: "s", Scopes: []string{"a,b c"}}))
	if q.Get("scope") != "a b c" {
		t.Errorf("per-login scope = %q", q.Get("scope"))
	}
	tok := login(t, s, a, provider.AuthRequest{})
	if strings.Join(tok.Scopes, " ") != "community.read user.profile:read cookbook:write" {
		t.Errorf("comma-separated reply scope read as %q", tok.Scopes)
	}
}

// Quirk 2: the reply's scope may be a JSON array or a string.
func TestQuirk2_ScopeArrayOrString(t *testing.T) {
	t.Parallel()
	for _, asString := range []bool{false, true} {
		s := newFake(t, whisktest.Config{ScopeAsString: asString})
		a := mustNew(t, adapterConfig(s))
		tok := login(t, s, a, provider.AuthRequest{})
		if strings.Join(tok.Scopes, " ") != "community.read user.profile:read" {
			t.Errorf("ScopeAsString=%v: scopes %q", asString, tok.Scopes)
		}
	}
	// Granted less than asked: the token says what was granted.
	s := newFake(t, whisktest.Config{GrantScopes: func([]string) []string { return []string{"community.read"} }})
	tok := login(t, s, mustNew(t, adapterConfig(s)), provider.AuthRequest{})
	if !tok.HasScope("community.read") || tok.HasScope("user.profile:read") {
		t.Errorf("scopes %q", tok.Scopes)
	}
}

// Quirk 3: never copy the sample's secret-in-the-URL token call; send an
// urlencoded body.
func TestQuirk3_SecretInBodyNeverURL(t *testing.T) {
	t.Parallel()
	s, a := offlineFake(t)
	tok := login(t, s, a, provider.AuthRequest{})
	if _, err := a.Refresh(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests(whisktest.EndpointToken)
	if len(reqs) != 2 {
		t.Fatalf("%d token requests", len(reqs))
	}
	for _, r := range reqs {
		if r.Method != http.MethodPost || r.URL.RawQuery != "" {
			t.Errorf("token call %s %s carries a query", r.Method, r.URL)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type = %q", ct)
		}
		if r.Params.Get("client_id") != fakeClient.ID || r.Params.Get("client_secret") != fakeClient.Secret {
			t.Errorf("client credentials not in the body: %v", r.Params.Get("client_id"))
		}
		if r.Header.Get("Authorization") != "" {
			t.Error("client credentials sent as Basic as well")
		}
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept = %q", r.Header.Get("Accept"))
		}
	}
	for _, r := range s.Requests("") {
		if strings.Contains(r.URL.String(), url.QueryEscape(fakeClient.Secret)) || strings.Contains(r.URL.String(), "client_secret") {
			t.Errorf("secret in a URL: %s", r.URL.Path)
		}
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
}

// Quirk 4: user tokens use Bearer; Whisk server and client tokens use the
// Token scheme (and /user/v2/me refuses them).
func TestQuirk4_BearerForUserTokensTokenForServerTokens(t *testing.T) {
	t.Parallel()
	s, a, tok := loggedIn(t)
	r, _ := http.NewRequest(http.MethodGet, s.URL+"/recipe/v2/search", nil)
	a.SetCredential(r, tok)
	if r.Header.Get("Authorization") != "Bearer "+tok.AccessToken {
		t.Errorf("user token header = %q", r.Header.Get("Authorization"))
	}
	server := &provider.Token{AccessToken: "server-token-1", TokenType: "Token"}
	a.SetCredential(r, server)
	if r.Header.Get("Authorization") != "Token server-token-1" {
		t.Errorf("server token header = %q", r.Header.Get("Authorization"))
	}
	odd := &provider.Token{AccessToken: "x", TokenType: "Bearer\r\nX-Evil: 1"}
	a.SetCredential(r, odd)
	if r.Header.Get("Authorization") != "Bearer x" {
		t.Errorf("odd token type leaked into the header: %q", r.Header.Get("Authorization"))
	}
	_, err := a.Identity(context.Background(), server)
	pe := wantError(t, err, provider.ErrRejected, whisk.CodeForbidden)
	if pe.StatusCode != 403 {
		t.Errorf("server token on /me: %v", err)
	}
}

// Quirk 5: refreshing deletes the previous access token at once. The
// adapter returns a whole new set and never retries with the old one.
func TestQuirk5_RefreshKillsOldAccessToken(t *testing.T) {
	t.Parallel()
	s, a := offlineFake(t)
	old := login(t, s, a, provider.AuthRequest{})
	before := old.Clone()

	fresh, err := a.Refresh(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	if old.AccessToken != before.AccessToken || old.RefreshToken != before.RefreshToken {
		t.Error("Refresh modified the token it was given")
	}
	if _, err := a.Identity(context.Background(), fresh); err != nil {
		t.Errorf("new access token refused: %v", err)
	}
	s.ResetCalls()
	_, err = a.Identity(context.Background(), old)
	wantError(t, err, provider.ErrUnauthorized, whisk.CodeTokenNotFound)
	if n := s.Calls(whisktest.EndpointMe); n != 1 {
		t.Errorf("/me calls with the dead token = %d, want exactly 1 (no retry)", n)
	}

	// A refresh that fails transiently is one call, not retried, and leaves
	// the caller's set untouched.
	s.ResetCalls()
	s.FailNext(whisktest.EndpointRefresh, oauth2test.FaultUnavailable)
	if _, err := a.Refresh(context.Background(), fresh); !provider.IsTransient(err) {
		t.Errorf("injected 503: %v", err)
	}
	if n := s.Calls(whisktest.EndpointRefresh); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
	if _, err := a.Identity(context.Background(), fresh); err != nil {
		t.Errorf("set after a failed refresh: %v", err)
	}

	// Concurrent refreshes of the same set: exactly one wins upstream;
	// the others get ErrInvalidGrant, never a half-swapped token.
	var wg sync.WaitGroup
	results := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := a.Refresh(context.Background(), fresh)
			if err == nil && (tok.AccessToken == "" || tok.RefreshToken == fresh.RefreshToken) {
				err = errors.New("incomplete token set")
			}
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, provider.ErrInvalidGrant):
			t.Errorf("concurrent refresh: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent refreshes succeeded, want 1", wins)
	}
}

// Quirk 6: user data is wrapped in {"user": ...}; *_INVALID enums and empty
// strings mean unset.
func TestQuirk6_UserWrapperAndUnsetValues(t *testing.T) {
	t.Parallel()
	s := newFake(t, whisktest.Config{Users: []whisktest.User{{ID: "a1b2c3", LastName: "Solo"}}})
	a := mustNew(t, adapterConfig(s))
	id, err := a.Identity(context.Background(), login(t, s, a, provider.AuthRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "a1b2c3" || id.Email != "" || id.Name != "Solo" || id.Picture != "" {
		t.Errorf("identity = %+v", id)
	}
	details, _ := id.Raw["user_settings"].(map[string]any)["personal_details"].(map[string]any)
	for _, k := range []string{"gender", "activity_level", "first_name", "photo_url", "country"} {
		if _, present := details[k]; present {
			t.Errorf("unset %s kept in Raw: %v", k, details[k])
		}
	}
	if details["last_name"] != "Solo" {
		t.Errorf("set value dropped from Raw: %v", details)
	}
	if _, present := details["height"].(map[string]any)["unit"]; present {
		t.Error("nested UNIT_INVALID kept in Raw")
	}
	if _, present := id.Raw["email"]; present {
		t.Error("empty email kept in Raw")
	}
}

// Quirk 7: error bodies use "code", not the OAuth "error" field.
func TestQuirk7_ErrorBodiesUseCode(t *testing.T) {
	t.Parallel()
	s, a := offlineFake(t)
	tok := login(t, s, a, provider.AuthRequest{})
	cases := []struct {
		status   int
		code     string
		wantKind error
	}{
		{401, "auth.tokenExpired", provider.ErrUnauthorized},
		{401, "auth.tokenRequired", provider.ErrUnauthorized},
		{403, "authorization.scopeRequired", provider.ErrRejected},
		{400, "general.badRequest", provider.ErrRejected},
		{500, "general.internal", provider.ErrUnavailable},
	}
	for _, tc := range cases {
		s.Fail(whisktest.EndpointMe, whisktest.ErrorFailure(tc.status, tc.code))
		_, err := a.Identity(context.Background(), tok)
		wantError(t, err, tc.wantKind, tc.code)
	}
	// The same codes at the token endpoint: a dead grant.
	s.Fail(whisktest.EndpointRefresh, whisktest.ErrorFailure(401, "auth.tokenNotFound"))
	if _, err := a.Refresh(context.Background(), tok); !errors.Is(err, provider.ErrInvalidGrant) {
		t.Errorf("refresh with auth.tokenNotFound: %v", err)
	}
}

// Quirk 8: redirect URIs are registered out of band; a mismatch fails.
func TestQuirk8_UnregisteredRedirectURI(t *testing.T) {
	t.Parallel()
	s := newFake(t, whisktest.Config{})
	cfg := adapterConfig(s)
	cfg.RedirectURL = "https://app.example/auth/whisk/other-callback"
	a := mustNew(t, cfg)
	_, err := s.Authorize(context.Background(), a.AuthURL(provider.AuthRequest{State: "s"}))
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("authorize with an unregistered redirect: %v, want 400 without redirect", err)
	}
	// A code issued for the registered URI cannot be redeemed by an
	// adapter configured with another one.
	good := mustNew(t, adapterConfig(s))
	verifier := provider.NewVerifier()
	code, _, err := s.AuthorizeCode(context.Background(), good.AuthURL(provider.AuthRequest{State: "s", CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exchange(context.Background(), code, verifier); !errors.Is(err, provider.ErrInvalidGrant) {
		t.Errorf("exchange with a different redirect_uri: %v", err)
	}
}
