package e2e

// httpexpect suites (issue 8 item 1) over the demo app, the net/http and
// Echo example apps and the hx fixture app, each served on real loopback
// HTTP: every provider style's full login, a protected page, an upstream
// call, an API JWT and logout (TestHxFlows), then one shared table of
// failure paths per stack (TestHxFailures). Every simulated browser has its
// own cookie jar; logins follow the fakes' auto-approving redirects.

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gavv/httpexpect/v2"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	demoapp "github.com/gatehouse-auth/gatehouse/examples/demo/app"
	echoapp "github.com/gatehouse-auth/gatehouse/examples/echo/app"
	nethttpapp "github.com/gatehouse-auth/gatehouse/examples/nethttp/app"
)

// hxTarget is a running app under test.
type hxTarget struct {
	name  string
	stack string
	url   string
	provs []hxProv
	logs  *harness.LogCapture
	// upstreamPath is the app's route that calls the upstream API through
	// Auth.Client ("" when the app has none).
	upstreamPath string
	// clock is the manual clock of the app and its fakes (nil: real time).
	clock *oauth2test.Clock
	// scopesPath is a route behind RequireScopes of a scope never granted
	// ("" when the app has none).
	scopesPath string
	// shortTimeout: the app's upstream calls time out within
	// hxUpstreamTimeout.
	shortTimeout bool
}

func (tg *hxTarget) prov(t testing.TB, name string) hxProv {
	t.Helper()
	for _, p := range tg.provs {
		if p.name == name {
			return p
		}
	}
	t.Fatalf("%s has no provider %q", tg.name, name)
	return hxProv{}
}

// hxKind starts a fresh target of one kind in which provider style is
// available.
type hxKind struct {
	name  string
	stack string
	// hx marks the hx fixture app: fake clock, RequireScopes route, short
	// upstream timeout.
	hx    bool
	start func(t *testing.T, style string) *hxTarget
}

var hxStyles = []string{hxOAuth2, hxWhisk, hxStartGG, hxWazo}

// hxKinds are the apps of each stack.
func hxKinds() []hxKind {
	return []hxKind{
		{name: "demo", stack: hxStackNetHTTP, start: hxStartDemo},
		{name: "nethttp-example", stack: hxStackNetHTTP, start: hxStartNetHTTPExample},
		{name: "hx-nethttp", stack: hxStackNetHTTP, hx: true, start: func(t *testing.T, _ string) *hxTarget {
			a := hxNewApp(t, hxOptions{stack: hxStackNetHTTP})
			tg := a.target(hxStackNetHTTP)
			tg.name, tg.logs = "hx-nethttp", a.logs
			return tg
		}},
		{name: "echo-example", stack: hxStackEcho, start: hxStartEchoExample},
		{name: "hx-echo", stack: hxStackEcho, hx: true, start: func(t *testing.T, _ string) *hxTarget {
			a := hxNewApp(t, hxOptions{stack: hxStackEcho})
			tg := a.target(hxStackEcho)
			tg.name, tg.logs = "hx-echo", a.logs
			return tg
		}},
	}
}

