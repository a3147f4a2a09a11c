package startgg_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	a, err := startgg.New(startgg.Config{ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "startgg" {
		t.Errorf("Name = %q, want startgg", a.Name())
	}
	if got := a.Scopes(); !reflect.DeepEqual(got, []string{"user.identity"}) {
		t.Errorf("Scopes = %v, want [user.identity]", got)
	}
	if a.GraphQLURL() != "https://api.start.gg/gql/alpha" {
		t.Errorf("GraphQLURL = %q", a.GraphQLURL())
	}
	u, err := url.Parse(a.AuthURL(provider.AuthRequest{State: "st"}))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "start.gg" || u.Path != "/oauth/authorize" {
		t.Errorf("AuthURL = %s, want https://start.gg/oauth/authorize?...", u.Redacted())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	good := startgg.Config{ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect}
	tests := []struct {
		name      string
		when      func(*startgg.Config)
		expectErr string // the whole message: this package's name, then the field
	}{
		{"no client id", func(c *startgg.Config) { c.ClientID = "" }, "startgg: invalid config: ClientID is required"},
		{"no client secret", func(c *startgg.Config) { c.ClientSecret = "" }, "startgg: invalid config: ClientSecret is required"},
		{"http redirect url off loopback", func(c *startgg.Config) { c.RedirectURL = "http://app.example/cb" },
			"startgg: invalid config: RedirectURL must use https (http is allowed on loopback hosts only)"},
		{"http auth base off loopback", func(c *startgg.Config) { c.AuthBaseURL = "http://start.gg" },
			"startgg: invalid config: AuthBaseURL must use https (http is allowed on loopback hosts only)"},
		{"http api base off loopback", func(c *startgg.Config) { c.APIBaseURL = "http://api.start.gg" },
			"startgg: invalid config: APIBaseURL must use https (http is allowed on loopback hosts only)"},
		{"api base with query", func(c *startgg.Config) { c.APIBaseURL = "https://api.start.gg/?x=1" }, "startgg: invalid config: APIBaseURL must not carry a query"},
		{"api base with userinfo", func(c *startgg.Config) { c.APIBaseURL = "https://u:p@api.start.gg" },
			"startgg: invalid config: APIBaseURL must not carry userinfo or a fragment"},
		{"relative auth base", func(c *startgg.Config) { c.AuthBaseURL = "/oauth" }, "startgg: invalid config: AuthBaseURL must be an absolute URL"},
		{"scopes without user.identity", func(c *startgg.Config) { c.Scopes = []string{"user.email"} },
			`startgg: invalid config: Scopes must include "user.identity" (the identity query needs it)`},
		{"scope with a separator", func(c *startgg.Config) { c.Scopes = []string{"user.identity", "user.email,x"} },
			`startgg: invalid config: Scopes: entry "user.email,x" is empty or contains a separator`},
		{"name with a slash", func(c *startgg.Config) { c.Name = "start/gg" },
			`startgg: invalid config: Name must be a non-empty URL path segment (got "start/gg")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tt.when(&cfg)
			a, err := startgg.New(cfg)
			if !errors.Is(err, startgg.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("New = %v, %v; want an error matching startgg.ErrConfig and oauth2.ErrConfig", a, err)
			}
			if err.Error() != tt.expectErr {
				t.Errorf("error = %q\nwant    %q", err, tt.expectErr)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q leaks the client secret", err)
			}
		})
	}
}

func TestAuthURL(t *testing.T) {
	t.Parallel()
	a, err := startgg.New(startgg.Config{ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect,
		Scopes: []string{startgg.ScopeIdentity, startgg.ScopeEmail}})
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.NewVerifier()
	raw := a.AuthURL(provider.AuthRequest{
		State:         "state-123",
		CodeChallenge: provider.S256Challenge(verifier),
		Scopes:        []string{"tournament.manager"}, // ignored: see AuthURL
		Params:        url.Values{"client_secret": {"x"}, "response_type": {"token"}, "extra": {"1"}},
	})
	if strings.Contains(raw, "+") {
		t.Errorf("AuthURL %q encodes a space as +, want %%20", raw)
	}
	if !strings.Contains(raw, "scope=user.identity%20user.email") {
		t.Errorf("AuthURL %q: want scope=user.identity%%20user.email", raw)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	want := map[string]string{
		"response_type":         "code",
		"client_id":             testClientID,
		"redirect_uri":          testRedirect,
		"scope":                 "user.identity user.email",
		"state":                 "state-123",
		"code_challenge":        provider.S256Challenge(verifier),
		"code_challenge_method": "S256",
		"extra":                 "1",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if q.Has("client_secret") || strings.Contains(raw, testSecret) {
		t.Errorf("AuthURL %q carries a client secret", raw)
	}
	if strings.Contains(raw, verifier) {
		t.Errorf("AuthURL carries the PKCE verifier")
	}
}

// Quirk 1: token and refresh requests are JSON, and refresh has its own URL.
func TestQuirk1_JSONBodiesAndSeparateRefreshURL(t *testing.T) {
	t.Parallel()
	stub := newStub(t, map[string][]canned{
		"/oauth/access_token": {{body: tokenReply}},
		"/oauth/refresh":      {{body: `{"access_token":"at-2","token_type":"Bearer","expires_in":604800,"refresh_token":"rt-2"}`}},
	})
	a := newAdapter(t, stub)
	tok, err := a.Exchange(context.Background(), "the-code", "the-verifier")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	reqs := stub.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	wantBodies := []map[string]any{
		{"grant_type": "authorization_code", "client_id": testClientID, "client_secret": testSecret,
			"code": "the-code", "scope": "user.identity", "redirect_uri": testRedirect, "code_verifier": "the-verifier"},
		{"grant_type": "refresh_token", "refresh_token": "rt-1", "scope": "user.identity",
			"client_id": testClientID, "client_secret": testSecret, "redirect_uri": testRedirect},
	}
	for i, path := range []string{"/oauth/access_token", "/oauth/refresh"} {
		r := reqs[i]
		if r.Method != http.MethodPost || r.Path != path {
			t.Errorf("request %d = %s %s, want POST %s", i, r.Method, r.Path, path)
		}
		if r.ContentType != "application/json" {
			t.Errorf("request %d Content-Type = %q, want application/json", i, r.ContentType)
		}
		if !reflect.DeepEqual(r.JSON, wantBodies[i]) {
			t.Errorf("request %d body = %s\nwant %v", i, r.Raw, wantBodies[i])
		}
		if r.RawQuery != "" || r.Authorization != "" {
			t.Errorf("request %d: query %q, Authorization %q; want neither", i, r.RawQuery, r.Authorization)
		}
	}
}

// Quirk 2: scope is sent again on exchange and refresh; the replies carry
// no scope, so the requested list is kept.
func TestQuirk2_ScopeResentAndKept(t *testing.T) {
	t.Parallel()
	scopes := []string{startgg.ScopeIdentity, startgg.ScopeEmail, startgg.ScopeTournamentReporter}
	stub := newStub(t, map[string][]canned{
		"/oauth/access_token": {{body: tokenReply}},
		"/oauth/refresh":      {{body: `{"access_token":"at-2","token_type":"Bearer","expires_in":604800,"refresh_token":"rt-2"}`}},
	})
	a := newAdapter(t, stub, func(c *startgg.Config) { c.Scopes = scopes })
	tok, err := a.Exchange(context.Background(), "c", "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tok.Scopes, scopes) {
		t.Errorf("exchanged token Scopes = %v, want %v", tok.Scopes, scopes)
	}
	fresh, err := a.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fresh.Scopes, scopes) {
		t.Errorf("refreshed token Scopes = %v, want %v", fresh.Scopes, scopes)
	}
	for i, r := range stub.requests() {
		if got := r.JSON["scope"]; got != "user.identity user.email tournament.reporter" {
			t.Errorf("request %d (%s) scope = %v, want the space-separated list", i, r.Path, got)
		}
	}
}

// Quirk 3: the client secret never goes into the authorize URL (the docs'
// sample puts it there), only into the server-to-server JSON body.
func TestQuirk3_NoClientSecretInAuthorizeURL(t *testing.T) {
	t.Parallel()
	stub := newStub(t, map[string][]canned{"/oauth/access_token": {{body: tokenReply}}})
	a := newAdapter(t, stub)
	raw := a.AuthURL(provider.AuthRequest{State: "s", Params: url.Values{"client_secret": {testSecret}}})
	u, _ := url.Parse(raw)
	if strings.Contains(raw, testSecret) || u.Query().Has("client_secret") {
		t.Fatalf("authorize URL carries client_secret: %q", raw)
	}
	if u.Query().Get("redirect_uri") != testRedirect {
		t.Errorf("redirect_uri = %q, want the configured one (the docs' sample leaves it empty)", u.Query().Get("redirect_uri"))
	}
	if _, err := a.Exchange(context.Background(), "c", "v"); err != nil {
		t.Fatal(err)
	}
	r := stub.requests()[0]
	if r.JSON["client_secret"] != testSecret {
		t.Errorf("exchange body client_secret = %v, want it there", r.JSON["client_secret"])
	}
	if strings.Contains(r.RawQuery, testSecret) {
		t.Errorf("exchange URL query carries the secret")
	}
}

// Quirk 4: authorize on start.gg, token/refresh/API on api.start.gg; https
// only (the docs' samples use http://).
func TestQuirk4_SeparateHostsAndHTTPSOnly(t *testing.T) {
	t.Parallel()
	a, err := startgg.New(startgg.Config{ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(a.AuthURL(provider.AuthRequest{State: "s"}))
	if u.Scheme+"://"+u.Host != startgg.DefaultAuthBaseURL {
		t.Errorf("authorize host = %s://%s, want %s", u.Scheme, u.Host, startgg.DefaultAuthBaseURL)
	}
	if a.GraphQLURL() != startgg.DefaultAPIBaseURL+"/gql/alpha" {
		t.Errorf("GraphQL URL = %s", a.GraphQLURL())
	}
	for _, bad := range []startgg.Config{
		{AuthBaseURL: "http://start.gg"},
		{APIBaseURL: "http://api.start.gg"},
	} {
		bad.ClientID, bad.ClientSecret, bad.RedirectURL = testClientID, testSecret, testRedirect
		if _, err := startgg.New(bad); !errors.Is(err, oauth2.ErrConfig) {
			t.Errorf("New with plain-http base %+v = %v, want ErrConfig", bad.AuthBaseURL+bad.APIBaseURL, err)
		}
	}
	// Two distinct hosts, each getting only its own traffic.
	api := newStub(t, map[string][]canned{"/oauth/access_token": {{body: tokenReply}}})
	b := newAdapter(t, api, func(c *startgg.Config) { c.AuthBaseURL = "http://127.0.0.2:1/base/" })
	au, _ := url.Parse(b.AuthURL(provider.AuthRequest{State: "s"}))
	if au.Host != "127.0.0.2:1" || au.Path != "/base/oauth/authorize" {
		t.Errorf("authorize URL = %s, want http://127.0.0.2:1/base/oauth/authorize", au.Redacted())
	}
	if _, err := b.Exchange(context.Background(), "c", ""); err != nil {
		t.Fatal(err)
	}
	if r := api.requests(); len(r) != 1 || r[0].Path != "/oauth/access_token" {
		t.Errorf("api host saw %v", r)
	}
}

const userNumeric = `{"data":{"currentUser":{"id":123456,"slug":"user/1a2b3c4d","name":"Ada","discriminator":"1a2b3c4d","player":{"id":98765,"gamerTag":"Tag","prefix":null}}}}`

// Quirk 5: no userinfo endpoint; identity is the GraphQL currentUser query.
func TestQuirk5_IdentityFromGraphQLCurrentUser(t *testing.T) {
	t.Parallel()
	stub := newStub(t, map[string][]canned{"/gql/alpha": {{body: userNumeric}}})
	a := newAdapter(t, stub)
	id, err := a.Identity(context.Background(), &provider.Token{AccessToken: "at-1", TokenType: "Bearer", Scopes: []string{"user.identity"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &provider.Identity{Provider: "startgg", Subject: "123456", Name: "Ada",
		Raw: map[string]any{"id": "123456", "slug": "user/1a2b3c4d", "discriminator": "1a2b3c4d", "name": "Ada", "gamerTag": "Tag"}}
	if !reflect.DeepEqual(id, want) {
		t.Errorf("Identity = %+v\nwant %+v", id, want)
	}
	reqs := stub.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/gql/alpha" || r.ContentType != "application/json" {
		t.Errorf("request = %s %s %s, want POST /gql/alpha application/json", r.Method, r.Path, r.ContentType)
	}
	if r.Authorization != "Bearer at-1" {
		t.Errorf("Authorization = %q, want Bearer at-1", r.Authorization)
	}
	q, _ := r.JSON["query"].(string)
	if !strings.Contains(q, "currentUser") || strings.Contains(q, "email") {
		t.Errorf("query %q: want currentUser without email (no user.email scope)", q)
	}
	if r.JSON["operationName"] != "GatehouseIdentity" {
		t.Errorf("operationName = %v", r.JSON["operationName"])
	}
}

// Quirk 6: GraphQL errors arrive with HTTP 200; errors and a null
// currentUser are typed errors.
func TestQuirk6_GraphQLErrorsInside200(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		wantKind error
		wantGQL  bool
	}{
		{"errors with null user", `{"data":{"currentUser":null},"errors":[{"message":"Not authorized"}]}`, provider.ErrRejected, true},
		{"errors with partial data", `{"data":{"currentUser":{"id":1}},"errors":[{"message":"x"}]}`, provider.ErrRejected, true},
		{"errors without data", `{"errors":[{"message":"Syntax"}]}`, provider.ErrRejected, true},
		{"null user, no errors", `{"data":{"currentUser":null}}`, provider.ErrRejected, false},
		{"no data", `{}`, provider.ErrBadResponse, false},
		{"success false inside 200", `{"success":false,"message":"Invalid authentication token"}`, provider.ErrRejected, false},
		{"errors not an array", `{"data":null,"errors":"boom"}`, provider.ErrBadResponse, false},
		{"user without id", `{"data":{"currentUser":{"slug":"user/x"}}}`, provider.ErrBadResponse, false},
		{"fractional id", `{"data":{"currentUser":{"id":1.5}}}`, provider.ErrBadResponse, false},
		{"html", `<html>oops</html>`, provider.ErrBadResponse, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub := newStub(t, map[string][]canned{"/gql/alpha": {{body: tt.body}}})
			a := newAdapter(t, stub)
			id, err := a.Identity(context.Background(), &provider.Token{AccessToken: "at-secret-value", TokenType: "Bearer"})
			if !errors.Is(err, tt.wantKind) {
				t.Fatalf("Identity = %+v, %v; want %v", id, err, tt.wantKind)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Op != "identity" || pe.Provider != "startgg" {
				t.Errorf("error %v is not a *provider.Error labelled startgg/identity", err)
			}
			var ge *startgg.GraphQLError
			if errors.As(err, &ge) != tt.wantGQL {
				t.Errorf("errors.As(*GraphQLError) = %v, want %v", !tt.wantGQL, tt.wantGQL)
			}
			if strings.Contains(err.Error(), "at-secret-value") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

// Quirk 7: client_id is numeric but sent as a JSON string.
func TestQuirk7_ClientIDSentAsJSONString(t *testing.T) {
	t.Parallel()
	stub := newStub(t, map[string][]canned{
		"/oauth/access_token": {{body: tokenReply}},
		"/oauth/refresh":      {{body: tokenReply}},
	})
	a := newAdapter(t, stub)
	tok, err := a.Exchange(context.Background(), "c", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	for _, r := range stub.requests() {
		if !strings.Contains(string(r.Raw), `"client_id":"4242"`) {
			t.Errorf("%s body %s: want client_id as the JSON string \"4242\"", r.Path, r.Raw)
		}
	}
}

// Quirk 8: errors use {success:false, message}, not error/error_description.
func TestQuirk8_SuccessFalseMessageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		path       string
		reply      canned
		wantKind   error
		wantDesc   string
		wantRetry  time.Duration
		notKindsOf []error
	}{
		{"used code", "/oauth/access_token", canned{status: 400, body: `{"success":false,"message":"Invalid authorization code"}`},
			provider.ErrInvalidGrant, "Invalid authorization code", 0, nil},
		{"unknown refresh token", "/oauth/refresh", canned{status: 400, body: `{"success":false,"message":"Invalid refresh token"}`},
			provider.ErrInvalidGrant, "Invalid refresh token", 0, nil},
		{"rate limited", "/oauth/refresh", canned{status: 429, body: `{"success":false,"message":"Rate limit exceeded - api-token"}`, header: http.Header{"Retry-After": {"60"}}},
			provider.ErrUnavailable, "Rate limit exceeded - api-token", time.Minute, []error{provider.ErrInvalidGrant}},
		{"rate limited with a 400", "/oauth/access_token", canned{status: 400, body: `{"success":false,"message":"Rate limit exceeded - api-token"}`},
			provider.ErrUnavailable, "Rate limit exceeded - api-token", 0, []error{provider.ErrInvalidGrant}},
		{"server error", "/oauth/access_token", canned{status: 502, body: `<html>bad gateway</html>`},
			provider.ErrUnavailable, "", 0, []error{provider.ErrInvalidGrant}},
		{"401 on token endpoint", "/oauth/access_token", canned{status: 401, body: `{"success":false,"message":"Invalid client"}`},
			provider.ErrRejected, "Invalid client", 0, []error{provider.ErrInvalidGrant}},
		{"400 that is not start.gg's", "/oauth/access_token", canned{status: 400, body: `<html>proxy</html>`},
			provider.ErrRejected, "", 0, []error{provider.ErrInvalidGrant}},
		{"RFC 6749 body understood too", "/oauth/refresh", canned{status: 400, body: `{"error":"invalid_grant","error_description":"expired"}`},
			provider.ErrInvalidGrant, "expired", 0, nil},
		{"2xx with success false", "/oauth/access_token", canned{status: 200, body: `{"success":false,"message":"nope"}`},
			provider.ErrBadResponse, "", 0, []error{provider.ErrInvalidGrant}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub := newStub(t, map[string][]canned{tt.path: {tt.reply}})
			a := newAdapter(t, stub)
			var err error
			if tt.path == "/oauth/refresh" {
				_, err = a.Refresh(context.Background(), &provider.Token{AccessToken: "at", RefreshToken: "rt-secret-value"})
			} else {
				_, err = a.Exchange(context.Background(), "code-secret-value", "verifier-secret-value")
			}
			if !errors.Is(err, tt.wantKind) {
				t.Fatalf("err = %v, want %v", err, tt.wantKind)
			}
			for _, k := range tt.notKindsOf {
				if errors.Is(err, k) {
					t.Errorf("err %v also matches %v", err, k)
				}
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err %T is not a *provider.Error", err)
			}
			if pe.Description != tt.wantDesc {
				t.Errorf("Description = %q, want %q", pe.Description, tt.wantDesc)
			}
			if pe.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.wantRetry)
			}
			for _, s := range []string{testSecret, "rt-secret-value", "code-secret-value", "verifier-secret-value", tt.wantDesc} {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("err %q contains %q", err, s)
				}
			}
		})
	}
}

// Checklist 48: the exchange body is built by encoding/json, so a code with
// quotes and backslashes reaches the server unchanged and cannot inject
// fields.
func TestExchangeCodeWithQuotesAndBackslashesRoundTrips(t *testing.T) {
	t.Parallel()
	code := `a"b\c\"","grant_type":"password","x":"\u0000</script>` + "\n\t"
	stub := newStub(t, map[string][]canned{"/oauth/access_token": {{body: tokenReply}}})
	a := newAdapter(t, stub)
	if _, err := a.Exchange(context.Background(), code, `v"\`); err != nil {
		t.Fatal(err)
	}
	r := stub.requests()[0]
	if !json.Valid(r.Raw) {
		t.Fatalf("body is not valid JSON: %s", r.Raw)
	}
	if r.JSON["code"] != code || r.JSON["code_verifier"] != `v"\` {
		t.Errorf("code = %q, verifier = %q; want them unchanged", r.JSON["code"], r.JSON["code_verifier"])
	}
	if r.JSON["grant_type"] != "authorization_code" || len(r.JSON) != 7 {
		t.Errorf("body %s: the code injected fields", r.Raw)
	}
}

func TestExchangeReplyChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"no access token", `{"token_type":"Bearer","expires_in":604800}`},
		{"empty access token", `{"access_token":"","token_type":"Bearer"}`},
		{"wrong token type", `{"access_token":"a","token_type":"mac"}`},
		{"no token type", `{"access_token":"a"}`},
		{"negative expiry", `{"access_token":"a","token_type":"Bearer","expires_in":-1}`},
		{"expiry not a number", `{"access_token":"a","token_type":"Bearer","expires_in":"abc"}`},
		{"refresh token not a string", `{"access_token":"a","token_type":"Bearer","refresh_token":5}`},
		{"not json", `access_token=a`},
		{"array", `[]`},
		{"trailing data", tokenReply + `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub := newStub(t, map[string][]canned{"/oauth/access_token": {{body: tt.body}}})
			tok, err := newAdapter(t, stub).Exchange(context.Background(), "c", "")
			if !errors.Is(err, provider.ErrBadResponse) {
				t.Fatalf("Exchange = %v, %v; want ErrBadResponse", tok, err)
			}
		})
	}
}

func TestSevenDayTokensAndRefreshTokenStored(t *testing.T) {
	t.Parallel()
	stub := newStub(t, map[string][]canned{
		"/oauth/access_token": {{body: tokenReply}},
		"/oauth/refresh": {
			{body: `{"access_token":"at-2","token_type":"Bearer","expires_in":604800,"refresh_token":"rt-2"}`},
			{body: `{"access_token":"at-3","token_type":"Bearer","expires_in":604800}`},
		},
	})
	a := newAdapter(t, stub)
	tok, err := a.Exchange(context.Background(), "c", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := testEpoch.Add(7 * 24 * time.Hour); !tok.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v (7 days)", tok.Expiry, want)
	}
	t2, err := a.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if t2.AccessToken != "at-2" || t2.RefreshToken != "rt-2" {
		t.Errorf("after rotation: %q/%q, want at-2/rt-2", t2.AccessToken, t2.RefreshToken)
	}
	if tok.RefreshToken != "rt-1" {
		t.Errorf("Refresh modified its input")
	}
	t3, err := a.Refresh(context.Background(), t2)
	if err != nil {
		t.Fatal(err)
	}
	if t3.RefreshToken != "rt-2" {
		t.Errorf("reply without refresh_token: RefreshToken = %q, want the old rt-2 kept", t3.RefreshToken)
	}
	if reqs := stub.requests(); reqs[2].JSON["refresh_token"] != "rt-2" {
		t.Errorf("second refresh sent %v, want the rotated rt-2", reqs[2].JSON["refresh_token"])
	}
	if _, err := a.Refresh(context.Background(), &provider.Token{AccessToken: "x"}); !errors.Is(err, provider.ErrNoRefreshToken) {
		t.Errorf("Refresh without a refresh token = %v, want ErrNoRefreshToken", err)
	}
}

func TestIdentityIDNumberOrString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantSub, wantName string
	}{
		{"number", userNumeric, "123456", "Ada"},
		{"string", `{"data":{"currentUser":{"id":"123456","slug":"user/x","name":"Ada"}}}`, "123456", "Ada"},
		{"big number", `{"data":{"currentUser":{"id":12345678901234567890,"name":"Big"}}}`, "12345678901234567890", "Big"},
		{"opaque string", `{"data":{"currentUser":{"id":"VXNlcjox","name":null,"player":{"gamerTag":"Gamer"}}}}`, "VXNlcjox", "Gamer"},
		{"no player", `{"data":{"currentUser":{"id":7,"player":null}}}`, "7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub := newStub(t, map[string][]canned{"/gql/alpha": {{body: tt.body}}})
			id, err := newAdapter(t, stub).Identity(context.Background(), &provider.Token{AccessToken: "at", TokenType: "Bearer"})
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != tt.wantSub || id.Name != tt.wantName || id.Provider != "startgg" {
				t.Errorf("Identity = %+v, want subject %q name %q", id, tt.wantSub, tt.wantName)
			}
		})
	}
}

func TestIdentityEmailOnlyWithScope(t *testing.T) {
	t.Parallel()
	withEmail := `{"data":{"currentUser":{"id":1,"name":"Ada","email":"ada@example.com"}}}`
	t.Run("scope granted", func(t *testing.T) {
		t.Parallel()
		stub := newStub(t, map[string][]canned{"/gql/alpha": {{body: withEmail}}})
		id, err := newAdapter(t, stub).Identity(context.Background(),
			&provider.Token{AccessToken: "at", TokenType: "Bearer", Scopes: []string{"user.identity", "user.email"}})
		if err != nil {
			t.Fatal(err)
		}
		if id.Email != "ada@example.com" {
			t.Errorf("Email = %q", id.Email)
		}
		if q, _ := stub.requests()[0].JSON["query"].(string); !strings.Contains(q, "email") {
			t.Errorf("query %q does not ask for email", q)
		}
	})
	t.Run("scope requested but refused", func(t *testing.T) {
		t.Parallel()
		stub := newStub(t, map[string][]canned{"/gql/alpha": {
			{body: `{"data":{"currentUser":null},"errors":[{"message":"Missing scope user.email"}]}`},
			{body: `{"data":{"currentUser":{"id":1,"name":"Ada"}}}`},
		}})
		id, err := newAdapter(t, stub).Identity(context.Background(),
			&provider.Token{AccessToken: "at", TokenType: "Bearer", Scopes: []string{"user.identity", "user.email"}})
		if err != nil {
			t.Fatal(err)
		}
		if id.Subject != "1" || id.Email != "" {
			t.Errorf("Identity = %+v, want subject 1 and no email", id)
		}
		reqs := stub.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2 (with email, then without)", len(reqs))
		}
		if q, _ := reqs[1].JSON["query"].(string); strings.Contains(q, "email") {
			t.Errorf("retry query %q still asks for email", q)
		}
	})
}

func TestIdentityUnauthorizedAndRateLimited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     canned
		wantKind  error
		wantRetry time.Duration
	}{
		{"401", canned{status: 401, body: `{"success":false,"message":"Invalid authentication token"}`}, provider.ErrUnauthorized, 0},
		{"429", canned{status: 429, body: `{"success":false,"message":"Rate limit exceeded - api-token"}`, header: http.Header{"Retry-After": {"7"}}}, provider.ErrUnavailable, 7 * time.Second},
		{"rate limit in a 200", canned{status: 200, body: `{"success":false,"message":"Rate limit exceeded - api-token"}`}, provider.ErrUnavailable, 0},
		{"complexity", canned{status: 400, body: `{"success":false,"fields":null,"message":"Query complexity too high. A maximum of 1000 objects may be returned by each request."}`}, provider.ErrRejected, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub := newStub(t, map[string][]canned{"/gql/alpha": {tt.reply}})
			_, err := newAdapter(t, stub).Identity(context.Background(), &provider.Token{AccessToken: "at", TokenType: "Bearer"})
			if !errors.Is(err, tt.wantKind) || errors.Is(err, provider.ErrInvalidGrant) {
				t.Fatalf("err = %v, want %v (and never invalid grant)", err, tt.wantKind)
			}
			if got := provider.RetryAfter(err); got != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", got, tt.wantRetry)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	t.Parallel()
	stub := newStub(t, map[string][]canned{"/gql/alpha": {{body: `{"data":{"tournament":{"id":5}}}`}}})
	a := newAdapter(t, stub)
	data, err := a.Query(context.Background(), &provider.Token{AccessToken: "at", TokenType: "Bearer"},
		"query T($slug: String) { tournament(slug: $slug) { id } }", "T", map[string]any{"slug": "evo"})
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"tournament":{"id":5}}` {
		t.Errorf("data = %s", data)
	}
	r := stub.requests()[0]
	if r.JSON["operationName"] != "T" || !reflect.DeepEqual(r.JSON["variables"], map[string]any{"slug": "evo"}) {
		t.Errorf("body = %s", r.Raw)
	}
}

func TestSetCredentialReplacesBrowserHeaders(t *testing.T) {
	t.Parallel()
	a, err := startgg.New(startgg.Config{ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodPost, a.GraphQLURL(), nil)
	r.Header.Set("Authorization", "Bearer from-browser")
	r.Header.Set("X-Auth-Token", "from-browser")
	a.SetCredential(r, &provider.Token{AccessToken: "at", TokenType: "bearer"})
	if got := r.Header.Values("Authorization"); !reflect.DeepEqual(got, []string{"Bearer at"}) {
		t.Errorf("Authorization = %v, want [Bearer at]", got)
	}
	if r.Header.Get("X-Auth-Token") != "" {
		t.Errorf("X-Auth-Token kept")
	}
}
