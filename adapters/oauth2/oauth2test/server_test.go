package oauth2test_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

const (
	clientID     = "app"
	clientSecret = "s3cr:t/&+ %"
	redirectURI  = "https://app.example/cb?x=1"
	verifier     = "dBjftJeZ4CVP-mJ92K9cQ3g5yY3eL0C8S9gQ6kAbCdE"
)

func newServer(t *testing.T, cfg oauth2test.Config) *oauth2test.Server {
	t.Helper()
	if cfg.Clients == nil {
		cfg.Clients = []oauth2test.Client{
			{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}},
			{ID: "public", RedirectURIs: []string{redirectURI}},
		}
	}
	s := oauth2test.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

func authURL(s *oauth2test.Server, extra url.Values) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"state":                 {"st4te"},
		"scope":                 {"read write"},
		"code_challenge":        {oauth2test.S256(verifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		if v == nil {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return s.AuthorizeURL() + "?" + q.Encode()
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, s *oauth2test.Server, req *http.Request) reply {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &r.body)
	return r
}

// post sends form params to u with HTTP Basic client auth (form-escaped as
// RFC 6749 §2.3.1 says) unless basic is false.
func post(t *testing.T, s *oauth2test.Server, u string, params url.Values, basic bool) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	}
	return do(t, s, req)
}

func code(t *testing.T, s *oauth2test.Server, extra url.Values) string {
	t.Helper()
	c, st, err := s.AuthorizeCode(context.Background(), authURL(s, extra))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if st != "st4te" {
		t.Fatalf("state = %q, want st4te", st)
	}
	return c
}

func exchange(t *testing.T, s *oauth2test.Server, c, v string) reply {
	t.Helper()
	return post(t, s, s.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {v}}, true)
}

func wantOAuthError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code {
		t.Fatalf("got %d %s, want %d error=%s", r.status, r.raw, status, code)
	}
}

func TestCodeFlow(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{Users: []oauth2test.User{{Subject: "u1", Name: "Ann", Email: "ann@x.test", Claims: map[string]any{"sub": "ignored", "team": "blue"}}}})
	loc, err := s.Authorize(context.Background(), authURL(s, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != "https://app.example/cb" || loc.Query().Get("x") != "1" {
		t.Fatalf("redirect %s does not keep the registered URI", loc)
	}
	r := exchange(t, s, loc.Query().Get("code"), verifier)
	if r.status != 200 || r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(3600) || r.body["scope"] != "read write" {
		t.Fatalf("exchange: %d %s", r.status, r.raw)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", r.header.Get("Cache-Control"))
	}
	at, rt := r.body["access_token"].(string), r.body["refresh_token"].(string)
	if len(at) < 43 || len(rt) < 43 || at == rt {
		t.Fatalf("weak tokens %q %q", at, rt)
	}
	info, ok := s.LookupAccessToken(at)
	if !ok || info.User.Subject != "u1" || info.ClientID != clientID || !info.HasScope("write") {
		t.Fatalf("lookup: %+v %v", info, ok)
	}

	req, _ := http.NewRequest(http.MethodGet, s.UserInfoURL(), nil)
	req.Header.Set("Authorization", "bearer "+at)
	u := do(t, s, req)
	if u.status != 200 || u.body["sub"] != "u1" || u.body["name"] != "Ann" || u.body["team"] != "blue" {
		t.Fatalf("userinfo: %d %s", u.status, u.raw)
	}

	r2 := post(t, s, s.RefreshURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true)
	if r2.status != 200 || r2.body["refresh_token"] == rt || r2.body["refresh_token"] == nil {
		t.Fatalf("refresh must rotate: %d %s", r2.status, r2.raw)
	}
	if _, ok := s.LookupRefreshToken(rt); ok {
		t.Error("rotated-out refresh token still live")
	}
	wantOAuthError(t, post(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true), 400, "invalid_grant")
	// Without reuse detection the new token still works.
	if r3 := post(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r2.body["refresh_token"].(string)}, "scope": {"read"}}, true); r3.status != 200 || r3.body["scope"] != "read" {
		t.Fatalf("second refresh with narrowed scope: %d %s", r3.status, r3.raw)
	}
	if got := s.Calls(oauth2test.EndpointRefresh); got != 3 {
		t.Errorf("refresh calls = %d, want 3", got)
	}
	if got := s.Calls(oauth2test.EndpointToken); got != 4 {
		t.Errorf("token calls = %d, want 4", got)
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
}

