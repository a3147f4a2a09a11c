package wazo_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func login(t *testing.T, e *env) *provider.Token {
	t.Helper()
	tok, err := e.p.Login(context.Background(), testUser, testPassword)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return tok
}

func wantKind(t *testing.T, err, kind error) *provider.Error {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want kind %v", err, kind)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *provider.Error", err)
	}
	return pe
}

// apiCall GETs {base}/users/me/tokens with the adapter's credential on a
// request that a browser had already given its own headers.
func apiCall(t *testing.T, e *env, tok *provider.Token) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/users/me/tokens", nil)
	req.Header.Set("Authorization", "Bearer from-the-browser")
	req.Header.Set("X-Auth-Token", "browser-supplied")
	e.p.SetCredential(req, tok)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestLoginRefreshIdentityRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	ctx := context.Background()
	u, _ := e.srv.User(testUser)

	tok := login(t, e)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != wazo.TokenType {
		t.Fatalf("login token = %v", tok)
	}
	if want := e.clock.Now().Add(time.Hour); !tok.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v", tok.Expiry, want)
	}
	if !tok.HasScope("confd.users.me.read") {
		t.Errorf("Scopes = %v, want the user's ACL", tok.Scopes)
	}

	id, err := e.p.Identity(ctx, tok)
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	if id.Provider != "wazo" || id.Subject != u.UUID || id.Raw["tenant_uuid"] != u.TenantUUID || id.Raw["auth_id"] != u.UUID {
		t.Errorf("Identity = %+v, want subject %s tenant %s", id, u.UUID, u.TenantUUID)
	}

	if resp := apiCall(t, e, tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("API call with the token: HTTP %d", resp.StatusCode)
	}

	e.clock.Advance(59 * time.Minute)
	fresh, err := e.p.Refresh(ctx, tok)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken != tok.RefreshToken {
		t.Errorf("refresh: new access %v, refresh kept %v", fresh.AccessToken != tok.AccessToken, fresh.RefreshToken == tok.RefreshToken)
	}
	if want := e.clock.Now().Add(time.Hour); !fresh.Expiry.Equal(want) {
		t.Errorf("refreshed Expiry = %v, want %v", fresh.Expiry, want)
	}
	if id2, err := e.p.Identity(ctx, fresh); err != nil || id2.Subject != u.UUID {
		t.Errorf("Identity after refresh = %+v, %v", id2, err)
	}

	if err := e.p.Revoke(ctx, fresh); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if resp := apiCall(t, e, fresh); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API call after revoke: HTTP %d, want 401", resp.StatusCode)
	}
	// Revoke leaves the refresh token alive (quirk 8): refresh still works.
	if _, err := e.p.Refresh(ctx, tok); err != nil {
		t.Errorf("refresh after revoking the access token: %v", err)
	}
}

func TestIdentityNeedsNoNetworkAndSurvivesStorage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	tok := login(t, e)
	b, err := tok.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var stored provider.Token
	if err := stored.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	before := len(e.rec.all())
	id, err := e.p.Identity(context.Background(), &stored)
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	u, _ := e.srv.User(testUser)
	if id.Subject != u.UUID {
		t.Errorf("Subject = %q, want %q", id.Subject, u.UUID)
	}
	if n := len(e.rec.all()); n != before {
		t.Errorf("Identity made %d network calls", n-before)
	}
	for k, v := range stored.Extra {
		if s := fmt.Sprint(v); strings.Contains(s, tok.AccessToken) || strings.Contains(s, tok.RefreshToken) {
			t.Errorf("Extra[%q] holds a token", k)
		}
	}
	if _, err := e.p.Identity(context.Background(), &provider.Token{AccessToken: "x"}); !errors.Is(err, provider.ErrBadResponse) {
		t.Errorf("Identity without Extra: %v, want ErrBadResponse", err)
	}
}

