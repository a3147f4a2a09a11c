package middleware_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// header expectations of one kind of response.
type headerKind int

const (
	kindHTML     headerKind = iota // a page: CSP frame-ancestors, XFO, nosniff, no-store, HSTS
	kindRedirect                   // a redirect issued by Gatehouse: no-store
	kindJSON                       // an API answer: no-store, nosniff
	kindJWKS                       // public key set: nosniff, cacheable
	kindApp                        // the app's response behind Require/Optional: no-store
)

// tlsClient talks to an httptest TLS server with its own cookie jar, never
// following redirects.
type tlsClient struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
	jar map[string]*http.Cookie
	// cookies are every Set-Cookie of the session cookie seen, by route.
	cookies map[string][]*http.Cookie
}

func (tc *tlsClient) do(route, method, target, ctype, body string, hdr ...string) *http.Response {
	tc.t.Helper()
	req, err := http.NewRequest(method, tc.srv.URL+target, strings.NewReader(body))
	if err != nil {
		tc.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	for _, c := range tc.jar {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	res, err := tc.c.Do(req)
	if err != nil {
		tc.t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if strings.Contains(c.Name, "gatehouse") {
			tc.cookies[route] = append(tc.cookies[route], c)
		}
		if c.MaxAge < 0 || c.Value == "" {
			delete(tc.jar, c.Name)
			continue
		}
		tc.jar[c.Name] = c
	}
	return res
}

// TestSecurityHeadersEveryRoute is checklist items 14, 15, 29 and 37 in one
// table over every route Gatehouse serves, over TLS with the production
// session defaults: security headers by kind of response, Referrer-Policy
// on login start and callback, Cache-Control: no-store on every response
// that sets the session cookie and on every authenticated response, and
// the session cookie's flags on every route that sets it.
func TestSecurityHeadersEveryRoute(t *testing.T) {
	app := newSecApp(t, func(c *middleware.Config) { c.Sessions = nil }) // session.New defaults
	srv := httptest.NewTLSServer(app.h)
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	newClient := func() *tlsClient {
		return &tlsClient{t: t, srv: srv, c: c, jar: map[string]*http.Cookie{}, cookies: map[string][]*http.Cookie{}}
	}
	tc := newClient()

	type row struct {
		route      string
		kind       headerKind
		status     int
		referrer   bool // Referrer-Policy: no-referrer required
		run        func() *http.Response
		wantCookie bool // the route must set the session cookie
	}
	var state string
	rows := []row{
		{route: "GET /auth/login (chooser)", kind: kindHTML, status: 200, wantCookie: true, run: func() *http.Response {
			return tc.do("chooser", http.MethodGet, "/auth/login", "", "")
		}},
		{route: "GET /auth/alpha/login (start)", kind: kindRedirect, status: 302, referrer: true, run: func() *http.Response {
			res := tc.do("start", http.MethodGet, "/auth/alpha/login?return_to=/x", "", "")
			u, _ := url.Parse(res.Header.Get("Location"))
			state = u.Query().Get("state")
			return res
		}},
		{route: "GET /auth/alpha/callback (error=access_denied)", kind: kindHTML, status: 403, referrer: true, run: func() *http.Response {
			return tc.do("callback-error", http.MethodGet, "/auth/alpha/callback?error=access_denied&state="+state, "", "")
		}},
		{route: "GET /auth/alpha/callback (bad state)", kind: kindHTML, status: 400, referrer: true, run: func() *http.Response {
			return tc.do("callback-bad", http.MethodGet, "/auth/alpha/callback?code=x&state=nope", "", "")
		}},
		{route: "GET /auth/alpha/callback (ok)", kind: kindRedirect, status: 303, referrer: true, wantCookie: true, run: func() *http.Response {
			res := tc.do("start2", http.MethodGet, "/auth/alpha/login", "", "")
			code, st, err := app.alpha.AuthorizeCode(context.Background(), res.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			return tc.do("callback-ok", http.MethodGet, "/auth/alpha/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(st), "", "")
		}},
		{route: "GET /private (Require, logged in)", kind: kindApp, status: 200, run: func() *http.Response {
			return tc.do("private", http.MethodGet, "/private", "", "")
		}},
		{route: "GET /optional (Optional, logged in)", kind: kindApp, status: 200, run: func() *http.Response {
			return tc.do("optional", http.MethodGet, "/optional", "", "")
		}},
		{route: "GET /admin (RequireScopes: 403)", kind: kindHTML, status: 403, run: func() *http.Response {
			return tc.do("admin", http.MethodGet, "/admin", "", "")
		}},
		{route: "POST /auth/token", kind: kindJSON, status: 200, run: func() *http.Response {
			return tc.do("token", http.MethodPost, "/auth/token", "", "", "Sec-Fetch-Site", "same-origin")
		}},
		{route: "GET /auth/.well-known/jwks.json", kind: kindJWKS, status: 200, run: func() *http.Response {
			return tc.do("jwks", http.MethodGet, "/auth/.well-known/jwks.json", "", "")
		}},
		{route: "GET /auth/logout (confirmation)", kind: kindHTML, status: 200, run: func() *http.Response {
			res := tc.do("logout-page", http.MethodGet, "/auth/logout", "", "")
			return res
		}},
		{route: "POST /auth/logout", kind: kindRedirect, status: 303, wantCookie: true, run: func() *http.Response {
			return tc.do("logout", http.MethodPost, "/auth/logout", "", "", "Sec-Fetch-Site", "same-origin")
		}},
		{route: "GET /private (Require, anonymous browser: 302)", kind: kindRedirect, status: 302, run: func() *http.Response {
			return tc.do("anon-302", http.MethodGet, "/private", "", "")
		}},
		{route: "GET /private (Require, anonymous API: 401)", kind: kindJSON, status: 401, run: func() *http.Response {
			return tc.do("anon-401", http.MethodGet, "/private", "", "", "Accept", "application/json")
		}},
		{route: "GET /private (Require, bad bearer: 401)", kind: kindJSON, status: 401, run: func() *http.Response {
			return tc.do("bearer-401", http.MethodGet, "/private", "", "", "Authorization", "Bearer "+strings.Repeat("x.", 20))
		}},
		{route: "GET /auth/imp/callback (implicit page)", kind: kindHTML, status: 200, run: func() *http.Response {
			return tc.do("implicit-page", http.MethodGet, "/auth/imp/callback", "", "")
		}},
		{route: "POST /auth/imp/implicit (bad state)", kind: kindHTML, status: 400, run: func() *http.Response {
			return tc.do("implicit-post", http.MethodPost, "/auth/imp/implicit", "application/x-www-form-urlencoded", "state=nope&access_token=x")
		}},
		{route: "GET /auth/wazo/login (password form)", kind: kindHTML, status: 200, run: func() *http.Response {
			res := tc.do("wazo-form", http.MethodGet, "/auth/wazo/login", "", "")
			return res
		}},
		{route: "POST /auth/wazo/login (wrong password: 401)", kind: kindHTML, status: 401, run: func() *http.Response {
			return tc.do("wazo-401", http.MethodPost, "/auth/wazo/login", "application/json", `{"username":"alice","password":"nope-nope"}`, "Accept", "text/html")
		}},
		{route: "POST /auth/wazo/login (JSON ok)", kind: kindJSON, status: 200, wantCookie: true, run: func() *http.Response {
			return tc.do("wazo-ok", http.MethodPost, "/auth/wazo/login", "application/json", `{"username":"alice","password":"correct-horse-battery"}`)
		}},
		{route: "GET /auth/nope/login (404)", kind: kindHTML, status: 404, run: func() *http.Response {
			return tc.do("404", http.MethodGet, "/auth/nope/login", "", "")
		}},
		{route: "DELETE /auth/logout (405)", kind: kindHTML, status: 405, run: func() *http.Response {
			return tc.do("405", http.MethodDelete, "/auth/logout", "", "")
		}},
	}
	for _, r := range rows {
		res := r.run()
		h := res.Header
		if res.StatusCode != r.status {
			t.Errorf("%s: status %d, want %d", r.route, res.StatusCode, r.status)
			continue
		}
		check := func(name, want string) {
			if got := h.Get(name); got != want {
				t.Errorf("%s: %s = %q, want %q", r.route, name, got, want)
			}
		}
		switch r.kind {
		case kindHTML:
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("%s: CSP %q", r.route, csp)
			}
			check("X-Frame-Options", "DENY")
			check("X-Content-Type-Options", "nosniff")
			check("Cache-Control", "no-store")
			check("Strict-Transport-Security", "max-age=31536000")
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Errorf("%s: Content-Type %q", r.route, h.Get("Content-Type"))
			}
		case kindRedirect, kindApp:
			check("Cache-Control", "no-store")
		case kindJSON:
			check("Cache-Control", "no-store")
			check("X-Content-Type-Options", "nosniff")
		case kindJWKS:
			check("X-Content-Type-Options", "nosniff")
			if !strings.HasPrefix(h.Get("Content-Type"), "application/") || !strings.Contains(h.Get("Content-Type"), "json") {
				t.Errorf("%s: Content-Type %q", r.route, h.Get("Content-Type"))
			}
		}
		if r.referrer {
			check("Referrer-Policy", "no-referrer")
		}
		if r.kind == kindRedirect {
			loc := res.Header.Get("Location")
			if strings.Contains(loc, "code=") && !strings.Contains(r.route, "start") {
				t.Errorf("%s: Location carries a code: %q", r.route, loc)
			}
		}
		setsCookie := false
		for _, sc := range res.Header.Values("Set-Cookie") {
			if strings.Contains(sc, "gatehouse") {
				setsCookie = true
			}
		}
		if r.wantCookie && !setsCookie {
			t.Errorf("%s: no session cookie set", r.route)
		}
		if setsCookie && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s sets the session cookie without Cache-Control: no-store (%q)", r.route, h.Get("Cache-Control"))
		}
	}
	// Without a session cookie the key set stays cacheable.
	if res := newClient().do("jwks-anon", http.MethodGet, "/auth/.well-known/jwks.json", "", ""); !strings.HasPrefix(res.Header.Get("Cache-Control"), "public") {
		t.Errorf("JWKS without cookie: Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	// Cookie flags on every issuing path (production defaults).
	n := 0
	for route, cs := range tc.cookies {
		for _, ck := range cs {
			n++
			if ck.Name != "__Host-gatehouse" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("%s: session cookie %q Secure=%v HttpOnly=%v SameSite=%v Path=%q Domain=%q",
					route, ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite, ck.Path, ck.Domain)
			}
			if len(ck.Name)+len(ck.Value) > 4096 { // item 36
				t.Errorf("%s: cookie of %d bytes", route, len(ck.Name)+len(ck.Value))
			}
		}
	}
	if n < 4 {
		t.Fatalf("only %d session cookies seen", n)
	}
}

// TestSecurityHeadersProviderOutage covers Require's 503 answer (upstream
// down after the token expired) and the session store's 503.
func TestSecurityHeadersProviderOutage(t *testing.T) {
	app := newSecApp(t, nil)
	tok := &provider.Token{AccessToken: "expired-at-0123456789", RefreshToken: "rt-0123456789abcdef", TokenType: "Bearer", Expiry: time.Now().Add(-time.Minute)}
	ck := authtest.Login(t, app.auth, provider.Identity{Provider: "alpha", Subject: "alpha-user"}, tok)
	app.alpha.Fail(oauth2test.EndpointToken, oauth2test.Failure{Status: http.StatusServiceUnavailable, Times: -1})
	b := app.browser()
	b.setCookie(ck.Value)
	res := b.get("/private")
	wantStatus(t, res, http.StatusServiceUnavailable)
	for k, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("503 %s = %q, want %q", k, got, want)
		}
	}
	if res.Header.Get("Retry-After") == "" || res.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("503 headers: %v", res.Header)
	}
	// Over plain http behind a TLS-terminating proxy, HSTS still (PublicURL
	// is https; see TestSecurityHSTSFollowsPublicURL).
	if res := b.get("http://app.example/auth/login"); res.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("no HSTS behind a TLS-terminating proxy: %v", res.Header)
	}

	// Store down: the session layer's own 503.
	sm := scs.New()
	sm.Store = downStore{}
	sm.Cookie.Name, sm.Cookie.Secure = "__Host-gatehouse", true
	mgr, err := session.New(session.Config{SessionManager: sm})
	if err != nil {
		t.Fatal(err)
	}
	down := newSecApp(t, func(c *middleware.Config) { c.Sessions = mgr })
	db := down.browser()
	db.setCookie("some-session-token")
	res = db.get("/private")
	wantStatus(t, res, http.StatusServiceUnavailable)
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("store-down 503 headers: %v", res.Header)
	}
}

