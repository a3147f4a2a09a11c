package e2e

// The whole product against the independent authorization server
// (github.com/go-oauth2/oauth2/v4), driven the way a browser would drive it
// but without one: httpexpect over a cookie jar, every redirect followed by
// hand so each hop is checked.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gavv/httpexpect/v2"
	"go.uber.org/goleak"

	gh "github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

const flowCookie = "gatehouse" // DevMode: plain http, so no __Host- prefix

// recordingProvider is the generic adapter with two taps: it plants every
// secret the flow produces (PKCE verifier, tokens) in the leak scanner the
// moment it exists, and reports each revocation on a channel.
type recordingProvider struct {
	*gh.Adapter
	leaks   *harness.LeakScanner
	mu      sync.Mutex
	tokens  []*provider.Token
	revokes chan error
}

func (p *recordingProvider) Exchange(ctx context.Context, code, verifier string) (*provider.Token, error) {
	p.leaks.Plant("pkce_verifier", verifier)
	tok, err := p.Adapter.Exchange(ctx, code, verifier)
	p.keep(tok)
	return tok, err
}

func (p *recordingProvider) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	tok, err := p.Adapter.Refresh(ctx, t)
	p.keep(tok)
	return tok, err
}

func (p *recordingProvider) Revoke(ctx context.Context, t *provider.Token) error {
	err := p.Adapter.Revoke(ctx, t)
	select {
	case p.revokes <- err:
	default:
	}
	return err
}

func (p *recordingProvider) keep(tok *provider.Token) {
	if tok == nil {
		return
	}
	p.leaks.Plant("access_token", tok.AccessToken)
	if tok.RefreshToken != "" {
		p.leaks.Plant("refresh_token", tok.RefreshToken)
	}
	p.mu.Lock()
	p.tokens = append(p.tokens, tok.Clone())
	p.mu.Unlock()
}

func (p *recordingProvider) lastToken() *provider.Token {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tokens) == 0 {
		return nil
	}
	return p.tokens[len(p.tokens)-1]
}

// flowApp is an app protected by Gatehouse, logging in with the independent
// server.
type flowApp struct {
	*httptest.Server
	as    *indieAS
	prov  *recordingProvider
	auth  *middleware.Auth
	logs  *harness.LogCapture
	leaks *harness.LeakScanner
}

func newFlowApp(t *testing.T) *flowApp {
	t.Helper()
	app := &flowApp{logs: harness.NewLogCapture(), leaks: harness.NewLeakScanner()}
	app.leaks.Plant("client_secret", indieSecret)
	app.Server = httptest.NewUnstartedServer(nil) // listening already: its URL is known
	appURL := "http://" + app.Listener.Addr().String()
	redirect := appURL + "/auth/indie/callback"

	app.as = newIndieAS(t, indieOptions{RedirectURI: redirect})
	cfg := app.as.adapterConfig(t, nil)
	cfg.RedirectURL = redirect
	cfg.Logger = app.logs.Logger()
	app.prov = &recordingProvider{Adapter: newIndieAdapter(t, cfg), leaks: app.leaks, revokes: make(chan error, 4)}

	// scs.New starts a memstore sweeper that cannot be stopped without a
	// data race (memstore sets its stop channel inside the goroutine); the
	// store actually used has none.
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	sm.Cookie.Name = flowCookie
	sm.Cookie.Secure = false
	sessions, err := session.New(session.Config{SessionManager: sm, Logger: app.logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sessions.Close() })
	auth, err := middleware.New(middleware.Config{
		Providers: []provider.Provider{app.prov},
		Sessions:  sessions,
		PublicURL: appURL,
		DevMode:   true,
		Logger:    app.logs.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auth.Close() })
	app.auth = auth

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/app/", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := middleware.IdentityFrom(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello %s <%s> via %s", id.Subject, id.Email, id.Provider)
	})))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "public home") })
	app.Config.Handler = auth.Wrap(mux)
	app.Start()
	t.Cleanup(app.Close)
	return app
}

// browser is one simulated browser: a cookie jar, no automatic redirects,
// every response kept for the leak scan.
func (app *flowApp) browser(t *testing.T) (*httpexpect.Expect, *cookiejar.Jar) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{
		Jar:           jar,
		Transport:     app.leaks.Transport(tr),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	e := httpexpect.WithConfig(httpexpect.Config{
		TestName: t.Name(),
		BaseURL:  app.URL,
		Client:   client,
		Reporter: httpexpect.NewRequireReporter(t),
	})
	return e, jar
}