func TestWrongPasswordIsInvalidCredentialsAndNeverLeaks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	const wrong = "hunter2-WRONG-pw"
	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", testUser, wrong},
		{"unknown user", "mallory", wrong},
		{"empty user", "", wrong},
		{"colon in user", "a:b", wrong},
	} {
		_, err := e.p.Login(context.Background(), tc.user, tc.pass)
		pe := wantKind(t, err, provider.ErrInvalidCredentials)
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Error("login failed", "err", err, "detail", fmt.Sprintf("%+v %#v", err, pe))
		for _, s := range []string{err.Error(), logs.String(), pe.Description} {
			if strings.Contains(s, wrong) || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte(tc.user+":"+wrong))) {
				t.Errorf("%s: password leaked in %q", tc.name, s)
			}
		}
	}
	for _, r := range e.srv.Requests("") {
		if strings.Contains(r.URL.String(), wrong) || strings.Contains(r.URL.String(), testPassword) {
			t.Errorf("password in URL %s", r.URL)
		}
	}
}

func TestNoSecretInAnyURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, func(c *wazo.Config) { c.RevokeRefreshToken = true })
	ctx := context.Background()
	tok := login(t, e)
	fresh, err := e.p.Refresh(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	apiCall(t, e, fresh)
	if err := e.p.Revoke(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	secrets := []string{testPassword, tok.AccessToken, tok.RefreshToken}
	for _, r := range e.srv.Requests("") {
		u := r.URL.String()
		// DELETE {base}/token/{token} is wazo-auth's API: the token named
		// there is the one being killed, and only that one.
		if r.Method == http.MethodDelete && strings.HasSuffix(u, "/token/"+fresh.AccessToken) {
			continue
		}
		for _, s := range append(secrets, fresh.AccessToken) {
			if strings.Contains(u, s) {
				t.Errorf("secret in URL %s %s", r.Method, u)
			}
		}
		if got := r.Header.Get("X-Auth-Token"); got == "browser-supplied" {
			t.Errorf("browser-supplied X-Auth-Token forwarded to %s", u)
		}
		if got := r.Header.Get("Authorization"); strings.HasPrefix(got, "Bearer") {
			t.Errorf("browser Authorization forwarded to %s", u)
		}
	}
}

func TestSetCredentialReplacesBrowserHeaders(t *testing.T) {
	t.Parallel()
	p, err := wazo.New(wazo.Config{BaseURL: "https://wazo.example/api/auth/0.1"})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodGet, "https://wazo.example/api/confd/1.1/users/me", nil)
	r.Header.Set("Authorization", "Basic YnJvd3Nlcjpwdw==")
	r.Header.Add("X-Auth-Token", "one")
	r.Header.Add("X-Auth-Token", "two")
	p.SetCredential(r, &provider.Token{AccessToken: "mine"})
	if got := r.Header.Values("X-Auth-Token"); len(got) != 1 || got[0] != "mine" {
		t.Errorf("X-Auth-Token = %v", got)
	}
	if r.Header.Get("Authorization") != "" || strings.Contains(r.URL.String(), "mine") {
		t.Errorf("Authorization kept or token in URL: %v %s", r.Header, r.URL)
	}
}

func TestRefreshTokenAsXAuthTokenIs401(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	tok := login(t, e)
	resp := apiCall(t, e, &provider.Token{AccessToken: tok.RefreshToken})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("refresh token as X-Auth-Token: HTTP %d, want 401", resp.StatusCode)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	e2 := wazo.DecodeError(resp.StatusCode, resp.Header, mustJSON(t, body))
	if !errors.Is(e2, provider.ErrUnauthorized) || e2.Code != "unauthorized" {
		t.Errorf("decoded %v (code %q), want ErrUnauthorized/unauthorized", e2, e2.Code)
	}
}

func TestLoginWithoutClientIDIsOnline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, func(c *wazo.Config) { c.ClientID = "" })
	tok := login(t, e)
	if tok.RefreshToken != "" {
		t.Errorf("online login got a refresh token")
	}
	var body map[string]any
	if err := json.Unmarshal(e.rec.last(t).Body, &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["access_type"]; ok {
		t.Errorf("online login body = %v", body)
	}
	_, err := e.p.Refresh(context.Background(), tok)
	wantKind(t, err, provider.ErrNoRefreshToken)
}

