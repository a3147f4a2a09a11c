package whisktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk/whisktest"
)

const verifier = "dBjftJeZ4CVP-mJ92K9cQ3g5yY3eL0C8S9gQ6kAbCdE"

func newServer(t *testing.T, cfg whisktest.Config) *whisktest.Server {
	t.Helper()
	s := whisktest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

func authorizeURL(s *whisktest.Server, extra url.Values) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {whisktest.DefaultClientID},
		"redirect_uri": {whisktest.DefaultRedirectURI}, "state": {"st"},
		"code_challenge": {oauth2test.S256(verifier)}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return s.AuthorizeURL() + "?" + q.Encode()
}

func code(t *testing.T, s *whisktest.Server, extra url.Values) string {
	t.Helper()
	c, state, err := s.AuthorizeCode(context.Background(), authorizeURL(s, extra))
	if err != nil || state != "st" {
		t.Fatalf("authorize: state %q, error %v", state, err)
	}
	return c
}

func codeParams(c string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {whisktest.DefaultRedirectURI},
		"client_id": {whisktest.DefaultClientID}, "client_secret": {whisktest.DefaultClientSecret},
		"code_verifier": {verifier},
	}
}

type encoding int

const (
	form encoding = iota
	multi
	jsonBody
	query
)

// post sends params to the token endpoint in the given encoding and returns
// the status and decoded JSON body.
func post(t *testing.T, s *whisktest.Server, enc encoding, params url.Values) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	var ctype string
	target := s.TokenURL()
	switch enc {
	case form:
		body, ctype = strings.NewReader(params.Encode()), "application/x-www-form-urlencoded"
	case multi:
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for k := range params {
			_ = mw.WriteField(k, params.Get(k))
		}
		_ = mw.Close()
		body, ctype = &b, mw.FormDataContentType()
	case jsonBody:
		m := map[string]string{}
		for k := range params {
			m[k] = params.Get(k)
		}
		b, _ := json.Marshal(m)
		body, ctype = bytes.NewReader(b), "application/json"
	case query:
		target += "?" + params.Encode()
	}
	req, err := http.NewRequest(http.MethodPost, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return do(t, s, req)
}

func do(t *testing.T, s *whisktest.Server, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("reply %d is not JSON: %s", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

func me(t *testing.T, s *whisktest.Server, authz string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+whisktest.MePath, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	return do(t, s, req)
}

func TestTokenEndpointEncodings(t *testing.T) {
	t.Parallel()
	for name, enc := range map[string]encoding{"urlencoded": form, "multipart": multi, "json": jsonBody, "query string": query} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, whisktest.Config{})
			status, body := post(t, s, enc, codeParams(code(t, s, nil)))
			if status != http.StatusOK || body["access_token"] == nil || body["token_type"] != "Bearer" {
				t.Fatalf("%d %v", status, body)
			}
			if got := len(s.Warnings()); (enc == query) != (got > 0) {
				t.Errorf("warnings = %q", s.Warnings())
			}
		})
	}
}

func TestTokenReplyShape(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	status, body := post(t, s, form, codeParams(code(t, s, url.Values{"scope": {"community.read,user.profile:read offline_access"}})))
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	if body["expires_in"] != float64(86400) {
		t.Errorf("expires_in = %v, want 86400", body["expires_in"])
	}
	scopes, ok := body["scope"].([]any)
	if !ok || len(scopes) != 3 || scopes[0] != "community.read" || scopes[2] != "offline_access" {
		t.Errorf("scope = %#v, want a JSON array echoing offline_access", body["scope"])
	}
	if rt, _ := body["refresh_token"].(string); rt == "" {
		t.Error("no refresh_token")
	}
}

func TestScopeAsString(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{ScopeAsString: true})
	_, body := post(t, s, form, codeParams(code(t, s, url.Values{"scope": {"a b"}})))
	if body["scope"] != "a b" {
		t.Errorf("scope = %#v, want \"a b\"", body["scope"])
	}
}

func TestScopeSeparators(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	for _, raw := range []string{"a,b", "a%20b", "a+b", "a%2Cb", "a,%20b", "a+,b", "+a++b+"} {
		u := strings.Replace(authorizeURL(s, nil), "state=st", "state=st&scope="+raw, 1)
		c, _, err := s.AuthorizeCode(context.Background(), u)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		_, body := post(t, s, form, codeParams(c))
		if got, _ := json.Marshal(body["scope"]); string(got) != `["a","b"]` {
			t.Errorf("scope=%s granted %s", raw, got)
		}
	}
}

