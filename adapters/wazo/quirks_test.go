package wazo_test

// One test per quirk of wazo-auth listed in the package documentation.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

func getJSON(t *testing.T, c *http.Client, method, url string, hdr http.Header) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object", method, url, b)
		}
	}
	return resp.StatusCode, m
}

// Quirk 1: token payloads are wrapped in {"data": ...}; list endpoints are not.
func TestQuirk1_EnvelopeData(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	tok := login(t, e)
	if tok.AccessToken == "" {
		t.Fatal("no token unwrapped")
	}
	st, list := getJSON(t, e.srv.Client(), http.MethodGet, e.srv.URL+"/users/me/tokens", http.Header{"X-Auth-Token": {tok.AccessToken}})
	if st != 200 || list["items"] == nil || list["data"] != nil {
		t.Errorf("list reply (HTTP %d) = %v, want unwrapped items", st, list)
	}
	// An unwrapped token reply is not what the spec says.
	e.srv.Fail(wazotest.EndpointToken, wazotest.Failure{Status: 200,
		Body: `{"token":"6f1c0a8e-0000-4000-8000-000000000000","auth_id":"u","utc_expires_at":"2026-05-05T12:00:00"}`})
	_, err := e.p.Login(context.Background(), testUser, testPassword)
	wantKind(t, err, provider.ErrBadResponse)
}

// Quirk 2: two error body formats, classified by status.
func TestQuirk2_TwoErrorShapes(t *testing.T) {
	t.Parallel()
	legacy := wazo.DecodeError(401, nil, []byte(`{"reason":["Authentication Failed"],"timestamp":[1778000000.123],"status_code":401}`))
	if legacy.Description != "Authentication Failed" || !errors.Is(legacy, provider.ErrUnauthorized) {
		t.Errorf("legacy = %+v", legacy)
	}
	api := wazo.DecodeError(404, nil, []byte(`{"message":"unknown refresh_token for client_id \"x\"","error_id":"cannot-find-refresh-token-matching-client-id","details":{"client_id":"x"},"timestamp":1778000000.1,"resource":"tokens"}`))
	if api.Code != "cannot-find-refresh-token-matching-client-id" || !strings.HasPrefix(api.Description, "unknown refresh_token") || !errors.Is(api, provider.ErrRejected) {
		t.Errorf("api = %+v", api)
	}
	for _, body := range []string{"", "null", "[]", `{"reason":"x"}`, `{"reason":[1,2]}`, "<html>", `{"message":5}`} {
		for _, st := range []int{400, 401, 403, 404, 429, 500, 502} {
			e := wazo.DecodeError(st, nil, []byte(body))
			if e == nil || e.Kind == nil {
				t.Fatalf("DecodeError(%d, %q) = %+v", st, body, e)
			}
			if st >= 500 && !errors.Is(e, provider.ErrUnavailable) {
				t.Errorf("DecodeError(%d) kind %v", st, e.Kind)
			}
		}
	}
	// Both shapes from the fake, through the adapter and raw.
	env := newEnv(t, wazotest.Config{}, nil)
	_, err := env.p.Login(context.Background(), testUser, "wrong")
	if pe := wantKind(t, err, provider.ErrInvalidCredentials); pe.Description != "Authentication Failed" {
		t.Errorf("login error description %q", pe.Description)
	}
	st, body := getJSON(t, env.srv.Client(), http.MethodGet, env.srv.URL+"/users/me/tokens", nil)
	if st != 401 || body["error_id"] != "unauthorized" {
		t.Errorf("resource 401 = %d %v", st, body)
	}
}

// Quirk 3: password in Basic, options in a JSON object body, always sent.
func TestQuirk3_BasicAuthPlusJSONBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	tok := login(t, e)
	r := e.rec.last(t)
	user, pass, ok := (&http.Request{Header: r.Header}).BasicAuth()
	if !ok || user != testUser || pass != testPassword {
		t.Errorf("Basic = %q ok=%v", user, ok)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	if body["expiration"] != float64(3600) || body["access_type"] != "offline" || body["client_id"] != testClient || len(body) != 3 {
		t.Errorf("login body = %v", body)
	}
	if strings.Contains(string(r.Body), testPassword) {
		t.Error("password in the body")
	}
	if _, err := e.p.Refresh(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	r = e.rec.last(t)
	if r.Header.Get("Authorization") != "" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("refresh headers = %v", r.Header)
	}
	// The fake, like wazo-auth, refuses a missing body.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/token", nil)
	req.SetBasicAuth(testUser, testPassword)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("empty body: HTTP %d, want 400", resp.StatusCode)
	}
}

