package middleware_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/middleware"
)

// newAPIApp is the security harness app with its handler replaced by one
// that also serves /api behind RequireAPI and /private behind Require;
// both answer "<method> <subject>". logouts counts OnLogout events.
func newAPIApp(t *testing.T) (*secApp, *atomic.Int32) {
	t.Helper()
	var logouts atomic.Int32
	app := newSecApp(t, func(c *middleware.Config) {
		c.OnLogout = func(context.Context, middleware.Event) { logouts.Add(1) }
	})
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, ok := middleware.AuthMethodFrom(r.Context())
		id, _ := middleware.IdentityFrom(r.Context())
		if !ok || id == nil {
			http.Error(w, "no auth method in context", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, string(m)+" "+id.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle(app.auth.BasePath()+"/", app.auth.Handler())
	mux.Handle("/api", app.auth.RequireAPI(who))
	mux.Handle("/private", app.auth.Require(who))
	app.h = app.auth.Wrap(mux)
	return app, &logouts
}

// bearerLogin logs alice in with a JSON password login, which answers a
// bearer JWT, and forgets the cookie: a bearer-only client.
func bearerLogin(t *testing.T, app *secApp) string {
	t.Helper()
	b := app.browser()
	res := b.do(http.MethodPost, "/auth/wazo/login", "application/json", `{"username":"alice","password":"correct-horse-battery"}`)
	wantStatus(t, res, http.StatusOK)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("no access token: %v", err)
	}
	return body.AccessToken
}

// cookieLoginWithJWT logs a browser in with alpha and mints a JWT from
// its cookie session.
func cookieLoginWithJWT(t *testing.T, app *secApp) (*secBrowser, string) {
	t.Helper()
	b := app.browser()
	wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
	res := b.do(http.MethodPost, "/auth/token", "", "", "Sec-Fetch-Site", "same-origin")
	wantStatus(t, res, http.StatusOK)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("no access token: %v", err)
	}
	return b, body.AccessToken
}