func TestKnownScopes(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{Scopes: []string{"community.read"}})
	if _, _, err := s.AuthorizeCode(context.Background(), authorizeURL(s, url.Values{"scope": {"community.read offline_access"}})); err != nil {
		t.Errorf("known scopes refused: %v", err)
	}
	_, _, err := s.AuthorizeCode(context.Background(), authorizeURL(s, url.Values{"scope": {"admin"}}))
	if e, ok := err.(*oauth2test.Error); !ok || e.Code != "invalid_scope" {
		t.Errorf("unknown scope: err = %v", err)
	}
}

func TestRedirectURLTypoIgnored(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	p := codeParams(code(t, s, nil))
	p["redirect_url"] = p["redirect_uri"]
	delete(p, "redirect_uri")
	status, body := post(t, s, form, p)
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("redirect_url instead of redirect_uri: %d %v", status, body)
	}
}

func TestUnregisteredRedirectURI(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	_, err := s.Authorize(context.Background(), authorizeURL(s, url.Values{"redirect_uri": {"http://127.0.0.1/other"}}))
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("err = %v, want a 400 without redirect", err)
	}
}

func TestCodeSingleUseAndPKCE(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	p := codeParams(code(t, s, nil))
	bad := codeParams(p.Get("code"))
	bad.Set("code_verifier", strings.Repeat("x", 43))
	if status, body := post(t, s, form, bad); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", status, body)
	}
	p = codeParams(code(t, s, nil))
	if status, _ := post(t, s, form, p); status != 200 {
		t.Fatalf("first use: %d", status)
	}
	if status, body := post(t, s, form, p); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("replay: %d %v", status, body)
	}
}

func TestCodeExpiresAfterADay(t *testing.T) {
	t.Parallel()
	clock := oauth2test.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := newServer(t, whisktest.Config{Now: clock.Now})
	p := codeParams(code(t, s, nil))
	clock.Advance(24 * time.Hour)
	if status, body := post(t, s, form, p); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("day-old code: %d %v", status, body)
	}
}

func TestRefreshRotationKillsOldAccessToken(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	_, first := post(t, s, form, codeParams(code(t, s, nil)))
	oldAT, oldRT := first["access_token"].(string), first["refresh_token"].(string)
	if status, _ := me(t, s, "Bearer "+oldAT); status != 200 {
		t.Fatalf("me with fresh token: %d", status)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oldRT},
		"client_id": {whisktest.DefaultClientID}, "client_secret": {whisktest.DefaultClientSecret}}
	status, second := post(t, s, form, refresh)
	if status != 200 || second["refresh_token"] == oldRT || second["access_token"] == oldAT {
		t.Fatalf("refresh: %d %v", status, second)
	}
	if status, body := me(t, s, "Bearer "+oldAT); status != 401 || body["code"] != whisktest.CodeTokenNotFound {
		t.Errorf("old access token after refresh: %d %v", status, body)
	}
	if status, _ := me(t, s, "Bearer "+second["access_token"].(string)); status != 200 {
		t.Errorf("new access token: %d", status)
	}
	if status, body := post(t, s, form, refresh); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("rotated-out refresh token: %d %v", status, body)
	}
	if s.Calls(whisktest.EndpointRefresh) != 2 || s.Calls(whisktest.EndpointToken) != 3 {
		t.Errorf("calls refresh=%d token=%d", s.Calls(whisktest.EndpointRefresh), s.Calls(whisktest.EndpointToken))
	}
}