type downStore struct{}

func (downStore) Delete(string) error                    { return errDown }
func (downStore) Find(string) ([]byte, bool, error)      { return nil, false, errDown }
func (downStore) Commit(string, []byte, time.Time) error { return errDown }

var errDown = &provider.Error{Op: "store", Kind: provider.ErrUnavailable}

// TestSecurityDevModeOnlyOnLoopback is checklist item 29's relaxation: a
// session cookie without Secure is refused unless DevMode is set, and
// DevMode is refused unless PublicURL is plain http on a loopback host;
// then the cookie is still HttpOnly and SameSite=Lax.
func TestSecurityDevModeOnlyOnLoopback(t *testing.T) {
	insecure := func() *session.Manager {
		sm := scs.New()
		sm.Cookie.Name, sm.Cookie.Secure, sm.Cookie.HttpOnly, sm.Cookie.SameSite = "gatehouse", false, true, http.SameSiteLaxMode
		m, err := session.New(session.Config{SessionManager: sm})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name      string
		publicURL string
		dev       bool
		ok        bool
	}{
		{"insecure cookie without DevMode", "https://app.example", false, false},
		{"insecure cookie without DevMode on loopback", "http://127.0.0.1:8080", false, false},
		{"DevMode with a public https URL", "https://app.example", true, false},
		{"DevMode with a public http URL", "http://app.example", true, false},
		{"DevMode without PublicURL", "", true, false},
		{"DevMode on localhost", "http://localhost:8080", true, true},
		{"DevMode on 127.0.0.1", "http://127.0.0.1:8080", true, true},
		{"DevMode on [::1]", "http://[::1]:8080", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, err := tryApp(t, func(c *middleware.Config) {
				c.Sessions, c.PublicURL, c.DevMode = insecure(), tc.publicURL, tc.dev
			})
			if (err == nil) != tc.ok {
				t.Fatalf("New: err = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			res := app.browser().get("/auth/alpha/login")
			var ck *http.Cookie
			for _, c := range res.Cookies() {
				ck = c
			}
			if ck == nil || ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
				t.Fatalf("dev cookie %+v", ck)
			}
		})
	}
	// Production default: Secure, and New accepts it without DevMode.
	if _, err := tryApp(t, func(c *middleware.Config) { c.Sessions = nil }); err != nil {
		t.Fatal(err)
	}
}

// tryApp is newSecApp returning New's error instead of failing.
func tryApp(t *testing.T, mutate func(*middleware.Config)) (*secApp, error) {
	t.Helper()
	return buildSecApp(t, mutate)
}

// TestSecuritySessionTokens is checklist item 30: session cookies carry
// 256 bits from scs's crypto/rand generator, distinct on every login.
func TestSecuritySessionTokens(t *testing.T) {
	app := newSecApp(t, func(c *middleware.Config) { c.Sessions = nil; c.LoginRateLimit = middleware.RateLimit{Failures: 1000} })
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		b := app.browser()
		b.ip = fmt.Sprintf("10.9.%d.1", i)
		wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
		v := b.cookie()
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(raw) != 32 {
			t.Fatalf("session token %q: %d bytes, %v", v, len(raw), err)
		}
		if seen[v] {
			t.Fatal("session token repeated")
		}
		seen[v] = true
	}
}