func TestCodeIsSingleUseAndReplayRevokes(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{})
	c := code(t, s, nil)
	r := exchange(t, s, c, verifier)
	if r.status != 200 {
		t.Fatal(r.raw)
	}
	wantOAuthError(t, exchange(t, s, c, verifier), 400, "invalid_grant")
	if _, ok := s.LookupAccessToken(r.body["access_token"].(string)); ok {
		t.Error("tokens issued from a replayed code must be revoked (RFC 6749 §4.1.2)")
	}
}

func TestCodeExpires(t *testing.T) {
	t.Parallel()
	clock := oauth2test.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newServer(t, oauth2test.Config{Now: clock.Now, CodeTTL: time.Minute, AccessTTL: 10 * time.Minute, RefreshTTL: time.Hour})
	c := code(t, s, nil)
	clock.Advance(time.Minute)
	wantOAuthError(t, exchange(t, s, c, verifier), 400, "invalid_grant")

	r := exchange(t, s, code(t, s, nil), verifier)
	at, rt := r.body["access_token"].(string), r.body["refresh_token"].(string)
	clock.Advance(10 * time.Minute)
	if _, ok := s.LookupAccessToken(at); ok {
		t.Error("access token outlived AccessTTL")
	}
	clock.Advance(time.Hour)
	wantOAuthError(t, post(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true), 400, "invalid_grant")
}