func hxStartDemo(t *testing.T, _ string) *hxTarget {
	t.Helper()
	logs := harness.NewLogCapture()
	srv, err := demoapp.Start("127.0.0.1:0", demoapp.Config{AccessTTL: time.Hour, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	f := srv.Upstreams.Fakes
	fakes := hxFakes{OAuth2: f.OAuth2, Whisk: f.Whisk, StartGG: f.StartGG, Wazo: f.Wazo}
	if len(srv.WazoUsers) > 0 {
		fakes.WazoUser, fakes.WazoPassword = srv.WazoUsers[0].Username, srv.WazoUsers[0].Password
	}
	return &hxTarget{name: "demo", stack: hxStackNetHTTP, url: srv.URL, provs: fakes.provs(), logs: logs, upstreamPath: "/api/upstream"}
}

func hxExampleEnv(style string) func(string) string {
	return func(k string) string {
		if k == "GATEHOUSE_PROVIDER" {
			return style
		}
		return "" // no credentials: the example starts a fake of the style
	}
}

func hxStartNetHTTPExample(t *testing.T, style string) *hxTarget {
	t.Helper()
	logs := harness.NewLogCapture()
	srv, err := nethttpapp.Start("127.0.0.1:0", nethttpapp.Config{Getenv: hxExampleEnv(style), Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	f := srv.Upstreams.Fakes
	fakes := hxFakes{OAuth2: f.OAuth2, Whisk: f.Whisk, StartGG: f.StartGG, Wazo: f.Wazo}
	if len(srv.Upstreams.WazoUsers) > 0 {
		fakes.WazoUser, fakes.WazoPassword = srv.Upstreams.WazoUsers[0].Username, srv.Upstreams.WazoUsers[0].Password
	}
	return &hxTarget{name: "nethttp-example", stack: hxStackNetHTTP, url: srv.URL, provs: fakes.provs(), logs: logs}
}

func hxStartEchoExample(t *testing.T, style string) *hxTarget {
	t.Helper()
	logs := harness.NewLogCapture()
	srv, err := echoapp.Start("127.0.0.1:0", echoapp.Config{Getenv: hxExampleEnv(style), Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	f := srv.Upstreams.Fakes
	fakes := hxFakes{OAuth2: f.OAuth2, Whisk: f.Whisk, StartGG: f.StartGG, Wazo: f.Wazo}
	if len(srv.Upstreams.WazoUsers) > 0 {
		fakes.WazoUser, fakes.WazoPassword = srv.Upstreams.WazoUsers[0].Username, srv.Upstreams.WazoUsers[0].Password
	}
	return &hxTarget{name: "echo-example", stack: hxStackEcho, url: srv.URL, provs: fakes.provs(), logs: logs}
}

// hxBrowser is one simulated browser (or API client): one cookie jar, an
// Expect that follows redirects and one that does not, sharing the jar.
type hxBrowser struct {
	t    testing.TB
	base string
	jar  *cookiejar.Jar
	e    *httpexpect.Expect // follows redirects (through the fakes)
	nf   *httpexpect.Expect // stops at the first response
}

func hxNewBrowser(t testing.TB, base string) *hxBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return hxNewBrowserJar(t, base, jar)
}

// hxNewBrowserJar is hxNewBrowser with a given jar (nil: no cookies, an API
// client).
func hxNewBrowserJar(t testing.TB, base string, jar *cookiejar.Jar) *hxBrowser {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	mk := func(follow bool) *httpexpect.Expect {
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		if jar != nil {
			c.Jar = jar
		}
		if !follow {
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		}
		return httpexpect.WithConfig(httpexpect.Config{
			TestName: t.Name(), BaseURL: base, Client: c,
			Reporter: httpexpect.NewRequireReporter(t),
		})
	}
	return &hxBrowser{t: t, base: base, jar: jar, e: mk(true), nf: mk(false)}
}

// abs resolves a Location (absolute or relative to the app).
func (b *hxBrowser) abs(loc string) string {
	base, _ := url.Parse(b.base)
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("bad Location %q: %v", loc, err)
	}
	return base.ResolveReference(u).String()
}

// page GETs path as a browser would (Accept: text/html), following
// redirects.
func (b *hxBrowser) page(path string) *httpexpect.Response {
	return b.e.GET(path).WithHeader("Accept", "text/html").Expect()
}

// api GETs path as an API client would (Accept: application/json) and
// decodes a JSON object answer.
func (b *hxBrowser) api(path string, header ...string) (int, map[string]any, *http.Response) {
	b.t.Helper()
	req := b.nf.GET(path).WithHeader("Accept", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req = req.WithHeader(header[i], header[i+1])
	}
	resp := req.Expect()
	raw := resp.Raw()
	var m map[string]any
	body := resp.Body().Raw()
	hxWantJSON(b.t, raw, body)
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		b.t.Fatalf("GET %s: %d, body is not a JSON object: %v\n%s", path, raw.StatusCode, err, body)
	}
	return raw.StatusCode, m, raw
}

// login signs in with p (following every redirect) asking to return to
// returnTo, and returns the final response.
func (b *hxBrowser) login(p hxProv, returnTo string) *httpexpect.Response {
	b.t.Helper()
	if p.password() {
		return b.passwordLogin(p, p.user, p.pass, returnTo)
	}
	return b.e.GET("/auth/"+p.name+"/login").WithQuery("return_to", returnTo).WithHeader("Accept", "text/html").Expect()
}

func (b *hxBrowser) passwordLogin(p hxProv, user, pass, returnTo string) *httpexpect.Response {
	b.t.Helper()
	form := b.page("/auth/" + p.name + "/login").Status(http.StatusOK).Body().Raw()
	return b.e.POST("/auth/"+p.name+"/login").
		WithHeader("Accept", "text/html").WithHeader("Origin", b.base).
		WithFormField("csrf_token", hxCSRF(b.t, form)).WithFormField("username", user).
		WithFormField("password", pass).WithFormField("return_to", returnTo).Expect()
}

// mustLogin logs in with p and checks that it ends on the home page.
func (b *hxBrowser) mustLogin(p hxProv) string {
	b.t.Helper()
	resp := b.login(p, "/")
	resp.Status(http.StatusOK)
	if got := resp.Raw().Request.URL; got.Path != "/" || b.abs("/") != got.String() {
		b.t.Fatalf("%s login ended at %s, want the home page", p.name, got)
	}
	return resp.Body().Raw()
}

// callbackURL starts a redirect login without following and returns the
// callback URL the fake's authorize endpoint sends the browser to.
func (b *hxBrowser) callbackURL(p hxProv) string {
	b.t.Helper()
	loc := b.nf.GET("/auth/"+p.name+"/login").WithQuery("return_to", "/").WithHeader("Accept", "text/html").
		Expect().Status(http.StatusFound).Header("Location").Raw()
	cb := b.nf.GET("").WithURL(loc).Expect().Status(http.StatusFound).Header("Location").Raw()
	if !strings.HasPrefix(cb, b.base+"/auth/"+p.name+"/callback?") {
		b.t.Fatalf("authorize sent the browser to %q, want the callback", cb)
	}
	return cb
}

// logout posts the logout form with csrf and checks the 303 home.
func (b *hxBrowser) logout(csrf string) {
	b.t.Helper()
	b.nf.POST("/auth/logout").WithHeader("Accept", "text/html").WithHeader("Origin", b.base).
		WithFormField("csrf_token", csrf).WithFormField("return_to", "/").
		Expect().Status(http.StatusSeeOther).Header("Location").IsEqual("/")
}

var hxCSRFRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func hxCSRF(t testing.TB, page string) string {
	t.Helper()
	m := hxCSRFRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token in page:\n%s", page)
	}
	return m[1]
}

func hxMediaType(r *http.Response) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

func hxWantJSON(t testing.TB, r *http.Response, body string) {
	t.Helper()
	if mt := hxMediaType(r); mt != "application/json" {
		t.Fatalf("%s %s: %d with Content-Type %q, want application/json:\n%.300s", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.Header.Get("Content-Type"), body)
	}
}

func hxWantHTML(t testing.TB, r *http.Response, body string) {
	t.Helper()
	if mt := hxMediaType(r); mt != "text/html" {
		t.Fatalf("%s %s: %d with Content-Type %q, want text/html:\n%.300s", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.Header.Get("Content-Type"), body)
	}
}

// hxMintJWT posts to /auth/token with csrf and returns the bearer JWT.
func (b *hxBrowser) mintJWT(csrf string) string {
	b.t.Helper()
	resp := b.nf.POST("/auth/token").WithHeader("Accept", "application/json").WithHeader("Origin", b.base).
		WithFormField("csrf_token", csrf).Expect().Status(http.StatusOK)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	body := resp.Body().Raw()
	hxWantJSON(b.t, resp.Raw(), body)
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") || tok.ExpiresIn <= 0 {
		b.t.Fatalf("POST /auth/token: %v %s", err, body)
	}
	return tok.AccessToken
}

// TestHxFlows: for every app of both stacks and every provider style,
// a full login, the protected page, an upstream call through the app's
// upstream client, a bearer JWT for the API, and logout.
func TestHxFlows(t *testing.T) {
	for _, kind := range hxKinds() {
		t.Run(kind.stack+"/"+kind.name, func(t *testing.T) {
			for _, style := range hxStyles {
				t.Run(style, func(t *testing.T) {
					tg := kind.start(t, style)
					hxFullFlow(t, tg, tg.prov(t, style))
				})
			}
		})
	}
}

func hxFullFlow(t *testing.T, tg *hxTarget, p hxProv) {
	b := hxNewBrowser(t, tg.url)
	leaks := harness.NewLeakScanner()
	if p.password() {
		leaks.Plant("wazo password", p.pass)
	}

	// Anonymous: API clients get 401 JSON with a challenge, browsers a
	// redirect to a login page.
	code, body, raw := b.api("/api/me")
	if code != http.StatusUnauthorized || !strings.HasPrefix(raw.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("anonymous /api/me = %d %v, WWW-Authenticate %q", code, body, raw.Header.Get("WWW-Authenticate"))
	}
	loc := b.nf.GET("/").WithHeader("Accept", "text/html").Expect().Status(http.StatusFound).Header("Location").Raw()
	if !strings.HasPrefix(loc, "/auth/") || !strings.Contains(loc, "login") {
		t.Fatalf("anonymous / redirected to %q, want a login page", loc)
	}

	// Full login, then the protected page.
	b.mustLogin(p)
	home := b.page("/").Status(http.StatusOK)
	hxWantHTML(t, home.Raw(), "")
	csrf := hxCSRF(t, home.Body().Raw())
	code, me, _ := b.api("/api/me")
	if code != http.StatusOK || me["provider"] != p.name || me["sub"] == "" || me["sub"] == nil {
		t.Fatalf("/api/me after login = %d %v", code, me)
	}

	// An upstream call as the user, through the app's upstream client.
	if tg.upstreamPath != "" {
		code, up, _ := b.api(tg.upstreamPath)
		if code != http.StatusOK || up["status"] != float64(http.StatusOK) {
			t.Fatalf("%s = %d %v, want the upstream's 200", tg.upstreamPath, code, up)
		}
	}

	// A bearer JWT for an API client without cookies.
	jwt := b.mintJWT(csrf)
	leaks.Plant("jwt", jwt)
	apiClient := hxNewBrowserJar(t, tg.url, nil)
	code, bme, _ := apiClient.api("/api/me", "Authorization", "Bearer "+jwt)
	if code != http.StatusOK || bme["provider"] != p.name || bme["sub"] != me["sub"] {
		t.Fatalf("/api/me with the JWT = %d %v, want %v", code, bme, me)
	}

	// Logout ends the cookie session and every JWT bound to it.
	b.logout(csrf)
	if code, m, _ := b.api("/api/me"); code != http.StatusUnauthorized {
		t.Fatalf("/api/me after logout = %d %v", code, m)
	}
	if code, m, _ := apiClient.api("/api/me", "Authorization", "Bearer "+jwt); code != http.StatusUnauthorized {
		t.Fatalf("/api/me with the JWT after logout = %d %v", code, m)
	}
	leaks.ScanLogs(tg.logs)
	leaks.AssertNone(t)
}

// hxCase is one failure path of the shared table.
type hxCase struct {
	name string
	// applies reports whether the case can run on tg with p (for example
	// it needs a redirect provider, the fake clock, a RequireScopes
	// route).
	applies func(k hxKind, style string) bool
	run     func(t *testing.T, tg *hxTarget, p hxProv)
}

func hxRedirectOnly(_ hxKind, style string) bool { return style != hxWazo }
func hxPasswordOnly(_ hxKind, style string) bool { return style == hxWazo }
func hxAlways(hxKind, string) bool               { return true }
func hxOnly(k hxKind, _ string) bool             { return k.hx }

// hxWantFailure checks an error answer: status, the Content-Type the
// client asked for, and for JSON the error code.
func hxWantFailure(t *testing.T, resp *httpexpect.Response, status int, api bool, code string) {
	t.Helper()
	raw := resp.Raw()
	body := resp.Body().Raw()
	if raw.StatusCode != status {
		t.Fatalf("%s %s = %d, want %d:\n%.400s", raw.Request.Method, raw.Request.URL.Path, raw.StatusCode, status, body)
	}
	if !api {
		hxWantHTML(t, raw, body)
		return
	}
	hxWantJSON(t, raw, body)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, body)
	}
	if code != "" && m["error"] != code {
		t.Fatalf("error = %v, want %q (%s)", m["error"], code, body)
	}
}

