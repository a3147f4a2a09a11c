package middleware_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// secApp is a small app for the security tests: a redirect provider
// "alpha" (oauth2test), an implicit provider "imp", a password provider
// "wazo", JWTs, and handlers behind Require at /private and /slow.
type secApp struct {
	t     testing.TB
	alpha *oauth2test.Server
	imp   *oauth2test.Server
	wz    *wazotest.Server
	auth  *middleware.Auth
	h     http.Handler
	store *memstore.MemStore
	logs  *lockedBuffer
	// slow, when set, is called by the /slow handler (inside Require)
	// before it answers.
	slow func(r *http.Request)
}

const (
	secPublicURL = "https://app.example"
	secClientID  = "sec-client"
	secSecret    = "sec-client-secret-0123456789"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newSecApp(t testing.TB, mutate func(*middleware.Config)) *secApp {
	t.Helper()
	app, err := buildSecApp(t, mutate)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// buildSecApp is newSecApp returning middleware.New's error.
func buildSecApp(t testing.TB, mutate func(*middleware.Config)) (*secApp, error) {
	t.Helper()
	app := &secApp{t: t, logs: &lockedBuffer{}}
	mk := func(name string, implicit bool) *oauth2test.Server {
		s := oauth2test.NewServer(oauth2test.Config{
			Clients:     []oauth2test.Client{{ID: secClientID, Secret: secSecret, RedirectURIs: []string{secPublicURL + "/auth/" + name + "/callback"}}},
			Users:       []oauth2test.User{{Subject: name + "-user", Name: "Ada"}},
			RequirePKCE: !implicit, AllowImplicit: implicit,
		})
		t.Cleanup(s.Close)
		return s
	}
	app.alpha, app.imp = mk("alpha", false), mk("imp", true)
	app.wz = wazotest.NewServer(wazotest.Config{Users: []wazotest.User{{Username: "alice", Password: "correct-horse-battery"}}})
	t.Cleanup(app.wz.Close)
	logger := slog.New(slog.NewTextHandler(app.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	acfg := func(public, name string, s *oauth2test.Server) oauth2.Config {
		return oauth2.Config{Name: name, ClientID: secClientID, ClientSecret: secSecret,
			AuthURL: s.AuthorizeURL(), TokenURL: s.TokenURL(), RevocationURL: s.RevocationURL(), UserInfoURL: s.UserInfoURL(),
			RedirectURL: public + "/auth/" + name + "/callback", Scopes: []string{"openid"}, Logger: logger}
	}
	// adapters builds alpha and imp with their callbacks under public.
	adapters := func(public string) (alpha, imp provider.Provider, err error) {
		a, err := oauth2.New(acfg(public, "alpha", app.alpha))
		if err != nil {
			return nil, nil, err
		}
		icfg := acfg(public, "imp", app.imp)
		icfg.AllowImplicit = true
		i, err := oauth2.NewImplicit(icfg)
		return a, i, err
	}
	alpha, imp, err := adapters(secPublicURL)
	if err != nil {
		t.Fatal(err)
	}
	wz, err := wazo.New(wazo.Config{BaseURL: app.wz.URL, ClientID: "gatehouse-sec"})
	if err != nil {
		t.Fatal(err)
	}
	sm := scs.New()
	app.store = memstore.NewWithCleanupInterval(0)
	sm.Store = app.store
	sm.Cookie.Name = "__Host-gatehouse"
	sm.Cookie.Secure, sm.Cookie.HttpOnly, sm.Cookie.SameSite, sm.Cookie.Path = true, true, http.SameSiteLaxMode, "/"
	sm.IdleTimeout, sm.Lifetime = 30*time.Minute, 8*time.Hour
	mgr, err := session.New(session.Config{SessionManager: sm, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	ja, err := jwtauth.New(jwtauth.Config{Issuer: secPublicURL, Audience: "app-api", Keys: []jwtauth.Key{key}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := middleware.Config{
		Providers: []provider.Provider{alpha, imp, wz}, Sessions: mgr, PublicURL: secPublicURL,
		Implicit: []string{"imp"}, JWT: ja, Logger: logger, AllowedReturnHosts: []string{"docs.example"},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if cfg.PublicURL != "" && cfg.PublicURL != secPublicURL {
		// New checks each adapter's RedirectURL against PublicURL: the
		// callbacks follow a PublicURL the test changed.
		a2, i2, err := adapters(strings.TrimRight(cfg.PublicURL, "/"))
		for i, p := range cfg.Providers {
			if err != nil {
				break // a PublicURL no adapter accepts: New refuses it too
			}
			switch p {
			case alpha:
				cfg.Providers[i] = a2
			case imp:
				cfg.Providers[i] = i2
			}
		}
	}
	app.auth, err = middleware.New(cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = app.auth.Close() })
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := middleware.IdentityFrom(r.Context()); ok {
			_, _ = io.WriteString(w, "hello "+id.Subject)
			return
		}
		_, _ = io.WriteString(w, "anonymous")
	})
	mux := http.NewServeMux()
	mux.Handle(app.auth.BasePath()+"/", app.auth.Handler())
	mux.Handle("/private", app.auth.Require(hello))
	mux.Handle("/optional", app.auth.Optional(hello))
	mux.Handle("/admin", app.auth.RequireScopes("admin")(hello))
	mux.Handle("/slow", app.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if app.slow != nil {
			app.slow(r)
		}
		hello(w, r)
	})))
	app.h = app.auth.Wrap(mux)
	return app, nil
}

// secBrowser is a client with a cookie jar, served in-process.
type secBrowser struct {
	app *secApp
	ip  string
	mu  sync.Mutex
	jar map[string]*http.Cookie
}

func (app *secApp) browser() *secBrowser {
	return &secBrowser{app: app, ip: "192.0.2.10", jar: map[string]*http.Cookie{}}
}

func (b *secBrowser) cookie() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.jar["__Host-gatehouse"]; c != nil {
		return c.Value
	}
	return ""
}

func (b *secBrowser) setCookie(v string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.jar["__Host-gatehouse"] = &http.Cookie{Name: "__Host-gatehouse", Value: v}
}

// do serves one request; hdr is name, value pairs ("Host" sets the host).
func (b *secBrowser) do(method, target, ctype, body string, hdr ...string) *http.Response {
	if !strings.HasPrefix(target, "http") {
		target = secPublicURL + target
	}
	var rdr io.Reader
	if body != "" {
		rdr = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rdr)
	req.RemoteAddr = b.ip + ":40000"
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	b.mu.Lock()
	for _, c := range b.jar {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	b.mu.Unlock()
	rec := httptest.NewRecorder()
	b.app.h.ServeHTTP(rec, req)
	res := rec.Result()
	b.mu.Lock()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.jar, c.Name)
			continue
		}
		b.jar[c.Name] = c
	}
	b.mu.Unlock()
	return res
}