func TestTokenRequestChecks(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{})
	tests := []struct {
		name   string
		params url.Values // merged over a valid exchange
		basic  bool
		status int
		code   string
	}{
		{"wrong verifier", url.Values{"code_verifier": {strings.Repeat("a", 43)}}, true, 400, "invalid_grant"},
		{"missing verifier", url.Values{"code_verifier": nil}, true, 400, "invalid_grant"},
		{"short verifier", url.Values{"code_verifier": {"abc"}}, true, 400, "invalid_grant"},
		{"redirect_uri differs by a slash", url.Values{"redirect_uri": {"https://app.example/cb/?x=1"}}, true, 400, "invalid_grant"},
		{"redirect_uri missing", url.Values{"redirect_uri": nil}, true, 400, "invalid_grant"},
		{"no code", url.Values{"code": nil}, true, 400, "invalid_request"},
		{"unknown code", url.Values{"code": {"nope"}}, true, 400, "invalid_grant"},
		{"no grant_type", url.Values{"grant_type": nil}, true, 400, "invalid_request"},
		{"unknown grant", url.Values{"grant_type": {"password"}}, true, 400, "unsupported_grant_type"},
		{"no client auth", nil, false, 401, "invalid_client"},
		{"wrong secret in body", url.Values{"client_id": {clientID}, "client_secret": {"x"}}, false, 401, "invalid_client"},
		{"two auth methods", url.Values{"client_secret": {clientSecret}}, true, 400, "invalid_request"},
		{"repeated parameter", url.Values{"code_verifier": {verifier, verifier}}, true, 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := url.Values{"grant_type": {"authorization_code"}, "code": {code(t, s, nil)}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
			for k, v := range tc.params {
				if v == nil {
					p.Del(k)
				} else {
					p[k] = v
				}
			}
			r := post(t, s, s.TokenURL(), p, tc.basic)
			wantOAuthError(t, r, tc.status, tc.code)
			if tc.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic realm=") {
				t.Errorf("401 without WWW-Authenticate: %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestClientAuthentication(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{})
	// Body authentication, and a public client with client_id only.
	if r := post(t, s, s.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "code": {code(t, s, nil)}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {clientID}, "client_secret": {clientSecret}}, false); r.status != 200 {
		t.Fatalf("body auth: %s", r.raw)
	}
	c := code(t, s, url.Values{"client_id": {"public"}})
	if r := post(t, s, s.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {"public"}}, false); r.status != 200 {
		t.Fatalf("public client: %s", r.raw)
	}
	// Basic without form-escaping the secret fails: "%" is not valid.
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader("grant_type=authorization_code&code=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	wantOAuthError(t, do(t, s, req), 401, "invalid_client")
	// Another client's code is invalid_grant.
	c = code(t, s, nil)
	wantOAuthError(t, post(t, s, s.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {"public"}}, false), 400, "invalid_grant")
}

func TestAuthorizeChecks(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{Scopes: []string{"read", "write"}, RequirePKCE: true})
	noRedirect := []struct {
		name  string
		extra url.Values
	}{
		{"unknown client", url.Values{"client_id": {"evil"}}},
		{"redirect differs in case", url.Values{"redirect_uri": {"https://APP.example/cb?x=1"}}},
		{"redirect without its query", url.Values{"redirect_uri": {"https://app.example/cb"}}},
		{"redirect with extra slash", url.Values{"redirect_uri": {"https://app.example/cb/?x=1"}}},
	}
	for _, tc := range noRedirect {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Authorize(context.Background(), authURL(s, tc.extra)); err == nil || !strings.Contains(err.Error(), "400") {
				t.Fatalf("want a 400 page and no redirect, got %v", err)
			}
		})
	}
	redirected := []struct {
		name  string
		extra url.Values
		code  string
	}{
		{"plain PKCE", url.Values{"code_challenge_method": {"plain"}}, "invalid_request"},
		{"no PKCE", url.Values{"code_challenge": nil, "code_challenge_method": nil}, "invalid_request"},
		{"short challenge", url.Values{"code_challenge": {"abc"}}, "invalid_request"},
		{"unknown scope", url.Values{"scope": {"read admin"}}, "invalid_scope"},
		{"implicit not enabled", url.Values{"response_type": {"token"}}, "unsupported_response_type"},
		{"unknown user", url.Values{"login_hint": {"mallory"}}, "access_denied"},
	}
	for _, tc := range redirected {
		t.Run(tc.name, func(t *testing.T) {
			_, st, err := s.AuthorizeCode(context.Background(), authURL(s, tc.extra))
			var oe *oauth2test.Error
			if !errors.As(err, &oe) || oe.Code != tc.code || st != "st4te" {
				t.Fatalf("got %v (state %q), want error=%s with state", err, st, tc.code)
			}
		})
	}
	// Comma-separated scopes are accepted; a secret in the URL is noted.
	if _, _, err := s.AuthorizeCode(context.Background(), authURL(s, url.Values{"scope": {"read,write"}, "client_secret": {"oops"}})); err != nil {
		t.Fatal(err)
	}
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "client_secret") {
		t.Errorf("warnings = %v", w)
	}
}

func TestReuseDetectionRevokesFamily(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{ReuseDetection: true})
	r := exchange(t, s, code(t, s, nil), verifier)
	rt1 := r.body["refresh_token"].(string)
	r2 := post(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}, true)
	at2, rt2 := r2.body["access_token"].(string), r2.body["refresh_token"].(string)
	wantOAuthError(t, post(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}, true), 400, "invalid_grant")
	if _, ok := s.LookupAccessToken(at2); ok {
		t.Error("reuse must revoke the family's access tokens")
	}
	wantOAuthError(t, post(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}}, true), 400, "invalid_grant")
}

func TestRefreshOptions(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{NoRotation: true, RevokeAccessOnRefresh: true, RefreshScope: "offline_access"})
	r := exchange(t, s, code(t, s, nil), verifier)
	if _, has := r.body["refresh_token"]; has {
		t.Fatal("refresh token issued without offline_access")
	}
	r = exchange(t, s, code(t, s, url.Values{"scope": {"read offline_access"}}), verifier)
	at, rt := r.body["access_token"].(string), r.body["refresh_token"].(string)
	for range 2 {
		r2 := post(t, s, s.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true)
		if r2.status != 200 || r2.body["refresh_token"] != nil {
			t.Fatalf("NoRotation refresh: %s", r2.raw)
		}
	}
	if _, ok := s.LookupAccessToken(at); ok {
		t.Error("RevokeAccessOnRefresh: old access token still live")
	}
}

