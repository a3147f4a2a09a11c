package flowtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/middleware"
)

// testCase is one row of the shared table.
type testCase struct {
	name string
	opts options
	run  func(t *testing.T, e *env)
}

// Run runs the whole table against s, each case in parallel with its own
// app and fakes.
func Run(t *testing.T, s Stack) {
	for _, tc := range append(append(cases(), oidcCases()...), pagesCases()...) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, s, tc.opts)
			tc.run(t, e)
		})
	}
}

func status(t *testing.T, r *response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("status %d, want %d; body: %.400s", r.StatusCode, want, r.body)
	}
}

func contains(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q not found in %.600s", sub, s)
	}
}

func calls(t *testing.T, srv *oauth2test.Server, ep oauth2test.Endpoint, want int) {
	t.Helper()
	if got := srv.Calls(ep); got != want {
		t.Fatalf("%s calls = %d, want %d", ep, got, want)
	}
}

func htmlHeaders(t *testing.T, r *response) {
	t.Helper()
	h := r.Header
	for k, want := range map[string]string{
		"X-Frame-Options":           "DENY",
		"X-Content-Type-Options":    "nosniff",
		"Cache-Control":             "no-store",
		"Strict-Transport-Security": "max-age=31536000",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
}

func jsonBody(t *testing.T, r *response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("not JSON (%v): %.300s", err, r.body)
	}
	return m
}