// follow GETs a Location (absolute, or relative to the app) like a browser.
func follow(e *httpexpect.Expect, base, loc string) *httpexpect.Response {
	b, _ := url.Parse(base)
	u, _ := url.Parse(loc)
	return e.GET("").WithURL(b.ResolveReference(u).String()).WithHeader("Accept", "text/html").Expect()
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func TestIndependentAS_MiddlewareFlow(t *testing.T) {
	// Every scs.New() starts a memstore sweeper goroutine that lives until
	// the process ends, even when the store is then replaced (newFlowApp
	// does that, and session.New does for its bearer-session manager):
	// ignore it.
	harness.GoroutineBaseline(t, harness.IgnoreBuntDB,
		goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
	app := newFlowApp(t)
	e, jar := app.browser(t)
	html := func(r *httpexpect.Request) *httpexpect.Request { return r.WithHeader("Accept", "text/html") }

	// 1. A protected page sends an anonymous browser to log in.
	loc := html(e.GET("/app/home")).Expect().Status(http.StatusFound).Header("Location").Raw()
	if !strings.HasPrefix(loc, "/auth/") || !strings.Contains(loc, url.QueryEscape("/app/home")) {
		t.Fatalf("anonymous /app/home redirected to %q, want a login URL keeping the return path", loc)
	}

	// 2. Login: a redirect to the server's authorize endpoint with state
	// and PKCE S256, and no secret.
	resp := html(e.GET("/auth/indie/login").WithQuery("return_to", "/app/home")).Expect().Status(http.StatusFound)
	authURL := resp.Header("Location").Raw()
	if !strings.HasPrefix(authURL, app.as.URL+"/authorize?") {
		t.Fatalf("login redirected to %q, want the independent server", authURL)
	}
	aq := mustQuery(t, authURL)
	if aq.Get("state") == "" || aq.Get("code_challenge_method") != "S256" || len(aq.Get("code_challenge")) != 43 || aq.Has("client_secret") {
		t.Fatalf("authorize query %v", aq)
	}
	preLogin := cookieValue(t, jar, app.URL, flowCookie)

	// 3. The server approves and sends the browser back with code and state.
	cb := follow(e, app.URL, authURL).Status(http.StatusFound).Header("Location").Raw()
	if !strings.HasPrefix(cb, app.URL+"/auth/indie/callback?") {
		t.Fatalf("authorize redirected to %q, want the app's callback", cb)
	}

	// 4. Callback: code exchanged with the verifier, identity fetched,
	// session renewed, back to the return path.
	cbResp := follow(e, app.URL, cb)
	cbResp.StatusRange(httpexpect.Status3xx).Header("Location").IsEqual("/app/home")
	raw := cbResp.Raw()
	var sc *http.Cookie
	for _, ck := range raw.Cookies() {
		if ck.Name == flowCookie {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure || sc.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure (dev mode), Path /", sc)
	}
	if sc.Value == preLogin {
		t.Fatal("the session id was not renewed at login (session fixation)")
	}
	tok := app.prov.lastToken()
	if tok == nil {
		t.Fatal("no token was exchanged")
	}
	if app.as.Calls("/token") != 1 || app.as.Calls("/userinfo") != 1 {
		t.Fatalf("/token %d /userinfo %d calls, want 1 and 1", app.as.Calls("/token"), app.as.Calls("/userinfo"))
	}

	// 5. The protected page, as the user.
	html(e.GET("/app/home")).Expect().Status(http.StatusOK).
		Body().IsEqual("hello " + indieUser + " <" + indieUserEmail + "> via indie")

	// The state was single use: replaying the callback (Back or a reload)
	// exchanges nothing and changes nothing; the signed-in browser is sent
	// on to the login's return path instead of an error page.
	follow(e, app.URL, cb).Status(http.StatusSeeOther).Header("Location").IsEqual("/app/home")
	if app.as.Calls("/token") != 1 {
		t.Fatalf("/token %d calls after the replay, want 1", app.as.Calls("/token"))
	}
	html(e.GET("/app/home")).Expect().Status(http.StatusOK)

	// 6. Logout: the confirmation page's form, posted with its CSRF token.
	page := html(e.GET("/auth/logout")).Expect().Status(http.StatusOK).Body().Raw()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("logout page has no csrf_token input")
	}
	// Without the token (and from another origin) logout is refused.
	html(e.POST("/auth/logout")).WithHeader("Origin", "http://evil.example").WithFormField("csrf_token", "forged").
		Expect().Status(http.StatusForbidden)
	html(e.GET("/app/home")).Expect().Status(http.StatusOK)

	html(e.POST("/auth/logout")).WithHeader("Origin", app.URL).WithFormField("csrf_token", m[1]).
		Expect().StatusRange(httpexpect.Status3xx)
	html(e.GET("/app/home")).Expect().Status(http.StatusFound)

	// Upstream revocation runs in the background; the server then refuses
	// the token set.
	select {
	case err := <-app.prov.revokes:
		if err != nil {
			t.Fatalf("revocation: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no upstream revocation after logout")
	}
	if _, err := app.prov.Identity(t.Context(), tok); !errors.Is(err, provider.ErrUnauthorized) {
		t.Fatalf("access token after logout: %v, want ErrUnauthorized", err)
	}
	if _, err := app.prov.Refresh(t.Context(), tok); !errors.Is(err, provider.ErrInvalidGrant) {
		t.Fatalf("refresh token after logout: %v, want ErrInvalidGrant", err)
	}

	// The logged-in session cookie, replayed by another browser after
	// logout, is worth nothing.
	e2, jar2 := app.browser(t)
	u, _ := url.Parse(app.URL)
	jar2.SetCookies(u, []*http.Cookie{{Name: flowCookie, Value: sc.Value, Path: "/"}})
	html(e2.GET("/app/home")).Expect().Status(http.StatusFound)

	// Nothing secret reached the browser (URLs, headers, bodies) or the
	// logs.
	app.leaks.ScanLogs(app.logs)
	app.leaks.AssertNone(t)
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func cookieValue(t *testing.T, jar http.CookieJar, base, name string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