// hxNotLoggedIn checks that b has no login.
func hxNotLoggedIn(t *testing.T, b *hxBrowser) {
	t.Helper()
	if code, m, _ := b.api("/api/me"); code != http.StatusUnauthorized {
		t.Fatalf("/api/me = %d %v, want 401 (no login)", code, m)
	}
}

// hxBadReturnTos are return paths that must never be followed: the login
// (and logout) lands on the default "/" instead.
var hxBadReturnTos = []string{
	"//evil.example/",
	"https://evil.example/",
	"http://evil.example/",
	`/\evil.example`,
	"/%2f%2fevil.example",
	"/%5Cevil.example",
	"javascript:alert(1)",
	"http:/evil.example",
	"/\r\nSet-Cookie: hx=1",
	"/../../evil",
	"",
}

// hxCases is the shared failure table.
var hxCases = []hxCase{
	{name: "denied_consent", applies: hxRedirectOnly, run: func(t *testing.T, tg *hxTarget, p hxProv) {
		b := hxNewBrowser(t, tg.url)
		p.failAuthorize(oauth2test.Failure{OAuthError: "access_denied"})
		resp := b.login(p, "/")
		if !strings.Contains(resp.Raw().Request.URL.RawQuery, "error=access_denied") {
			t.Fatalf("login ended at %s, want the callback with error=access_denied", resp.Raw().Request.URL)
		}
		hxWantFailure(t, resp, http.StatusForbidden, false, "")
		hxNotLoggedIn(t, b)
		// The user can try again at once.
		b.mustLogin(p)
	}},
	{name: "replayed_state", applies: hxRedirectOnly, run: func(t *testing.T, tg *hxTarget, p hxProv) {
		b := hxNewBrowser(t, tg.url)
		cb := b.callbackURL(p)
		b.nf.GET("").WithURL(cb).WithHeader("Accept", "text/html").Expect().Status(http.StatusSeeOther).Header("Location").IsEqual("/")
		_, before, _ := b.api("/api/me")
		// Replayed by the same, signed-in browser (Back or a reload, HTML or
		// JSON): nothing is exchanged, it is sent on to the return path.
		b.nf.GET("").WithURL(cb).WithHeader("Accept", "text/html").Expect().Status(http.StatusSeeOther).Header("Location").IsEqual("/")
		b.nf.GET("").WithURL(cb).WithHeader("Accept", "application/json").Expect().Status(http.StatusSeeOther).Header("Location").IsEqual("/")
		// Replayed by another browser (an attacker who saw the URL): an
		// error, and no login.
		hxWantFailure(t, hxNewBrowser(t, tg.url).nf.GET("").WithURL(cb).WithHeader("Accept", "application/json").Expect(), http.StatusBadRequest, true, "state_not_found")
		other := hxNewBrowser(t, tg.url)
		hxWantFailure(t, other.nf.GET("").WithURL(cb).WithHeader("Accept", "text/html").Expect(), http.StatusBadRequest, false, "")
		hxNotLoggedIn(t, other)
		// The real login is unchanged.
		if code, after, _ := b.api("/api/me"); code != http.StatusOK || after["sub"] != before["sub"] {
			t.Fatalf("/api/me after the replays = %d %v, want %v", code, after, before)
		}
	}},
	{name: "expired_attempt", applies: func(k hxKind, style string) bool { return k.hx && style != hxWazo },
		run: func(t *testing.T, tg *hxTarget, p hxProv) {
			b := hxNewBrowser(t, tg.url)
			cb := b.callbackURL(p)
			tg.clock.Advance(10*time.Minute + time.Second)
			hxWantFailure(t, b.nf.GET("").WithURL(cb).WithHeader("Accept", "application/json").Expect(), http.StatusBadRequest, true, "login_expired")
			hxNotLoggedIn(t, b)
		}},
	{name: "bad_return_to", applies: hxAlways, run: func(t *testing.T, tg *hxTarget, p hxProv) {
		for _, bad := range hxBadReturnTos {
			b := hxNewBrowser(t, tg.url)
			resp := b.login(p, bad).Status(http.StatusOK)
			if got := resp.Raw().Request.URL.String(); got != tg.url+"/" {
				t.Fatalf("login with return_to %q ended at %s, want %s/", bad, got, tg.url)
			}
			csrf := hxCSRF(t, b.page("/").Status(http.StatusOK).Body().Raw())
			loc := b.nf.POST("/auth/logout").WithHeader("Accept", "text/html").WithHeader("Origin", tg.url).
				WithFormField("csrf_token", csrf).WithFormField("return_to", bad).
				Expect().Status(http.StatusSeeOther).Header("Location").Raw()
			if loc != "/" {
				t.Fatalf("logout with return_to %q redirected to %q, want /", bad, loc)
			}
		}
	}},
	{name: "wrong_password", applies: hxPasswordOnly, run: func(t *testing.T, tg *hxTarget, p hxProv) {
		const wrong = "not-the-password-1234"
		leaks := harness.NewLeakScanner()
		leaks.Plant("wrong password", wrong)
		leaks.Plant("password", p.pass)
		b := hxNewBrowser(t, tg.url)
		resp := b.passwordLogin(p, p.user, wrong, "/")
		hxWantFailure(t, resp, http.StatusUnauthorized, false, "")
		leaks.ScanResponse(resp.Raw(), []byte(resp.Body().Raw()))
		if !strings.Contains(resp.Body().Raw(), `name="csrf_token"`) {
			t.Fatalf("the failed login does not show the form again:\n%s", resp.Body().Raw())
		}
		api := b.nf.POST("/auth/"+p.name+"/login").WithHeader("Accept", "application/json").
			WithJSON(map[string]string{"username": p.user, "password": wrong}).Expect()
		hxWantFailure(t, api, http.StatusUnauthorized, true, "invalid_credentials")
		leaks.ScanResponse(api.Raw(), []byte(api.Body().Raw()))
		hxNotLoggedIn(t, b)
		b.mustLogin(p) // the right password still works
		leaks.ScanLogs(tg.logs)
		leaks.AssertNone(t)
	}},
	{name: "exchange_5xx", applies: hxAlways, run: func(t *testing.T, tg *hxTarget, p hxProv) {
		b := hxNewBrowser(t, tg.url)
		p.failToken(oauth2test.Failure{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"1"}}})
		resp := b.login(p, "/")
		hxWantFailure(t, resp, http.StatusServiceUnavailable, false, "")
		if resp.Raw().Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		hxNotLoggedIn(t, b)
		b.mustLogin(p)
	}},
	{name: "exchange_500", applies: hxAlways, run: func(t *testing.T, tg *hxTarget, p hxProv) {
		b := hxNewBrowser(t, tg.url)
		p.failToken(oauth2test.Failure{Status: http.StatusInternalServerError})
		resp := b.login(p, "/")
		if s := resp.Raw().StatusCode; s < 500 || s == http.StatusInternalServerError {
			t.Fatalf("upstream 500 on exchange answered %d, want 502 or 503", s)
		}
		hxWantHTML(t, resp.Raw(), resp.Body().Raw())
		hxNotLoggedIn(t, b)
	}},
	{name: "exchange_malformed", applies: hxAlways, run: func(t *testing.T, tg *hxTarget, p hxProv) {
		b := hxNewBrowser(t, tg.url)
		p.failToken(oauth2test.Failure{Malformed: true})
		hxWantFailure(t, b.login(p, "/"), http.StatusBadGateway, false, "")
		hxNotLoggedIn(t, b)
		b.mustLogin(p)
	}},
	{name: "exchange_slow_but_in_time", applies: hxAlways, run: func(t *testing.T, tg *hxTarget, p hxProv) {
		b := hxNewBrowser(t, tg.url)
		p.failToken(oauth2test.Failure{Delay: 150 * time.Millisecond})
		b.mustLogin(p)
	}},
	{name: "exchange_too_slow", applies: hxOnly,
		run: func(t *testing.T, tg *hxTarget, p hxProv) {
			b := hxNewBrowser(t, tg.url)
			p.failToken(oauth2test.Failure{Delay: time.Minute})
			start := time.Now()
			resp := b.login(p, "/")
			hxWantFailure(t, resp, http.StatusServiceUnavailable, false, "")
			if d := time.Since(start); d > hxUpstreamTimeout+5*time.Second {
				t.Fatalf("a hanging exchange took %v to fail; the upstream timeout is %v", d, hxUpstreamTimeout)
			}
			hxNotLoggedIn(t, b)
		}},
	{name: "invalid_grant_on_refresh", applies: hxOnly,
		run: func(t *testing.T, tg *hxTarget, p hxProv) {
			browser := hxNewBrowser(t, tg.url)
			browser.mustLogin(p)
			apiUser := hxNewBrowser(t, tg.url)
			apiUser.mustLogin(p)
			if p.password() {
				p.failRefresh(oauth2test.Failure{Status: http.StatusUnauthorized, Times: 2,
					Body: `{"reason":["Authentication Failed"],"timestamp":[1700000000.0],"status_code":401}`})
			} else {
				p.failRefresh(oauth2test.Failure{OAuthError: "invalid_grant", Times: 2})
			}
			tg.clock.Advance(hxTTL)
			// The browser is sent to log in again…
			loc := browser.nf.GET("/").WithHeader("Accept", "text/html").Expect().Status(http.StatusFound).Header("Location").Raw()
			if !strings.HasPrefix(loc, "/auth/") || !strings.Contains(loc, "login") {
				t.Fatalf("after invalid_grant / redirected to %q, want a login page", loc)
			}
			// …the API client gets 401.
			hxNotLoggedIn(t, apiUser)
			// Logging in again works.
			browser.mustLogin(p)
		}},
	{name: "require_scopes", applies: hxOnly,
		run: func(t *testing.T, tg *hxTarget, p hxProv) {
			b := hxNewBrowser(t, tg.url)
			b.mustLogin(p)
			hxWantFailure(t, b.nf.GET(tg.scopesPath).WithHeader("Accept", "application/json").Expect(), http.StatusForbidden, true, "")
			hxWantFailure(t, b.nf.GET(tg.scopesPath).WithHeader("Accept", "text/html").Expect(), http.StatusForbidden, false, "")
			// The login itself is untouched.
			if code, m, _ := b.api("/api/me"); code != http.StatusOK {
				t.Fatalf("/api/me after the 403 = %d %v", code, m)
			}
		}},
}

// TestHxFailures runs the shared failure table over every app of each
// stack and every provider style the case applies to.
func TestHxFailures(t *testing.T) {
	for _, kind := range hxKinds() {
		t.Run(kind.stack+"/"+kind.name, func(t *testing.T) {
			for _, c := range hxCases {
				for _, style := range hxStyles {
					if !c.applies(kind, style) {
						continue
					}
					t.Run(c.name+"/"+style, func(t *testing.T) {
						t.Parallel() // each case has its own app and fakes
						tg := kind.start(t, style)
						c.run(t, tg, tg.prov(t, style))
					})
				}
			}
		})
	}
}