func TestSeparateRefreshPathAndJSON(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{
		Paths:     oauth2test.Paths{Authorize: "/oauth/authorize", Token: "/oauth/access_token", Refresh: "/oauth/refresh", UserInfo: "-"},
		Encodings: oauth2test.EncodingJSON,
	})
	if s.UserInfoURL() != "" || s.RefreshURL() != s.URL+"/oauth/refresh" {
		t.Fatalf("URLs: %q %q", s.UserInfoURL(), s.RefreshURL())
	}
	postJSON := func(u string, body map[string]any) reply {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		return do(t, s, req)
	}
	r := postJSON(s.TokenURL(), map[string]any{"grant_type": "authorization_code", "code": code(t, s, nil), "redirect_uri": redirectURI,
		"code_verifier": verifier, "client_id": clientID, "client_secret": clientSecret, "scope": []string{"read", "write"}})
	if r.status != 200 {
		t.Fatal(r.raw)
	}
	rt := r.body["refresh_token"].(string)
	wantOAuthError(t, postJSON(s.TokenURL(), map[string]any{"grant_type": "refresh_token", "refresh_token": rt, "client_id": clientID, "client_secret": clientSecret}),
		400, "unsupported_grant_type")
	if r := postJSON(s.RefreshURL(), map[string]any{"grant_type": "refresh_token", "refresh_token": rt, "client_id": clientID, "client_secret": clientSecret}); r.status != 200 {
		t.Fatal(r.raw)
	}
	// Form bodies are refused when only JSON is configured (and, being
	// undecodable, are not counted as refreshes).
	wantOAuthError(t, post(t, s, s.RefreshURL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true), 400, "invalid_request")
	if got := s.Calls(oauth2test.EndpointRefresh); got != 2 {
		t.Errorf("refresh calls = %d, want 3", got)
	}
}

func TestMultipartAndQueryMerge(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{Encodings: oauth2test.EncodingMultipart | oauth2test.EncodingForm | oauth2test.EncodingQuery})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"grant_type": "authorization_code", "code": code(t, s, nil), "client_id": clientID, "client_secret": clientSecret, "code_verifier": verifier} {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	// redirect_uri comes from the query string.
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL()+"?redirect_uri="+url.QueryEscape(redirectURI), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if r := do(t, s, req); r.status != 200 {
		t.Fatal(r.raw)
	}
	// Everything in the query string (the Whisk sample's style) works but
	// is noted.
	q := url.Values{"grant_type": {"authorization_code"}, "code": {code(t, s, nil)}, "client_id": {clientID}, "client_secret": {clientSecret},
		"code_verifier": {verifier}, "redirect_uri": {redirectURI}}
	req, _ = http.NewRequest(http.MethodPost, s.TokenURL()+"?"+q.Encode(), nil)
	if r := do(t, s, req); r.status != 200 {
		t.Fatal(r.raw)
	}
	if w := strings.Join(s.Warnings(), "\n"); !strings.Contains(w, "client_secret sent in the query string") {
		t.Errorf("warnings = %q", w)
	}
	recs := s.Requests(oauth2test.EndpointToken)
	if len(recs) != 2 || recs[0].Params.Get("redirect_uri") != redirectURI || recs[0].Method != http.MethodPost {
		t.Fatalf("recorded %+v", recs)
	}
}