// Quirk 4: expires_at is naive local time; utc_expires_at is used, the
// fraction may be absent, and expiry is local receipt time + granted life.
func TestQuirk4_UTCExpiresAtNotExpiresAt(t *testing.T) {
	t.Parallel()
	serverClock := newClock()
	serverClock.Advance(37*time.Minute + 500*time.Millisecond) // skewed upstream clock, with a fraction
	e := newEnv(t, wazotest.Config{Now: serverClock.Now, Location: time.FixedZone("UTC+5", 5*3600)},
		func(c *wazo.Config) { c.Expiration = 600 })
	tok := login(t, e)
	if want := e.clock.Now().Add(600 * time.Second); !tok.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want receipt time + 600s = %v", tok.Expiry, want)
	}
	// Without utc_issued_at the absolute utc_expires_at is used; the local
	// expires_at (here wildly different) is ignored.
	e.srv.Fail(wazotest.EndpointToken, wazotest.Failure{Status: 200, Body: `{"data":{"token":"6f1c0a8e-0000-4000-8000-000000000000","auth_id":"u",
		"expires_at":"2099-01-01T00:00:00","utc_expires_at":"2026-05-05T11:00:00"}}`})
	tok, err := e.p.Login(context.Background(), testUser, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 5, 5, 11, 0, 0, 0, time.UTC); !tok.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v", tok.Expiry, want)
	}
	// Only expires_at: refused.
	e.srv.Fail(wazotest.EndpointToken, wazotest.Failure{Status: 200, Body: `{"data":{"token":"6f1c0a8e-0000-4000-8000-000000000000","auth_id":"u","expires_at":"2026-05-05T11:00:00"}}`})
	_, err = e.p.Login(context.Background(), testUser, testPassword)
	wantKind(t, err, provider.ErrBadResponse)
}

// Quirk 5: a refresh reply has no refresh_token; the old one is kept and the
// same client_id is resent.
func TestQuirk5_RefreshKeepsRefreshTokenAndClientID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	tok := login(t, e)
	fresh, err := e.p.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.RefreshToken != tok.RefreshToken {
		t.Error("refresh token not kept")
	}
	var body map[string]any
	_ = json.Unmarshal(e.rec.last(t).Body, &body)
	if body["client_id"] != testClient || body["refresh_token"] != tok.RefreshToken || body["expiration"] != float64(3600) || body["access_type"] != nil {
		t.Errorf("refresh body keys = %v", keys(body))
	}
	// Refresh again with the kept refresh token.
	if _, err := e.p.Refresh(context.Background(), fresh); err != nil {
		t.Errorf("second refresh: %v", err)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Quirk 6: a client_id mismatch is 401 "Authentication Failed", not 400.
func TestQuirk6_ClientIDMismatchIs401(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	tok := login(t, e)
	other, err := wazo.New(wazo.Config{BaseURL: e.srv.URL, ClientID: "another-app", HTTPClient: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Refresh(context.Background(), tok)
	pe := wantKind(t, err, provider.ErrInvalidGrant)
	if pe.StatusCode != http.StatusUnauthorized || pe.Description != "Authentication Failed" {
		t.Errorf("error = %+v", pe)
	}
}

// Quirk 7: validation answers 404 for unknown, expired and refresh tokens and
// 403 for a missing ACL; resource endpoints answer 401 for both.
func TestQuirk7_ValidateVsResourceStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{Users: []wazotest.User{{Username: testUser, Password: testPassword, ACL: []string{"confd.users.me.read"}}}}, nil)
	tok := login(t, e)
	c := e.srv.Client()
	for _, tc := range []struct {
		name, url string
		want      int
	}{
		{"valid", "/token/" + tok.AccessToken, 200},
		{"refresh token", "/token/" + tok.RefreshToken, 404},
		{"unknown", "/token/" + wazotest.NewUUID(), 404},
		{"not a uuid", "/token/abc", 404},
		{"acl granted", "/token/" + tok.AccessToken + "?scope=confd.users.me.read", 200},
		{"acl missing", "/token/" + tok.AccessToken + "?scope=confd.users.read", 403},
	} {
		if st, _ := getJSON(t, c, http.MethodGet, e.srv.URL+tc.url, nil); st != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, st, tc.want)
		}
	}
	// Resource endpoint: missing ACL (auth.users.me.tokens.read) is 401 too.
	st, body := getJSON(t, c, http.MethodGet, e.srv.URL+"/users/me/tokens", http.Header{"X-Auth-Token": {tok.AccessToken}})
	details, _ := body["details"].(map[string]any)
	if st != 401 || details["reason"] != "missing_permission_or_invalid_tenant" {
		t.Errorf("missing ACL on resource: %d %v", st, body)
	}
	e.clock.Advance(2 * time.Hour)
	if st, _ := getJSON(t, c, http.MethodGet, e.srv.URL+"/token/"+tok.AccessToken, nil); st != 404 {
		t.Errorf("expired token: HTTP %d, want 404", st)
	}
}