func csrfFrom(t *testing.T, body string) string {
	t.Helper()
	const marker = `name="csrf_token" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no csrf_token in page: %.400s", body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// openRedirects are return_to values that must all end at "/".
var openRedirects = []string{
	"//evil.example", "/\\evil.example", "\\/evil.example", "/%2f%2fevil.example", "%2F%2Fevil.example",
	"/\tevil", "/\t/evil.example", "/\r\n/evil.example", "/%0d%0a/evil.example", "/%09/evil.example",
	"https://evil.example", "https://evil.example/", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
	"/%5cevil.example", "/%5c%5cevil.example", "/%252f%252fevil.example", "/%25252f%25252fevil.example",
	"http:/evil.example", "http://evil.example", "/.//evil.example", "/./", "/../evil", "/a/../../evil",
	"/%2e%2e/evil", "/%2e/%2fevil.example", "https://docs.example.evil.example/", "https://evil.example?docs.example",
	"https://docs.example@evil.example/", "http://docs.example/", "data:text/html,hi", "/ /evil", "/\x00evil",
	"\x01/evil", "/evil\u2028", "/%e2%80%a8evil", "//%09/evil.example", "///evil.example", "https:evil.example",
	"%5c%5cevil.example", "/\\/evil.example", "evil.example", ".", "", "  /home",
}

func cases() []testCase {
	return []testCase{
		{name: "redirect login: PKCE S256, state, renewed session, 303 with safe headers", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "return_to=%2Fdashboard%3Ftab%3D1")
			q := au.Query()
			if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 22 {
				t.Fatalf("authorize query: %v", q)
			}
			if q.Get("redirect_uri") != publicURL+"/auth/alpha/callback" {
				t.Fatalf("redirect_uri %q", q.Get("redirect_uri"))
			}
			before := b.cookie()
			if before == "" {
				t.Fatal("no session cookie after login start")
			}
			code, state := e.authorize("alpha", au)
			res := b.get("/auth/alpha/callback?code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(state))
			status(t, res, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != "/dashboard?tab=1" {
				t.Fatalf("Location %q", loc)
			}
			if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Referrer-Policy") != "no-referrer" || res.body != "" {
				t.Fatalf("callback headers %v body %q", res.Header, res.body)
			}
			after := b.cookie()
			if after == "" || after == before {
				t.Fatal("session id not renewed at login")
			}
			if e.storeHas(before) {
				t.Fatal("pre-login session id still in the store")
			}
			calls(t, e.alpha, oauth2test.EndpointToken, 1)
			reqs := e.alpha.Requests(oauth2test.EndpointToken)
			if oauth2test.S256(reqs[0].Params.Get("code_verifier")) != q.Get("code_challenge") {
				t.Fatal("verifier does not match the challenge")
			}
			status(t, b.get(PathPrivate), http.StatusOK)
			if !e.hasEvent(middleware.EventLogin, "") {
				t.Fatal("OnLogin not called")
			}
			e.assertNoSecrets()
		}},
		{name: "two tabs log in at once", run: func(t *testing.T, e *env) {
			b := e.browser()
			au1 := e.startLogin(b, "alpha", "return_to=/one")
			au2 := e.startLogin(b, "alpha", "return_to=/two")
			c2, s2 := e.authorize("alpha", au2)
			c1, s1 := e.authorize("alpha", au1)
			r1 := b.get("/auth/alpha/callback?code=" + c1 + "&state=" + s1)
			status(t, r1, http.StatusSeeOther)
			r2 := b.get("/auth/alpha/callback?code=" + c2 + "&state=" + s2)
			status(t, r2, http.StatusSeeOther)
			if r1.Header.Get("Location") != "/one" || r2.Header.Get("Location") != "/two" {
				t.Fatal("attempts mixed up")
			}
		}},
		{name: "callback without state: 400, no token call", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "")
			code, _ := e.authorize("alpha", au)
			res := b.get("/auth/alpha/callback?code=" + code)
			status(t, res, http.StatusBadRequest)
			htmlHeaders(t, res)
			calls(t, e.alpha, oauth2test.EndpointToken, 0)
		}},
		{name: "callback with wrong state: 400 explaining likely reasons, no token call", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "")
			code, _ := e.authorize("alpha", au)
			res := b.get("/auth/alpha/callback?code=" + code + "&state=forged-state-value-1234567890")
			status(t, res, http.StatusBadRequest)
			contains(t, res.body, "cookie")
			contains(t, res.body, "took too long")
			contains(t, res.body, "already used")
			if strings.Contains(res.body, "SameSite") || strings.Contains(res.body, "state_not_found") {
				t.Fatalf("developer details on the page: %.600s", res.body)
			}
			contains(t, e.logs.String(), "SameSite") // they go to the log
			calls(t, e.alpha, oauth2test.EndpointToken, 0)
		}},
		{name: "state from another browser's session: 400, no token call", run: func(t *testing.T, e *env) {
			victim, attacker := e.browser(), e.browser()
			au := e.startLogin(attacker, "alpha", "")
			code, state := e.authorize("alpha", au)
			e.startLogin(victim, "alpha", "")
			res := victim.get("/auth/alpha/callback?code=" + code + "&state=" + state)
			status(t, res, http.StatusBadRequest)
			calls(t, e.alpha, oauth2test.EndpointToken, 0)
			status(t, victim.get(PathPrivate, "Accept", "application/json"), http.StatusUnauthorized)
		}},
		{name: "replayed callback: on to the return path while signed in, 4xx after sign-out, exactly one token call", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "return_to=%2Freport%3Fy%3D1")
			code, state := e.authorize("alpha", au)
			cb := "/auth/alpha/callback?code=" + code + "&state=" + state
			status(t, b.get(cb), http.StatusSeeOther)
			cookie := b.cookie()
			res := b.get(cb) // Back to the callback: signed in, so on to the login's return path
			status(t, res, http.StatusSeeOther)
			if got := res.Header.Get("Location"); got != "/report?y=1" {
				t.Fatalf("replay while signed in: Location %q, want the attempt's return path", got)
			}
			if b.cookie() != cookie {
				t.Fatal("the replay changed the session")
			}
			status(t, b.postForm("/auth/logout", url.Values{}, "Origin", publicURL), http.StatusSeeOther)
			res = b.get(cb)
			status(t, res, http.StatusBadRequest)
			contains(t, res.body, `href="/auth/alpha/login"`) // restart link
			calls(t, e.alpha, oauth2test.EndpointToken, 1)
		}},
		{name: "expired attempt: login expired, nothing upstream", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "")
			code, state := e.authorize("alpha", au)
			e.clk.Advance(11 * time.Minute)
			res := b.get("/auth/alpha/callback?code=" + code + "&state=" + state)
			status(t, res, http.StatusBadRequest)
			contains(t, res.body, "took too long and has expired")
			calls(t, e.alpha, oauth2test.EndpointToken, 0)
		}},
		{name: "provider mismatch: code for alpha delivered to beta, no token call to either", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "")
			code, state := e.authorize("alpha", au)
			res := b.get("/auth/beta/callback?code=" + code + "&state=" + state)
			status(t, res, http.StatusBadRequest)
			calls(t, e.alpha, oauth2test.EndpointToken, 0)
			calls(t, e.beta, oauth2test.EndpointToken, 0)
		}},
		{name: "error=access_denied: escaped page, state consumed, no token call", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "")
			state := au.Query().Get("state")
			res := b.get("/auth/alpha/callback?error=access_denied&error_description=" + url.QueryEscape("<script>alert(1)</script>") + "&state=" + state)
			status(t, res, http.StatusForbidden)
			htmlHeaders(t, res)
			if strings.Contains(res.body, "<script>alert(1)") || strings.Contains(res.body, "script&gt;") || strings.Contains(res.body, "access_denied") {
				t.Fatal("the provider's error or description is on the page")
			}
			contains(t, res.body, "cancelled")
			contains(t, e.logs.String(), "access_denied") // the details go to the log
			res = b.get("/auth/alpha/callback?code=whatever-code-123&state=" + state)
			status(t, res, http.StatusBadRequest)
			calls(t, e.alpha, oauth2test.EndpointToken, 0)
			if !e.hasEvent(middleware.EventError, "provider_error") {
				t.Fatalf("OnError not called: %v", e.eventCodes())
			}
		}},
		{name: "missing code: 400 restart message", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "")
			res := b.get("/auth/alpha/callback?state=" + au.Query().Get("state"))
			status(t, res, http.StatusBadRequest)
			contains(t, res.body, "The answer from alpha is incomplete. Please start again.")
			if strings.Contains(res.body, "OAuth") {
				t.Fatalf("protocol terms on the page: %.600s", res.body)
			}
			res = e.api().get("/auth/alpha/callback?state=x")
			status(t, res, http.StatusBadRequest)
			if jsonBody(t, res)["error"] != "state_not_found" {
				t.Fatalf("API error body %s", res.body)
			}
		}},
		{name: "RFC 9207 iss: wrong or missing issuer rejected", opts: options{issuer: "https://alpha.example"}, run: func(t *testing.T, e *env) {
			b := e.browser()
			for _, iss := range []string{"&iss=https%3A%2F%2Fevil.example", "&iss=https%3A%2F%2Falpha.example%2F", ""} {
				au := e.startLogin(b, "alpha", "")
				code, state := e.authorize("alpha", au)
				status(t, b.get("/auth/alpha/callback?code="+code+"&state="+state+iss), http.StatusBadRequest)
			}
			calls(t, e.alpha, oauth2test.EndpointToken, 0)
			au := e.startLogin(b, "alpha", "")
			code, state := e.authorize("alpha", au)
			status(t, b.get("/auth/alpha/callback?code="+code+"&state="+state+"&iss=https%3A%2F%2Falpha.example"), http.StatusSeeOther)
		}},
		{name: "scope on the login URL is ignored", run: func(t *testing.T, e *env) {
			au := e.startLogin(e.browser(), "alpha", "scope=admin&scopes=bogus")
			if s := au.Query().Get("scope"); s != "openid profile" {
				t.Fatalf("scope %q", s)
			}
		}},
		{name: "Host and X-Forwarded-* never change redirect_uri", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "alpha", "", "Host", "evil.example", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http")
			if au.Query().Get("redirect_uri") != publicURL+"/auth/alpha/callback" {
				t.Fatalf("redirect_uri %q", au.Query().Get("redirect_uri"))
			}
			code, state := e.authorize("alpha", au)
			status(t, b.get("/auth/alpha/callback?code="+code+"&state="+state, "Host", "evil.example", "X-Forwarded-Host", "evil.example"), http.StatusSeeOther)
			if got := e.alpha.Requests(oauth2test.EndpointToken)[0].Params.Get("redirect_uri"); got != publicURL+"/auth/alpha/callback" {
				t.Fatalf("token request redirect_uri %q", got)
			}
		}},
		{name: "return_to corpus ends at / after login and logout", run: func(t *testing.T, e *env) {
			for _, rt := range openRedirects {
				b := e.browser()
				res := e.login(b, "alpha", rt)
				status(t, res, http.StatusSeeOther)
				if loc := res.Header.Get("Location"); loc != "/" {
					t.Errorf("return_to %q after login → %q", rt, loc)
				}
				page := b.get("/auth/logout")
				res = b.postForm("/auth/logout", url.Values{"csrf_token": {csrfFrom(t, page.body)}, "return_to": {rt}})
				status(t, res, http.StatusSeeOther)
				if loc := res.Header.Get("Location"); loc != "/" {
					t.Errorf("return_to %q after logout → %q", rt, loc)
				}
			}
		}},
		{name: "valid return paths are kept", run: func(t *testing.T, e *env) {
			for _, rt := range []string{"/", "/a/b?c=d&e=%2F", "/path#frag", "https://docs.example/guide?x=1"} {
				res := e.login(e.browser(), "alpha", rt)
				if loc := res.Header.Get("Location"); loc != rt {
					t.Errorf("return_to %q → %q", rt, loc)
				}
			}
		}},
		{name: "Require: browser 302 to login, API 401 JSON with WWW-Authenticate", run: func(t *testing.T, e *env) {
			res := e.browser().get(PathPrivate + "?x=1")
			status(t, res, http.StatusFound)
			if loc := res.Header.Get("Location"); loc != "/auth/login?return_to=%2Fprivate%3Fx%3D1" {
				t.Fatalf("Location %q", loc)
			}
			for _, hdr := range [][]string{{"Accept", "application/json"}, {"X-Requested-With", "XMLHttpRequest"}, {"Authorization", "Basic Zm9vOmJhcg=="}} {
				b := e.browser()
				res = b.get(PathPrivate, hdr...)
				status(t, res, http.StatusUnauthorized)
				if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer realm=") || jsonBody(t, res)["error"] != "unauthorized" {
					t.Fatalf("API 401: %v %s", res.Header, res.body)
				}
			}
			status(t, e.browser().get(PathOptional), http.StatusOK)
		}},
		{name: "Require with one redirect provider goes straight to it", opts: options{mutate: func(c *middleware.Config) {
			c.Providers = c.Providers[:1]
			c.Implicit = nil
		}}, run: func(t *testing.T, e *env) {
			res := e.browser().get(PathPrivate)
			status(t, res, http.StatusFound)
			if loc := res.Header.Get("Location"); loc != "/auth/alpha/login?return_to=%2Fprivate" {
				t.Fatalf("Location %q", loc)
			}
		}},
		{name: "Optional: anonymous and logged in", run: func(t *testing.T, e *env) {
			b := e.browser()
			res := b.get(PathOptional)
			status(t, res, http.StatusOK)
			contains(t, res.body, "anonymous")
			e.login(b, "alpha", "")
			contains(t, b.get(PathOptional).body, "hello alpha-user")
		}},
		{name: "logout: GET confirms, cross-site POST refused, POST with token logs out and revokes", run: func(t *testing.T, e *env) {
			b := e.browser()
			status(t, e.login(b, "alpha", ""), http.StatusSeeOther)
			old := b.cookie()
			page := b.get("/auth/logout")
			status(t, page, http.StatusOK)
			htmlHeaders(t, page)
			status(t, b.get(PathPrivate), http.StatusOK)
			res := b.postForm("/auth/logout", url.Values{}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
			status(t, res, http.StatusForbidden)
			res = b.postForm("/auth/logout", url.Values{"csrf_token": {"wrong"}}, "Origin", "https://evil.example")
			status(t, res, http.StatusForbidden)
			status(t, b.get(PathPrivate), http.StatusOK)
			res = b.postForm("/auth/logout", url.Values{"csrf_token": {csrfFrom(t, page.body)}, "return_to": {"/bye"}})
			status(t, res, http.StatusSeeOther)
			if res.Header.Get("Location") != "/bye" {
				t.Fatalf("Location %q", res.Header.Get("Location"))
			}
			if e.storeHas(old) {
				t.Fatal("session still in the store after logout")
			}
			replay := e.browser()
			replay.jar["__Host-gatehouse"] = &http.Cookie{Name: "__Host-gatehouse", Value: old}
			status(t, replay.get(PathPrivate, "Accept", "application/json"), http.StatusUnauthorized)
			_ = e.auth.Close()
			if e.alpha.Calls(oauth2test.EndpointRevoke) == 0 {
				t.Fatal("no upstream revocation")
			}
			res = b.postForm("/auth/logout", url.Values{}, "Sec-Fetch-Site", "same-origin")
			status(t, res, http.StatusSeeOther)
			if !e.hasEvent(middleware.EventLogout, "") {
				t.Fatal("OnLogout not called")
			}
			e.assertNoSecrets()
		}},
		{name: "logout succeeds when revocation fails; failure logged without the token", run: func(t *testing.T, e *env) {
			b := e.browser()
			e.login(b, "alpha", "")
			b.get(PathPrivate)
			e.alpha.Fail(oauth2test.EndpointRevoke, oauth2test.Failure{Status: 500, Times: -1})
			res := b.postForm("/auth/logout", url.Values{}, "Origin", publicURL)
			status(t, res, http.StatusSeeOther)
			status(t, b.get(PathPrivate, "Accept", "application/json"), http.StatusUnauthorized)
			_ = e.auth.Close()
			contains(t, e.logs.String(), "revoke_failed")
			e.assertNoSecrets()
		}},
		{name: "password login: accessible form, generic 401, rate limit 429, success 303", run: func(t *testing.T, e *env) {
			b := e.browser()
			form := b.get("/auth/wazo/login?return_to=/inbox")
			status(t, form, http.StatusOK)
			htmlHeaders(t, form)
			for _, s := range []string{`autocomplete="username"`, `autocomplete="current-password"`, `<label for="username-wazo"`, `<label for="password-wazo"`} {
				contains(t, form.body, s)
			}
			tok := csrfFrom(t, form.body)
			e.secret("correct-horse-battery", "password")
			e.secret("wrong-password-1", "password")
			res := b.postForm("/auth/wazo/login", url.Values{"username": {"alice"}, "password": {"correct-horse-battery"}})
			status(t, res, http.StatusForbidden) // no CSRF token
			for i := 0; i < 5; i++ {
				res = b.postForm("/auth/wazo/login", url.Values{"csrf_token": {tok}, "username": {"alice"}, "password": {"wrong-password-1"}, "return_to": {"/inbox"}})
				status(t, res, http.StatusUnauthorized)
				contains(t, res.body, "Invalid username or password.")
			}
			res = b.postForm("/auth/wazo/login", url.Values{"csrf_token": {tok}, "username": {"alice"}, "password": {"correct-horse-battery"}})
			status(t, res, http.StatusTooManyRequests)
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
			e.clk.Advance(61 * time.Second)
			res = b.postForm("/auth/wazo/login", url.Values{"csrf_token": {tok}, "username": {"alice"}, "password": {"correct-horse-battery"}, "return_to": {"/inbox"}})
			status(t, res, http.StatusSeeOther)
			if res.Header.Get("Location") != "/inbox" {
				t.Fatalf("Location %q", res.Header.Get("Location"))
			}
			contains(t, b.get(PathPrivate).body, "hello ")
			e.assertNoSecrets()
		}},
		{name: "password login per-IP limit applies across sessions", run: func(t *testing.T, e *env) {
			for i := 0; i < 5; i++ {
				b := e.api()
				status(t, b.postJSON("/auth/wazo/login", map[string]string{"username": "user" + string(rune('a'+i)), "password": "nope-nope"}), http.StatusUnauthorized)
			}
			res := e.api().postJSON("/auth/wazo/login", map[string]string{"username": "alice", "password": "correct-horse-battery"})
			status(t, res, http.StatusTooManyRequests)
			if jsonBody(t, res)["error"] != "rate_limited" {
				t.Fatal(res.body)
			}
			other := e.api()
			other.ip = "198.51.100.7"
			status(t, other.postJSON("/auth/wazo/login", map[string]string{"username": "alice", "password": "correct-horse-battery"}), http.StatusOK)
		}},
		{name: "password login JSON without JWT: identity and session cookie", run: func(t *testing.T, e *env) {
			b := e.api()
			res := b.postJSON("/auth/wazo/login", map[string]string{"username": "alice", "password": "correct-horse-battery"})
			status(t, res, http.StatusOK)
			m := jsonBody(t, res)
			if m["status"] != "logged_in" || m["identity"] == nil || b.cookie() == "" {
				t.Fatalf("reply %s", res.body)
			}
			contains(t, b.get(PathPrivate).body, "hello ")
		}},
		{name: "password login JSON with JWT returns a bearer token usable on Require", opts: options{jwt: true}, run: func(t *testing.T, e *env) {
			res := e.api().postJSON("/auth/wazo/login", map[string]string{"username": "alice", "password": "correct-horse-battery"})
			status(t, res, http.StatusOK)
			m := jsonBody(t, res)
			jwt, _ := m["access_token"].(string)
			if jwt == "" || m["token_type"] != "Bearer" || m["expires_in"].(float64) <= 0 {
				t.Fatalf("reply %s", res.body)
			}
			c := e.browser()
			contains(t, c.get(PathPrivate, "Authorization", "Bearer "+jwt).body, "hello ")
		}},
		{name: "JWT: mint with CSRF, bearer accepted, revoked by logout, garbage rejected, JWKS served", opts: options{jwt: true}, run: func(t *testing.T, e *env) {
			b := e.browser()
			e.login(b, "alpha", "")
			status(t, b.do(http.MethodPost, "/auth/token", "", "", "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
			status(t, b.get("/auth/token"), http.StatusMethodNotAllowed)
			res := b.do(http.MethodPost, "/auth/token", "", "", "Sec-Fetch-Site", "same-origin")
			status(t, res, http.StatusOK)
			jwt, _ := jsonBody(t, res)["access_token"].(string)
			api := e.browser()
			res = api.get(PathPrivate, "Authorization", "Bearer "+jwt)
			status(t, res, http.StatusOK)
			contains(t, res.body, "hello alpha-user")
			if len(api.jar) != 0 {
				t.Fatal("bearer request got a cookie")
			}
			res = api.get(PathPrivate, "Authorization", "Bearer not.a.jwt")
			status(t, res, http.StatusUnauthorized)
			contains(t, res.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
			status(t, b.get("/auth/.well-known/jwks.json"), http.StatusOK)
			status(t, b.postForm("/auth/logout", url.Values{}, "Sec-Fetch-Site", "same-origin"), http.StatusSeeOther)
			res = api.get(PathPrivate, "Authorization", "Bearer "+jwt)
			status(t, res, http.StatusUnauthorized)
			contains(t, res.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
			status(t, e.api().do(http.MethodPost, "/auth/token", "", "", "Sec-Fetch-Site", "same-origin"), http.StatusUnauthorized)
		}},
		{name: "RequireAPI: 401 JSON whatever Accept, cookie and bearer pass with their method, token/revoke ends the bearer's session", opts: options{jwt: true}, run: func(t *testing.T, e *env) {
			for _, accept := range []string{"*/*", "text/html", ""} {
				var hdr []string
				if accept != "" {
					hdr = []string{"Accept", accept}
				}
				res := e.browser().get(PathAPI, hdr...)
				status(t, res, http.StatusUnauthorized)
				if res.Header.Get("WWW-Authenticate") != `Bearer realm="gatehouse"` || res.Header.Get("Location") != "" || jsonBody(t, res)["error"] != "unauthorized" {
					t.Fatalf("Accept %q: %v %s", accept, res.Header, res.body)
				}
			}
			b := e.browser()
			e.login(b, "alpha", "")
			contains(t, b.get(PathAPI, "Accept", "*/*").body, "cookie alpha-user")
			res := b.do(http.MethodPost, "/auth/token", "", "", "Sec-Fetch-Site", "same-origin")
			status(t, res, http.StatusOK)
			jwt, _ := jsonBody(t, res)["access_token"].(string)
			api := e.browser()
			contains(t, api.get(PathAPI, "Authorization", "Bearer "+jwt).body, "bearer alpha-user")
			status(t, api.postForm("/auth/token/revoke", url.Values{"token": {"not-a-token"}}), http.StatusOK)
			status(t, api.get(PathAPI, "Authorization", "Bearer "+jwt), http.StatusOK)
			status(t, api.postForm("/auth/token/revoke", url.Values{"token": {jwt}}), http.StatusOK)
			if len(api.jar) != 0 {
				t.Fatal("token revocation set a cookie")
			}
			res = api.get(PathAPI, "Authorization", "Bearer "+jwt)
			status(t, res, http.StatusUnauthorized)
			contains(t, res.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
			status(t, b.get(PathAPI, "Accept", "*/*"), http.StatusUnauthorized)
			if !e.hasEvent(middleware.EventLogout, "") {
				t.Error("no logout event")
			}
		}},
		{name: "implicit opt-in: fragment page with strict CSP posts state back; bad state refused", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "imp", "return_to=/imp")
			q := au.Query()
			if q.Get("response_type") != "token" || q.Get("code_challenge") != "" {
				t.Fatalf("implicit authorize query %v", q)
			}
			page := b.get("/auth/imp/callback")
			status(t, page, http.StatusOK)
			htmlHeaders(t, page)
			csp := page.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'nonce-") || !strings.Contains(csp, "form-action 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Fatalf("CSP %q", csp)
			}
			if strings.Contains(page.body, "onload=") || strings.Contains(page.body, "onclick=") {
				t.Fatal("inline handler on the implicit page")
			}
			contains(t, page.body, `action="/auth/imp/implicit"`)
			frag, err := e.imp.Authorize(t.Context(), au.String())
			must(t, err)
			vals, err := url.ParseQuery(frag.Fragment)
			must(t, err)
			e.secret(vals.Get("access_token"), "implicit access token")
			bad := url.Values{}
			for k, v := range vals {
				bad[k] = v
			}
			bad.Set("state", "forged-state-value-1234567890")
			status(t, b.postForm("/auth/imp/implicit", bad), http.StatusBadRequest)
			status(t, b.postForm("/auth/imp/implicit", vals), http.StatusSeeOther) // the forged post consumed nothing
		}},
		{name: "implicit: valid fragment post logs in", run: func(t *testing.T, e *env) {
			b := e.browser()
			au := e.startLogin(b, "imp", "return_to=/imp")
			frag, err := e.imp.Authorize(t.Context(), au.String())
			must(t, err)
			vals, err := url.ParseQuery(frag.Fragment)
			must(t, err)
			e.secret(vals.Get("access_token"), "implicit access token")
			res := b.postForm("/auth/imp/implicit", vals)
			status(t, res, http.StatusSeeOther)
			if res.Header.Get("Location") != "/imp" {
				t.Fatalf("Location %q", res.Header.Get("Location"))
			}
			res = b.postForm("/auth/imp/implicit", vals) // replayed while signed in: on to the return path
			status(t, res, http.StatusSeeOther)
			if res.Header.Get("Location") != "/imp" {
				t.Fatalf("replay Location %q", res.Header.Get("Location"))
			}
			contains(t, b.get(PathPrivate).body, "hello imp-user")
			status(t, e.browser().postForm("/auth/imp/implicit", vals), http.StatusBadRequest) // another browser
			e.assertNoSecrets()
		}},
		{name: "junk callbacks are rate limited per IP before any upstream call", run: func(t *testing.T, e *env) {
			b := e.browser()
			for i := 0; i < 30; i++ {
				status(t, b.get("/auth/alpha/callback?code=junk&state=junk-state-"+string(rune('a'+i%26))), http.StatusBadRequest)
			}
			res := b.get("/auth/alpha/callback?code=junk&state=junk")
			status(t, res, http.StatusTooManyRequests)
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
			calls(t, e.alpha, oauth2test.EndpointToken, 0)
			other := e.browser()
			other.ip = "198.51.100.9"
			status(t, e.login(other, "alpha", ""), http.StatusSeeOther)
		}},
		{name: "code-flow provider has no implicit endpoint", run: func(t *testing.T, e *env) {
			status(t, e.browser().postForm("/auth/alpha/implicit", url.Values{"state": {"x"}}), http.StatusNotFound)
		}},
		{name: "refresh near expiry: once, OnRefresh; invalid_grant ends the login", run: func(t *testing.T, e *env) {
			b := e.browser()
			e.login(b, "alpha", "")
			e.clk.Advance(time.Hour - 30*time.Second)
			status(t, b.get(PathPrivate), http.StatusOK)
			calls(t, e.alpha, oauth2test.EndpointRefresh, 1)
			status(t, b.get(PathPrivate), http.StatusOK)
			calls(t, e.alpha, oauth2test.EndpointRefresh, 1)
			if !e.hasEvent(middleware.EventRefresh, "") {
				t.Fatal("OnRefresh not called")
			}
			e.alpha.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{OAuthError: "invalid_grant"})
			e.clk.Advance(time.Hour)
			res := b.get(PathPrivate)
			status(t, res, http.StatusFound)
			contains(t, res.Header.Get("Location"), "/auth/login?return_to=%2Fprivate")
			calls(t, e.alpha, oauth2test.EndpointRefresh, 2)
			status(t, b.get(PathPrivate, "Accept", "application/json"), http.StatusUnauthorized)
			calls(t, e.alpha, oauth2test.EndpointRefresh, 2)
			e.assertNoSecrets()
		}},
		{name: "upstream outage: serve while valid, 503 with Retry-After after expiry", run: func(t *testing.T, e *env) {
			b := e.browser()
			e.login(b, "alpha", "")
			e.alpha.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{Status: 503, Times: -1, Header: http.Header{"Retry-After": {"7"}}})
			e.clk.Advance(time.Hour - 30*time.Second)
			status(t, b.get(PathPrivate), http.StatusOK)
			e.clk.Advance(time.Minute)
			res := b.get(PathPrivate)
			status(t, res, http.StatusServiceUnavailable)
			htmlHeaders(t, res)
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
			res = b.get(PathPrivate, "Accept", "application/json")
			status(t, res, http.StatusServiceUnavailable)
			if jsonBody(t, res)["error"] != "provider_unavailable" {
				t.Fatal(res.body)
			}
			e.alpha.ClearFailures()
			e.clk.Advance(2 * time.Minute)               // past the session's refresh back-off
			status(t, b.get(PathPrivate), http.StatusOK) // the session was kept
		}},
		{name: "session store down: 503, never anonymous", opts: options{failStore: true}, run: func(t *testing.T, e *env) {
			b := e.browser()
			b.jar["__Host-gatehouse"] = &http.Cookie{Name: "__Host-gatehouse", Value: "some-session-token"}
			for _, p := range []string{PathPrivate, PathOptional, "/auth/alpha/login"} {
				res := b.get(p)
				if res.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("%s: status %d", p, res.StatusCode)
				}
			}
		}},
		{name: "RequireScopes: 403 with a re-login link asking for the extra scope", run: func(t *testing.T, e *env) {
			b := e.browser()
			e.login(b, "alpha", "")
			res := b.get(PathAdmin)
			status(t, res, http.StatusForbidden)
			htmlHeaders(t, res)
			i := strings.Index(res.body, `href="`)
			if i < 0 {
				t.Fatalf("no link: %s", res.body)
			}
			link := res.body[i+6:]
			link = strings.ReplaceAll(link[:strings.IndexByte(link, '"')], "&amp;", "&")
			au := e.startLogin(b, "alpha", strings.SplitN(link, "?", 2)[1])
			if s := au.Query().Get("scope"); s != "openid profile admin" {
				t.Fatalf("scope %q", s)
			}
			code, state := e.authorize("alpha", au)
			res = b.get("/auth/alpha/callback?code=" + code + "&state=" + state)
			status(t, res, http.StatusSeeOther)
			if res.Header.Get("Location") != PathAdmin {
				t.Fatalf("Location %q", res.Header.Get("Location"))
			}
			contains(t, b.get(PathAdmin).body, "hello alpha-user")
			res = b.get(PathAdmin, "Accept", "application/json")
			status(t, res, http.StatusOK)
		}},
		{name: "upstream client: credential set, inbound credentials stripped, one retry after 401", run: func(t *testing.T, e *env) {
			b := e.browser()
			e.login(b, "alpha", "")
			res := b.get(PathUpstream)
			status(t, res, http.StatusOK)
			contains(t, res.body, "upstream 200")
			reqs := e.alpha.Requests(oauth2test.EndpointUserInfo)
			last := reqs[len(reqs)-1]
			if last.Header.Get("X-Auth-Token") != "" || last.Header.Get("Cookie") != "" || last.Header.Get("Authorization") == "Bearer browser-supplied" {
				t.Fatalf("inbound credentials reached upstream: %v", last.Header)
			}
			if strings.Contains(last.URL.RawQuery, "token") {
				t.Fatal("token in the URL")
			}
			e.alpha.Fail(oauth2test.EndpointUserInfo, oauth2test.Failure{Status: 401})
			res = b.get(PathUpstream)
			contains(t, res.body, "upstream 200")
			calls(t, e.alpha, oauth2test.EndpointRefresh, 1)
			e.alpha.Fail(oauth2test.EndpointUserInfo, oauth2test.Failure{Status: 401, Times: 2})
			res = b.get(PathUpstream)
			contains(t, res.body, "upstream 401")
			calls(t, e.alpha, oauth2test.EndpointRefresh, 2)
			e.assertNoSecrets()
		}},
		{name: "security headers on every HTML route", run: func(t *testing.T, e *env) {
			b := e.browser()
			for _, p := range []string{"/auth/login", "/auth/wazo/login", "/auth/logout", "/auth/imp/callback", "/auth/nope/login", "/auth/alpha/callback?state=x", "/auth/alpha/callback"} {
				res := b.get(p)
				htmlHeaders(t, res)
				if res.Header.Get("X-Frame-Options") != "DENY" {
					t.Errorf("%s", p)
				}
			}
			chooser := b.get("/auth/login?return_to=/x")
			contains(t, chooser.body, `href="/auth/alpha/login?return_to=%2Fx"`)
			contains(t, chooser.body, `autocomplete="current-password"`)
		}},
		{name: "errors: 404 unknown provider, 405 with Allow, 413 oversized, JSON for APIs", run: func(t *testing.T, e *env) {
			b := e.browser()
			status(t, b.get("/auth/nope/login"), http.StatusNotFound)
			res := e.api().get("/auth/nope/login")
			status(t, res, http.StatusNotFound)
			if m := jsonBody(t, res); m["error"] != "not_found" || m["error_description"] == "" {
				t.Fatal(res.body)
			}
			res = b.do(http.MethodPost, "/auth/alpha/callback", "", "")
			status(t, res, http.StatusMethodNotAllowed)
			if res.Header.Get("Allow") != "GET" {
				t.Fatalf("Allow %q", res.Header.Get("Allow"))
			}
			res = b.do(http.MethodDelete, "/auth/logout", "", "")
			status(t, res, http.StatusMethodNotAllowed)
			contains(t, res.Header.Get("Allow"), "POST")
			big := url.Values{"username": {"alice"}, "password": {strings.Repeat("x", 70<<10)}}
			status(t, b.postForm("/auth/wazo/login", big), http.StatusRequestEntityTooLarge)
			status(t, b.do(http.MethodPut, "/auth/wazo/login", "", ""), http.StatusMethodNotAllowed)
			status(t, b.get("/auth/token"), http.StatusNotFound) // no JWT configured
		}},
		{name: "wazo password provider: upstream client uses X-Auth-Token", run: func(t *testing.T, e *env) {
			b := e.api()
			status(t, b.postJSON("/auth/wazo/login", map[string]string{"username": "alice", "password": "correct-horse-battery"}), http.StatusOK)
			if n := e.wz.Calls(wazotest.EndpointToken); n != 1 {
				t.Fatalf("wazo token calls %d", n)
			}
		}},
	}
}