func TestRefreshWithDeletedRefreshTokenIsInvalidGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, func(c *wazo.Config) { c.RevokeRefreshToken = true })
	ctx := context.Background()
	tok := login(t, e)
	if err := e.p.Revoke(ctx, tok); err != nil {
		t.Fatal(err)
	}
	u, _ := e.srv.User(testUser)
	if n := e.srv.RefreshTokens(u.UUID); n != 0 {
		t.Fatalf("refresh tokens left after Revoke: %d", n)
	}
	_, err := e.p.Refresh(ctx, tok)
	pe := wantKind(t, err, provider.ErrInvalidGrant)
	if pe.StatusCode != http.StatusUnauthorized || pe.Op != "refresh" {
		t.Errorf("error = %+v", pe)
	}
	// Revoke again: both deletes answer "already gone", still success.
	if err := e.p.Revoke(ctx, tok); err != nil {
		t.Errorf("second Revoke: %v", err)
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	legacy := func(status int, reason string) string {
		return fmt.Sprintf(`{"reason":[%q],"timestamp":[1778000000.5],"status_code":%d}`, reason, status)
	}
	cases := []struct {
		name    string
		fail    wazotest.Failure
		kind    error
		code    string
		timeout time.Duration
	}{
		{"400 schema", wazotest.Failure{Status: 400, Body: legacy(400, "{'expiration': ['Not a valid integer.']}")}, provider.ErrRejected, "", 0},
		{"429 too many sessions", wazotest.Failure{Status: 429, Body: legacy(429, "User x has exceeded the maximum number of active sessions")}, provider.ErrUnavailable, "too_many_sessions", 0},
		{"500", wazotest.Failure{Status: 500}, provider.ErrUnavailable, "", 0},
		{"503 html", wazotest.Failure{Status: 503, Body: "<html>down</html>"}, provider.ErrUnavailable, "", 0},
		{"malformed 200", wazotest.Failure{Malformed: true}, provider.ErrBadResponse, "", 0},
		{"oversized 200", wazotest.Failure{Oversized: 2 << 20}, provider.ErrBadResponse, "", 0},
		{"200 without envelope", wazotest.Failure{Status: 200, Body: `{"token":"6f1c0a8e-0000-4000-8000-000000000000","utc_expires_at":"2026-05-05T12:00:00"}`}, provider.ErrBadResponse, "", 0},
		{"hang", wazotest.Failure{Hang: true}, provider.ErrUnavailable, "", 100 * time.Millisecond},
		{"redirect", wazotest.Failure{Redirect: "https://evil.example/"}, provider.ErrBadResponse, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, wazotest.Config{}, func(c *wazo.Config) { c.Timeout = tc.timeout })
			for _, op := range []string{"login", "refresh"} {
				e.srv.Fail(wazotest.EndpointToken, tc.fail)
				var err error
				if op == "login" {
					_, err = e.p.Login(context.Background(), testUser, testPassword)
				} else {
					_, err = e.p.Refresh(context.Background(), &provider.Token{AccessToken: "a", RefreshToken: "6f1c0a8e-0000-4000-8000-000000000000"})
				}
				pe := wantKind(t, err, tc.kind)
				if pe.Code != tc.code || pe.Op != op || pe.Provider != "wazo" {
					t.Errorf("%s: error = %+v, want code %q", op, pe, tc.code)
				}
				if strings.Contains(err.Error(), testPassword) {
					t.Errorf("%s: password in error", op)
				}
			}
		})
	}
}

func TestMaxSessionsIs429(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{MaxSessions: 2}, nil)
	ctx := context.Background()
	tok := login(t, e)
	login(t, e)
	_, err := e.p.Login(ctx, testUser, testPassword)
	pe := wantKind(t, err, provider.ErrUnavailable)
	if pe.StatusCode != http.StatusTooManyRequests || pe.Code != "too_many_sessions" {
		t.Errorf("error = %+v", pe)
	}
	// A refresh hits the same cap; the session must be kept, not ended.
	_, err = e.p.Refresh(ctx, tok)
	if !provider.IsTransient(err) || errors.Is(err, provider.ErrInvalidGrant) {
		t.Errorf("refresh at the cap: %v, want transient", err)
	}
	// Sessions expire: the cap clears.
	e.clock.Advance(time.Hour)
	if _, err := e.p.Refresh(ctx, tok); err != nil {
		t.Errorf("refresh after the sessions expired: %v", err)
	}
}

func TestBasePathBehindProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{PathPrefix: "/api/auth"}, nil)
	if !strings.HasSuffix(e.srv.URL, "/api/auth/0.1") {
		t.Fatalf("URL = %s", e.srv.URL)
	}
	tok := login(t, e)
	if _, err := e.p.Refresh(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Revoke(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if got := e.rec.last(t).URL; got != e.srv.URL+"/token/"+tok.AccessToken {
		t.Errorf("revoke URL = %s", got)
	}
	if e.srv.Calls(wazotest.EndpointToken) != 2 || e.srv.Calls(wazotest.EndpointRevoke) != 1 {
		t.Errorf("calls: token %d revoke %d", e.srv.Calls(wazotest.EndpointToken), e.srv.Calls(wazotest.EndpointRevoke))
	}
}

func TestEmailLoginAndUTF8Password(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	if _, err := e.p.Login(context.Background(), "alice@example.test", testPassword); err != nil {
		t.Fatalf("login by e-mail with a UTF-8 password containing ':': %v", err)
	}
}

func TestRevokeNonUUIDTokenIsNoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	if err := e.p.Revoke(context.Background(), &provider.Token{AccessToken: "not/a uuid?#"}); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if got := e.rec.last(t).URL; !strings.HasSuffix(got, "/token/not%2Fa%20uuid%3F%23") {
		t.Errorf("token not path-escaped: %s", got)
	}
	if err := e.p.Revoke(context.Background(), nil); err != nil {
		t.Errorf("Revoke(nil): %v", err)
	}
}

func TestRevokeOutageIsTransient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	tok := login(t, e)
	e.srv.Fail(wazotest.EndpointRevoke, wazotest.Failure{Status: 503})
	err := e.p.Revoke(context.Background(), tok)
	if !provider.IsTransient(err) {
		t.Errorf("Revoke during outage: %v, want ErrUnavailable", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []wazo.Config{
		{},
		{BaseURL: "http://wazo.example/0.1"},
		{BaseURL: "https://u:p@wazo.example/0.1"},
		{BaseURL: "https://wazo.example/0.1?x=1"},
		{BaseURL: "https://wazo.example/0.1", Expiration: MaxPlusOne},
		{BaseURL: "https://wazo.example/0.1", Expiration: -1},
		{BaseURL: "https://wazo.example/0.1", SessionType: "tablet"},
		{BaseURL: "https://wazo.example/0.1", Name: "a/b"},
		{BaseURL: "https://wazo.example/0.1", RevokeRefreshToken: true},
		{BaseURL: "https://wazo.example/0.1", ClientID: strings.Repeat("x", 1025)},
	} {
		if _, err := wazo.New(cfg); !errors.Is(err, wazo.ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	p, err := wazo.New(wazo.Config{BaseURL: "https://wazo.example/api/auth/0.1/"})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Config(); c.Name != "wazo" || c.Expiration != 3600 || p.Name() != "wazo" {
		t.Errorf("defaults: %+v", c)
	}
}

const MaxPlusOne = wazo.MaxExpiration + 1

func TestConcurrentLoginsAndRefreshes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	tok := login(t, e)
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func(i int) {
			var err error
			if i%2 == 0 {
				_, err = e.p.Refresh(context.Background(), tok)
			} else {
				_, err = e.p.Login(context.Background(), testUser, testPassword)
			}
			errs <- err
		}(i)
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRevokeRefreshTokenAfterAccessTokenExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, func(c *wazo.Config) { c.RevokeRefreshToken = true })
	tok := login(t, e)
	e.clock.Advance(2 * time.Hour) // the access token died before logout
	if err := e.p.Revoke(context.Background(), tok); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	u, _ := e.srv.User(testUser)
	if n := e.srv.RefreshTokens(u.UUID); n != 0 {
		t.Errorf("refresh tokens left: %d", n)
	}
	if n := e.srv.Sessions(u.UUID); n != 0 {
		t.Errorf("sessions left (the access token minted to delete the refresh token must be revoked too): %d", n)
	}
	if _, err := e.p.Refresh(context.Background(), tok); !errors.Is(err, provider.ErrInvalidGrant) {
		t.Errorf("refresh after logout: %v, want ErrInvalidGrant", err)
	}
}