func (b *secBrowser) get(target string, hdr ...string) *http.Response {
	return b.do(http.MethodGet, target, "", "", hdr...)
}

func (b *secBrowser) postForm(target string, form url.Values, hdr ...string) *http.Response {
	return b.do(http.MethodPost, target, "application/x-www-form-urlencoded", form.Encode(), hdr...)
}

func readBody(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// login runs a complete alpha login and returns the callback response.
func (app *secApp) login(b *secBrowser, returnTo string) *http.Response {
	app.t.Helper()
	target := "/auth/alpha/login"
	if returnTo != "" {
		target += "?return_to=" + url.QueryEscape(returnTo)
	}
	res := b.get(target)
	if res.StatusCode != http.StatusFound {
		app.t.Fatalf("login start: %d", res.StatusCode)
	}
	code, state, err := app.alpha.AuthorizeCode(context.Background(), res.Header.Get("Location"))
	if err != nil {
		app.t.Fatal(err)
	}
	return b.get("/auth/alpha/callback?code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(state))
}

// logout posts a same-origin logout.
func (b *secBrowser) logout(returnTo string) *http.Response {
	return b.postForm("/auth/logout", url.Values{"return_to": {returnTo}}, "Sec-Fetch-Site", "same-origin")
}

func wantStatus(t testing.TB, res *http.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("status %d, want %d (Location %q)", res.StatusCode, want, res.Header.Get("Location"))
	}
}