func TestRequireOfflineAccess(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{RequireOfflineAccess: true})
	if _, body := post(t, s, form, codeParams(code(t, s, url.Values{"scope": {"community.read"}}))); body["refresh_token"] != nil {
		t.Errorf("refresh token without offline_access: %v", body)
	}
	if _, body := post(t, s, form, codeParams(code(t, s, url.Values{"scope": {"community.read,offline_access"}}))); body["refresh_token"] == nil {
		t.Errorf("no refresh token with offline_access: %v", body)
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	clock := oauth2test.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := newServer(t, whisktest.Config{Now: clock.Now, AccessTTL: time.Hour})
	tok := s.IssueToken(whisktest.DefaultClientID, oauth2test.User{Subject: whisktest.DefaultUser().ID}, nil)

	status, body := me(t, s, "Bearer "+tok.AccessToken)
	user, _ := body["user"].(map[string]any)
	details, _ := user["user_settings"].(map[string]any)["personal_details"].(map[string]any)
	if status != 200 || user["id"] != whisktest.DefaultUser().ID || user["email"] != "casey@example.test" ||
		details["first_name"] != "Casey" || details["photo_url"] != "" || details["gender"] != "GENDER_INVALID" {
		t.Errorf("me = %d %v", status, body)
	}

	cases := []struct {
		name, authz string
		status      int
		code        string
	}{
		{"no token", "", 401, whisktest.CodeTokenRequired},
		{"empty bearer", "Bearer ", 401, whisktest.CodeTokenRequired},
		{"basic", "Basic eDp5", 401, whisktest.CodeTokenRequired},
		{"unknown token", "Bearer nope", 401, whisktest.CodeTokenNotFound},
		{"server token scheme", "Token " + tok.AccessToken, 403, whisktest.CodeForbidden},
	}
	for _, tc := range cases {
		if status, body := me(t, s, tc.authz); status != tc.status || body["code"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, body, tc.status, tc.code)
		}
	}

	clock.Advance(time.Hour)
	if status, body := me(t, s, "Bearer "+tok.AccessToken); status != 401 || body["code"] != whisktest.CodeTokenExpired {
		t.Errorf("expired: %d %v", status, body)
	}
	if s.Calls(whisktest.EndpointMe) != 2+len(cases) {
		t.Errorf("me calls = %d", s.Calls(whisktest.EndpointMe))
	}
}

func TestMeQueryTokenWarns(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	tok := s.IssueToken(whisktest.DefaultClientID, oauth2test.User{Subject: whisktest.DefaultUser().ID}, nil)
	req, _ := http.NewRequest(http.MethodGet, s.URL+whisktest.MePath+"?access_token="+tok.AccessToken, nil)
	if status, _ := do(t, s, req); status != 200 {
		t.Errorf("query token: %d", status)
	}
	if len(s.Warnings()) == 0 {
		t.Error("a token in the query string was not noted")
	}
}

func TestMeFailureInjection(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	tok := s.IssueToken(whisktest.DefaultClientID, oauth2test.User{Subject: whisktest.DefaultUser().ID}, nil)
	s.Fail(whisktest.EndpointMe, whisktest.ErrorFailure(401, "auth.tokenExpired"))
	if status, body := me(t, s, "Bearer "+tok.AccessToken); status != 401 || body["code"] != "auth.tokenExpired" {
		t.Errorf("injected: %d %v", status, body)
	}
	if status, _ := me(t, s, "Bearer "+tok.AccessToken); status != 200 {
		t.Errorf("after the injected failure: %d", status)
	}
}

func TestIdentityProviderRecorded(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	code(t, s, url.Values{"identity_provider": {"google"}})
	code(t, s, nil)
	if got := s.IdentityProviders(); len(got) != 2 || got[0] != "google" || got[1] != "" {
		t.Errorf("IdentityProviders = %q", got)
	}
}

func TestImplicitGrant(t *testing.T) {
	t.Parallel()
	off := newServer(t, whisktest.Config{})
	_, _, err := off.AuthorizeCode(context.Background(), authorizeURL(off, url.Values{"response_type": {"token"}}))
	if e, ok := err.(*oauth2test.Error); !ok || e.Code != "unsupported_response_type" {
		t.Errorf("implicit without the flag: %v", err)
	}

	s := newServer(t, whisktest.Config{AllowImplicit: true})
	loc, err := s.Authorize(context.Background(), authorizeURL(s, url.Values{
		"response_type": {"token"}, "scope": {"community.read"}, "code_challenge": nil, "code_challenge_method": nil,
	}))
	if err != nil {
		t.Fatal(err)
	}
	frag, err := url.ParseQuery(loc.Fragment)
	if err != nil {
		t.Fatal(err)
	}
	if loc.RawQuery != "" || frag.Get("token_type") != "Bearer" || frag.Get("expires_in") != "86400" ||
		frag.Get("state") != "st" || frag.Get("scope") != "community.read" || frag.Has("refresh_token") {
		t.Errorf("implicit redirect = %s", loc)
	}
	if status, _ := me(t, s, "Bearer "+frag.Get("access_token")); status != 200 {
		t.Errorf("implicit token on /me: %d", status)
	}
}

func TestTokenEndpointFailureInjection(t *testing.T) {
	t.Parallel()
	s := newServer(t, whisktest.Config{})
	s.FailNext(whisktest.EndpointToken, oauth2test.FaultUnavailable)
	p := codeParams(code(t, s, nil))
	if status, _ := post(t, s, form, p); status != 503 {
		t.Errorf("injected 503: %d", status)
	}
}