func TestFailureInjection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ep    oauth2test.Endpoint
		f     oauth2test.Failure
		check func(t *testing.T, r reply)
	}{
		{"5xx", oauth2test.EndpointToken, oauth2test.Failure{Status: 503, Header: http.Header{"Retry-After": {"7"}}}, func(t *testing.T, r reply) {
			if r.status != 503 || r.body["error"] != "server_error" || r.header.Get("Retry-After") != "7" {
				t.Fatalf("%d %v %s", r.status, r.header, r.raw)
			}
		}},
		{"custom body", oauth2test.EndpointToken, oauth2test.Failure{Status: 500, Body: "oops"}, func(t *testing.T, r reply) {
			if r.status != 500 || r.raw != "oops" {
				t.Fatal(r.raw)
			}
		}},
		{"malformed", oauth2test.EndpointToken, oauth2test.Failure{Malformed: true}, func(t *testing.T, r reply) {
			if r.status != 200 || json.Valid([]byte(r.raw)) {
				t.Fatal(r.raw)
			}
		}},
		{"oversized", oauth2test.EndpointToken, oauth2test.Failure{Oversized: 1<<20 + 1}, func(t *testing.T, r reply) {
			if r.status != 200 || len(r.raw) != 1<<20+1 {
				t.Fatalf("len %d", len(r.raw))
			}
		}},
		{"invalid_grant", oauth2test.EndpointRefresh, oauth2test.Failure{OAuthError: "invalid_grant"}, func(t *testing.T, r reply) {
			wantOAuthError(t, r, 400, "invalid_grant")
		}},
		{"invalid_client", oauth2test.EndpointToken, oauth2test.Failure{OAuthError: "invalid_client"}, func(t *testing.T, r reply) {
			wantOAuthError(t, r, 401, "invalid_client")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate")
			}
		}},
		{"redirect", oauth2test.EndpointToken, oauth2test.Failure{Redirect: "https://elsewhere.example/token"}, func(t *testing.T, r reply) {
			if r.status != 307 || r.header.Get("Location") != "https://elsewhere.example/token" {
				t.Fatalf("%d %v", r.status, r.header)
			}
		}},
		{"delay only", oauth2test.EndpointRefresh, oauth2test.Failure{Delay: time.Millisecond}, func(t *testing.T, r reply) {
			if r.status != 200 {
				t.Fatal(r.raw)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, oauth2test.Config{})
			rt := exchange(t, s, code(t, s, nil), verifier).body["refresh_token"].(string)
			s.Fail(tc.ep, tc.f)
			hc := s.Client()
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
			_ = json.Unmarshal(b, &r.body)
			tc.check(t, r)
			// The failure was used up: the next exchange works.
			if r := exchange(t, s, code(t, s, nil), verifier); r.status != 200 {
				t.Fatalf("failure not consumed: %s", r.raw)
			}
		})
	}
}

func TestFailureHangAndTimes(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{})
	s.Fail(oauth2test.EndpointToken, oauth2test.Failure{Hang: true})
	hc := s.Client()
	hc.Timeout = 50 * time.Millisecond
	_, err := hc.Post(s.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader("grant_type=x"))
	if err == nil {
		t.Fatal("a hanging endpoint answered")
	}
	s.Fail(oauth2test.EndpointUserInfo, oauth2test.Failure{Status: 502, Times: 2})
	for i, want := range []int{502, 502, 401} {
		req, _ := http.NewRequest(http.MethodGet, s.UserInfoURL(), nil)
		if r := do(t, s, req); r.status != want {
			t.Fatalf("call %d: %d, want %d", i, r.status, want)
		}
	}
	s.Fail(oauth2test.EndpointUserInfo, oauth2test.Failure{Status: 500, Times: -1})
	s.ClearFailures()
	req, _ := http.NewRequest(http.MethodGet, s.UserInfoURL(), nil)
	if r := do(t, s, req); r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("%d %v", r.status, r.header)
	}
	if got := s.Calls(oauth2test.EndpointUserInfo); got != 4 {
		t.Errorf("userinfo calls = %d", got)
	}
	// A hanging request is released by Close.
	s2 := oauth2test.NewServer(oauth2test.Config{})
	hung := make(chan struct{}, 1)
	s2.Fail(oauth2test.EndpointToken, oauth2test.Failure{Hang: true, Notify: hung})
	errc := make(chan error, 1)
	go func() {
		resp, err := s2.Client().Post(s2.TokenURL(), "text/plain", nil)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-hung
	s2.Close()
	if err := <-errc; err == nil {
		t.Error("a hung request got an answer")
	}
}