// TestRequireAPI: RequireAPI answers 401 JSON with an RFC 6750 §3
// WWW-Authenticate, never a redirect, whatever the Accept header (curl's
// "*/*" included, which Require treats as a browser); it lets cookie and
// bearer logins through, and AuthMethodFrom tells them apart.
func TestRequireAPI(t *testing.T) {
	t.Parallel()
	app, _ := newAPIApp(t)
	cookieBrowser, jwt := cookieLoginWithJWT(t, app)
	tests := []struct {
		name         string
		givenCookie  bool
		givenAuthz   string
		whenAccept   string
		whenPath     string
		expectStatus int
		expectWWW    string // exact WWW-Authenticate on 401
		expectError  string // JSON "error" on 401
		expectBody   string // body on 200
	}{
		{"anonymous curl */*", false, "", "*/*", "/api", 401, `Bearer realm="gatehouse"`, "unauthorized", ""},
		{"anonymous browser Accept", false, "", "text/html,application/xhtml+xml,*/*;q=0.8", "/api", 401, `Bearer realm="gatehouse"`, "unauthorized", ""},
		{"anonymous without Accept", false, "", "", "/api", 401, `Bearer realm="gatehouse"`, "unauthorized", ""},
		{"anonymous JSON client", false, "", "application/json", "/api", 401, `Bearer realm="gatehouse"`, "unauthorized", ""},
		{"garbage bearer", false, "Bearer not-a-jwt", "*/*", "/api", 401, `Bearer realm="gatehouse", error="invalid_token"`, "invalid_token", ""},
		{"bearer JWT", false, "Bearer " + jwt, "*/*", "/api", 200, "", "", "bearer alpha-user"},
		{"cookie session", true, "", "*/*", "/api", 200, "", "", "cookie alpha-user"},
		{"Require still redirects curl", false, "", "*/*", "/private", 302, "", "", ""},
	}
	for _, tc := range tests { // sequential: one app, one cookie browser
		t.Run(tc.name, func(t *testing.T) {
			b := app.browser()
			if tc.givenCookie {
				b = cookieBrowser
			}
			var hdr []string
			if tc.whenAccept != "" {
				hdr = append(hdr, "Accept", tc.whenAccept)
			}
			if tc.givenAuthz != "" {
				hdr = append(hdr, "Authorization", tc.givenAuthz)
			}
			res := b.get(tc.whenPath, hdr...)
			body := readBody(t, res)
			if res.StatusCode != tc.expectStatus {
				t.Fatalf("status %d, want %d (Location %q, body %s)", res.StatusCode, tc.expectStatus, res.Header.Get("Location"), body)
			}
			switch tc.expectStatus {
			case http.StatusOK:
				if body != tc.expectBody {
					t.Errorf("body %q, want %q", body, tc.expectBody)
				}
			case http.StatusUnauthorized:
				if got := res.Header.Get("WWW-Authenticate"); got != tc.expectWWW {
					t.Errorf("WWW-Authenticate %q, want %q", got, tc.expectWWW)
				}
				if ct := res.Header.Get("Content-Type"); ct != "application/json" || res.Header.Get("Location") != "" {
					t.Errorf("Content-Type %q, Location %q: want JSON, no redirect", ct, res.Header.Get("Location"))
				}
				var e struct {
					Error string `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != tc.expectError {
					t.Errorf("body %s: error %q, want %q", body, e.Error, tc.expectError)
				}
			}
		})
	}
}

// TestTokenRevoke: POST {BasePath}/token/revoke is RFC 7009 shaped. A
// bearer-only client ends its JWT without a cookie, which ends the session
// the JWT is bound to (the JWT and a cookie on that session stop working,
// the upstream token is revoked); unknown tokens get 200; malformed
// requests get RFC 6749 §5.2 JSON errors whatever the Accept header.
func TestTokenRevoke(t *testing.T) {
	t.Parallel()
	post := func(b *secBrowser, target string, form url.Values, hdr ...string) *http.Response {
		return b.do(http.MethodPost, target, "application/x-www-form-urlencoded", form.Encode(), hdr...)
	}
	apiStatus := func(app *secApp, jwt string) int {
		return app.browser().get("/api", "Authorization", "Bearer "+jwt).StatusCode
	}
	t.Run("bearer-only client ends its session", func(t *testing.T) {
		t.Parallel()
		app, logouts := newAPIApp(t)
		jwt := bearerLogin(t, app)
		if got := apiStatus(app, jwt); got != http.StatusOK {
			t.Fatalf("bearer before revocation: %d", got)
		}
		res := post(app.browser(), "/auth/token/revoke", url.Values{"token": {jwt}, "token_type_hint": {"access_token"}})
		if body := readBody(t, res); res.StatusCode != http.StatusOK || body != "" || res.Header.Get("Cache-Control") != "no-store" || len(res.Cookies()) != 0 {
			t.Fatalf("revoke: %d %q, Cache-Control %q, cookies %v", res.StatusCode, body, res.Header.Get("Cache-Control"), res.Cookies())
		}
		if got := apiStatus(app, jwt); got != http.StatusUnauthorized {
			t.Errorf("bearer after revocation: %d, want 401", got)
		}
		if n := logouts.Load(); n != 1 {
			t.Errorf("OnLogout called %d times, want 1", n)
		}
		// Again: the session is gone, still 200, no second logout.
		wantStatus(t, post(app.browser(), "/auth/token/revoke", url.Values{"token": {jwt}}), http.StatusOK)
		if n := logouts.Load(); n != 1 {
			t.Errorf("OnLogout called %d times after a repeat, want 1", n)
		}
	})
	t.Run("a JWT minted from a cookie session ends that session, and the upstream token is revoked", func(t *testing.T) {
		t.Parallel()
		app, _ := newAPIApp(t)
		b, jwt := cookieLoginWithJWT(t, app)
		wantStatus(t, b.get("/private"), http.StatusOK)
		// token_type_hint refresh_token: the search extends to access tokens (RFC 7009 §2.1).
		wantStatus(t, post(app.browser(), "/auth/token/revoke", url.Values{"token": {jwt}, "token_type_hint": {"refresh_token"}}), http.StatusOK)
		if got := apiStatus(app, jwt); got != http.StatusUnauthorized {
			t.Errorf("bearer after revocation: %d, want 401", got)
		}
		if res := b.get("/private"); res.StatusCode != http.StatusFound {
			t.Errorf("cookie of the ended session: %d, want 302 to the login", res.StatusCode)
		}
		if err := app.auth.Close(); err != nil { // waits for the background revocation
			t.Fatal(err)
		}
		if n := app.alpha.Calls(oauth2test.EndpointRevoke); n == 0 {
			t.Error("the upstream token was not revoked")
		}
	})
	t.Run("revoked by the browser of the same session, cookie sent too: not saved back", func(t *testing.T) {
		t.Parallel()
		app, _ := newAPIApp(t)
		b, jwt := cookieLoginWithJWT(t, app)
		wantStatus(t, post(b, "/auth/token/revoke", url.Values{"token": {jwt}}), http.StatusOK)
		if got := apiStatus(app, jwt); got != http.StatusUnauthorized {
			t.Errorf("bearer after revocation: %d, want 401", got)
		}
		if res := b.get("/private"); res.StatusCode != http.StatusFound {
			t.Errorf("cookie of the ended session: %d, want 302 to the login", res.StatusCode)
		}
	})
	app, logouts := newAPIApp(t)
	jwt := bearerLogin(t, app)
	tests := []struct {
		name         string
		whenMethod   string
		whenTarget   string
		whenType     string
		whenBody     string
		expectStatus int
		expectError  string // JSON error code; "" for 200
	}{
		{"unknown token", http.MethodPost, "/auth/token/revoke", "application/x-www-form-urlencoded", "token=not-a-jwt", 200, ""},
		{"unknown token with an unknown hint", http.MethodPost, "/auth/token/revoke", "application/x-www-form-urlencoded", "token=not-a-jwt&token_type_hint=id_token", 200, ""},
		{"unknown refresh token", http.MethodPost, "/auth/token/revoke", "application/x-www-form-urlencoded", "token=not-a-jwt&token_type_hint=refresh_token", 400, "unsupported_token_type"},
		{"no token", http.MethodPost, "/auth/token/revoke", "application/x-www-form-urlencoded", "token_type_hint=access_token", 400, "invalid_request"},
		{"repeated token", http.MethodPost, "/auth/token/revoke", "application/x-www-form-urlencoded", "token=a&token=b", 400, "invalid_request"},
		{"token in the URL", http.MethodPost, "/auth/token/revoke?token=" + url.QueryEscape(jwt), "application/x-www-form-urlencoded", "", 400, "invalid_request"},
		{"JSON body", http.MethodPost, "/auth/token/revoke", "application/json", `{"token":"x"}`, 400, "invalid_request"},
		{"GET", http.MethodGet, "/auth/token/revoke", "", "", 405, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := app.browser().do(tc.whenMethod, tc.whenTarget, tc.whenType, tc.whenBody, "Accept", "text/html")
			body := readBody(t, res)
			if res.StatusCode != tc.expectStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.expectStatus, body)
			}
			if tc.expectError == "" {
				return
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != tc.expectError || res.Header.Get("Content-Type") != "application/json" {
				t.Errorf("body %q (%s): want JSON error %q", body, res.Header.Get("Content-Type"), tc.expectError)
			}
			if tc.expectStatus == http.StatusMethodNotAllowed && res.Header.Get("Allow") != "POST" {
				t.Errorf("Allow %q, want POST", res.Header.Get("Allow"))
			}
		})
	}
	// None of the rejected requests ended the session.
	if got := apiStatus(app, jwt); got != http.StatusOK || logouts.Load() != 0 {
		t.Errorf("after rejected revocations: bearer %d, logouts %d; want 200, 0", got, logouts.Load())
	}
	if strings.Contains(app.logs.String(), jwt) {
		t.Error("the JWT appears in the logs")
	}
}

// TestTokenFailuresAreJSON: POST {BasePath}/token answers a token in JSON,
// so its failures are JSON too for curl's Accept: */* or no Accept header;
// a browser that asks for HTML still gets a page (TestTokenFailuresHTML).
func TestTokenFailuresAreJSON(t *testing.T) {
	t.Parallel()
	app, _ := newAPIApp(t)
	for _, accept := range []string{"*/*", ""} {
		b := app.browser()
		wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
		var hdr []string
		if accept != "" {
			hdr = []string{"Accept", accept}
		}
		res := b.do(http.MethodPost, "/auth/token", "", "", hdr...) // no CSRF token, no same-origin proof
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusForbidden || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
			!strings.Contains(string(body), `"error":"csrf"`) {
			t.Errorf("Accept %q: %d %q %s, want 403 JSON csrf", accept, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
}

func TestTokenFailuresHTML(t *testing.T) {
	t.Parallel()
	app, _ := newAPIApp(t)
	b := app.browser()
	wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
	res := b.do(http.MethodPost, "/auth/token", "", "", "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if res.StatusCode != http.StatusForbidden || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %q, want a 403 page", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