// Quirk 8: revoke is idempotent and always 200; deleting a refresh token
// does not revoke live access tokens.
func TestQuirk8_RevokeIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	ctx := context.Background()
	tok := login(t, e)
	for i := 0; i < 2; i++ {
		if err := e.p.Revoke(ctx, tok); err != nil {
			t.Fatalf("Revoke #%d: %v", i+1, err)
		}
	}
	if err := e.p.Revoke(ctx, &provider.Token{AccessToken: wazotest.NewUUID()}); err != nil {
		t.Errorf("Revoke unknown: %v", err)
	}
	// Deleting the refresh token keeps a live access token alive.
	live, err := e.p.Refresh(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/users/me/tokens/"+testClient, nil)
	e.p.SetCredential(req, live)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete refresh token: HTTP %d", resp.StatusCode)
	}
	if resp := apiCall(t, e, live); resp.StatusCode != http.StatusOK {
		t.Errorf("access token after its refresh token was deleted: HTTP %d, want 200", resp.StatusCode)
	}
	_, err = e.p.Refresh(ctx, tok)
	wantKind(t, err, provider.ErrInvalidGrant)
}

// Quirk 9: mobile comes from the Wazo-Session-Type header, not the body.
func TestQuirk9_SessionTypeHeader(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, func(c *wazo.Config) { c.SessionType = wazo.SessionMobile })
	first := login(t, e)
	r := e.rec.last(t)
	if r.Header.Get("Wazo-Session-Type") != "mobile" || strings.Contains(string(r.Body), "mobile") {
		t.Errorf("header %q body %s", r.Header.Get("Wazo-Session-Type"), r.Body)
	}
	// A new mobile offline login replaces the refresh token and ends the
	// sessions of the old one.
	second := login(t, e)
	if second.RefreshToken == first.RefreshToken {
		t.Error("mobile re-login kept the refresh token")
	}
	if _, err := e.p.Refresh(context.Background(), first); !errors.Is(err, provider.ErrInvalidGrant) {
		t.Errorf("old mobile refresh token: %v, want ErrInvalidGrant", err)
	}
	if resp := apiCall(t, e, first); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old mobile session: HTTP %d, want 401", resp.StatusCode)
	}
	// Desktop: the same refresh token comes back.
	d := newEnv(t, wazotest.Config{}, func(c *wazo.Config) { c.SessionType = wazo.SessionDesktop })
	if a, b := login(t, d), login(t, d); a.RefreshToken != b.RefreshToken {
		t.Error("desktop re-login changed the refresh token")
	}
}

// Quirk 10: scopes/check returns an object although the spec says array.
func TestQuirk10_ScopesCheckObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, wazotest.Config{}, nil)
	tok := login(t, e)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/token/"+tok.AccessToken+"/scopes/check",
		strings.NewReader(`{"scopes":["confd.users.me.read","confd.users.read"]}`))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Scopes map[string]bool `json:"scopes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("scopes is not an object: %v", err)
	}
	if resp.StatusCode != 200 || !body.Scopes["confd.users.me.read"] || body.Scopes["confd.users.read"] {
		t.Errorf("HTTP %d scopes %v", resp.StatusCode, body.Scopes)
	}
}