func TestAccessDeniedAtAuthorize(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{})
	s.Fail(oauth2test.EndpointAuthorize, oauth2test.Failure{OAuthError: "access_denied"})
	_, st, err := s.AuthorizeCode(context.Background(), authURL(s, nil))
	var oe *oauth2test.Error
	if !errors.As(err, &oe) || oe.Code != "access_denied" || st != "st4te" {
		t.Fatalf("got %v %q", err, st)
	}
	if s.Calls(oauth2test.EndpointAuthorize) != 1 {
		t.Error("authorize not counted")
	}
}

func TestUserInfoAndRevocation(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{})
	r := exchange(t, s, code(t, s, nil), verifier)
	at, rt := r.body["access_token"].(string), r.body["refresh_token"].(string)
	get := func(tok string) reply {
		req, _ := http.NewRequest(http.MethodGet, s.UserInfoURL(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return do(t, s, req)
	}
	if g := get(at); g.status != 200 || g.body["sub"] != "user-1" {
		t.Fatal(g.raw)
	}
	if g := get("nope"); g.status != 401 || !strings.Contains(g.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("%d %v", g.status, g.header)
	}
	// Revocation: public client may not revoke another's token; unknown
	// tokens are 200; a refresh token takes the access token with it.
	if x := post(t, s, s.RevocationURL(), url.Values{"token": {rt}, "client_id": {"public"}}, false); x.status != 400 {
		t.Fatalf("foreign revoke: %d", x.status)
	}
	if x := post(t, s, s.RevocationURL(), url.Values{"token": {"unknown"}}, true); x.status != 200 {
		t.Fatalf("unknown token revoke: %d", x.status)
	}
	wantOAuthError(t, post(t, s, s.RevocationURL(), url.Values{}, true), 400, "invalid_request")
	wantOAuthError(t, post(t, s, s.RevocationURL(), url.Values{"token": {rt}}, false), 401, "invalid_client")
	if x := post(t, s, s.RevocationURL(), url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}}, true); x.status != 200 {
		t.Fatalf("revoke: %d %s", x.status, x.raw)
	}
	if g := get(at); g.status != 401 {
		t.Fatal("access token survived revocation of its refresh token")
	}
	if s.Calls(oauth2test.EndpointRevoke) != 5 {
		t.Errorf("revoke calls = %d", s.Calls(oauth2test.EndpointRevoke))
	}
	// Direct revocation and issuing.
	tok := s.IssueToken(clientID, oauth2test.User{Subject: "direct"}, []string{"a"})
	if info, ok := s.LookupAccessToken(tok.AccessToken); !ok || info.User.Subject != "direct" {
		t.Fatal("IssueToken")
	}
	if !s.RevokeToken(tok.AccessToken) || s.RevokeToken(tok.AccessToken) {
		t.Fatal("RevokeToken")
	}
}

func TestHooksGrantsAndMountedHandlers(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{
		RenderToken: func(w http.ResponseWriter, _ *http.Request, reply *oauth2test.TokenReply) {
			m := reply.Fields()
			m["scope"] = reply.Scopes // as a JSON array, Whisk style
			oauth2test.WriteJSON(w, http.StatusOK, m)
		},
		RenderError: func(w http.ResponseWriter, _ *http.Request, e *oauth2test.Error) {
			oauth2test.WriteJSON(w, e.Status, map[string]any{"success": false, "message": e.Code})
		},
		Grants: map[string]oauth2test.GrantFunc{
			"anonymous": func(s *oauth2test.Server, req *oauth2test.TokenRequest) (*oauth2test.TokenReply, *oauth2test.Error) {
				return s.IssueToken(req.Client.ID, oauth2test.User{Subject: "anon"}, []string{"x"}), nil
			},
		},
	})
	s.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		info, ok := s.BearerToken(r)
		if !ok {
			oauth2test.WriteJSON(w, http.StatusUnauthorized, map[string]string{"code": "auth.tokenRequired"})
			return
		}
		oauth2test.WriteJSON(w, http.StatusOK, map[string]string{"id": info.User.Subject})
	})
	r := post(t, s, s.TokenURL(), url.Values{"grant_type": {"anonymous"}}, true)
	scopes, _ := r.body["scope"].([]any)
	if r.status != 200 || len(scopes) != 1 || scopes[0] != "x" {
		t.Fatalf("custom grant/renderer: %s", r.raw)
	}
	if e := post(t, s, s.TokenURL(), url.Values{"grant_type": {"nope"}}, true); e.status != 400 || e.body["message"] != "unsupported_grant_type" {
		t.Fatalf("error renderer: %s", e.raw)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+r.body["access_token"].(string))
	if me := do(t, s, req); me.body["id"] != "anon" {
		t.Fatal(me.raw)
	}
	s.Fail("GET /api/me", oauth2test.Failure{Status: 500})
	if me := do(t, s, req); me.status != 500 {
		t.Fatal("mounted handler not failure-injectable")
	}
	if s.Calls("GET /api/me") != 2 {
		t.Errorf("mounted calls = %d", s.Calls("GET /api/me"))
	}
	req, _ = http.NewRequest(http.MethodGet, s.URL+"/api/me?access_token=x", nil)
	if me := do(t, s, req); me.status != 401 || len(s.Warnings()) != 1 {
		t.Fatalf("query token: %d %v", me.status, s.Warnings())
	}
	s.ResetCalls()
	if s.Calls("GET /api/me") != 0 || len(s.Requests("")) != 0 {
		t.Error("ResetCalls")
	}
}

func TestImplicit(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{AllowImplicit: true})
	loc, err := s.Authorize(context.Background(), authURL(s, url.Values{"response_type": {"token"}, "code_challenge": nil, "code_challenge_method": nil}))
	if err != nil {
		t.Fatal(err)
	}
	frag, _ := url.ParseQuery(loc.Fragment)
	if frag.Get("state") != "st4te" || frag.Get("token_type") != "Bearer" || frag.Get("refresh_token") != "" || loc.Query().Get("access_token") != "" {
		t.Fatalf("fragment %q query %q", loc.Fragment, loc.RawQuery)
	}
	if _, ok := s.LookupAccessToken(frag.Get("access_token")); !ok {
		t.Fatal("implicit token not live")
	}
}

func TestMethodsAndBadBodies(t *testing.T) {
	t.Parallel()
	s := newServer(t, oauth2test.Config{Encodings: oauth2test.EncodingForm | oauth2test.EncodingJSON})
	for _, u := range []string{s.TokenURL(), s.RevocationURL()} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if r := do(t, s, req); r.status != 405 || r.header.Get("Allow") != "POST" {
			t.Errorf("GET %s: %d", u, r.status)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, s.AuthorizeURL(), nil)
	if r := do(t, s, req); r.status != 405 {
		t.Errorf("POST authorize: %d", r.status)
	}
	for _, body := range []struct{ ctype, body string }{
		{"application/json", `{"grant_type":`},
		{"application/json", `[1]`},
		{"application/json", `{"a":{"b":1}}`},
		{"application/json", `{"a":[1]}`},
		{"application/json", `{} {}`},
		{"text/xml", `<x/>`},
		{"multipart/form-data", `x`},
		{"application/x-www-form-urlencoded", strings.Repeat("a", 1<<20+1)},
		{"application/x-www-form-urlencoded", "a=%zz"},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(body.body))
		req.Header.Set("Content-Type", body.ctype)
		req.SetBasicAuth(clientID, "x")
		if r := do(t, s, req); r.status != 400 || r.body["error"] != "invalid_request" {
			t.Errorf("%s %.20q: %d %.80s", body.ctype, body.body, r.status, r.raw)
		}
	}
}
