package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg/startggtest"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo"
	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk/whisktest"
	"github.com/gatehouse-auth/gatehouse/e2e/internal/harness"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// Issue 10 item 7: the leak scan. An app is assembled from the middleware,
// the session manager, the JWT authority, the four adapters and their
// fakes, with recognisable secrets planted (client secrets, the Wazo
// password and a wrong one); every token the fakes issue, every PKCE
// verifier the adapters send, every state and code the browser carries and
// every session id the browser is given are planted as they appear. Then complete flows run for each provider
// style — login, protected page, upstream call, JWT mint and bearer use,
// refresh, logout (confirmation page and POST), plus a wrong password, a
// refresh ending in invalid_grant, denied consent, a refused code exchange,
// an upstream 401 answered by a forced refresh and the JWKS — and everything the browser-side clients see (request
// URLs, headers and bodies; response statuses, headers and bodies), every
// log line (all levels) and every audit event (OnLogin, OnRefresh,
// OnLogout, OnError, with their errors) is scanned. A secret may appear
// only where the protocol puts it in front of the browser (the fake's
// authorize redirect also repeats its Location in its body, as Go's
// http.Redirect does):
//
//   - state and authorization code: the authorize redirect (Location of
//     /auth/{p}/login), the authorize request to the fake, the fake's
//     redirect back and the callback request; for the implicit grant also
//     the fragment values the page posts to /auth/{p}/implicit;
//   - the implicit access token: the fake's redirect (fragment), the
//     callback URL's fragment and the POST to /auth/{p}/implicit;
//   - the Wazo password (right or wrong): the body of the POST to
//     /auth/wazo/login;
//   - the session id: the app's Set-Cookie and the browser's Cookie.
//
// Upstream calls (adapters and the upstream client) go through a separate
// transport, lkTap, which plants what it sees and is not scanned: that is
// where tokens and secrets belong.

const (
	lkOAuth2Secret      = "LKSECRET-oauth2-client-secret-b71e4c09"
	lkWhiskSecret       = "LKSECRET-whisk-client-secret-3a9d0f51"
	lkStartGGSecret     = "LKSECRET-startgg-client-secret-5c2e88a7"
	lkWazoPassword      = "LKSECRET-wazo-password-e6f1a2d4"
	lkWazoWrongPassword = "LKSECRET-wrong-password-0b7d33c8"
	lkClientID          = "gatehouse-leakscan"
	lkStartGGClientID   = "4321"
	lkWazoUser          = "leaky"
	lkAccessTTL         = 10 * time.Minute
	lkLeeway            = time.Minute

	lkOAuth2   = "oauth2"
	lkWhisk    = "whisk"
	lkImplicit = "whisk-implicit"
	lkStartGG  = "startgg"
	lkWazo     = "wazo"
)

// Secret kinds.
const (
	lkKindClientSecret = "client secret"
	lkKindPassword     = "password"
	lkKindState        = "state"
	lkKindCode         = "authorization code"
	lkKindVerifier     = "PKCE verifier"
	lkKindAccess       = "access token"
	lkKindRefresh      = "refresh token"
	lkKindImplicit     = "implicit access token"
	lkKindSession      = "session id"
)

type lkSecret struct{ label, kind, provider, value string }

// lkEntry is one piece of what the browser side saw, or a log line or an
// audit event.
type lkEntry struct {
	host, method, path string
	// part: "url", "request header", "request body", "status",
	// "location", "response header", "response body", "log", "event".
	part string
	text string
}

func (e lkEntry) where() string {
	if e.part == "log" || e.part == "event" {
		return e.part + ": " + e.text
	}
	return e.method + " " + e.host + e.path + " " + e.part
}

type lkAPI struct{ method, url, body string }

// lkWorld is the app under test, its fakes, the planted secrets and the
// recorded traffic.
type lkWorld struct {
	t     *testing.T
	clock *oauth2test.Clock
	logs  *harness.LogCapture
	auth  *middleware.Auth
	srv   *httptest.Server
	base  string
	host  string

	oauth2  *oauth2test.Server
	whisk   *whisktest.Server
	startgg *startggtest.Server
	wazo    *wazotest.Server

	// fakeHost maps a provider name to its fake's host:port; authorize
	// its authorize path.
	fakeHost  map[string]string
	authorize map[string]string
	fakeName  map[string]string // host → provider style, for the tap
	apis      map[string]lkAPI

	upstream *http.Transport // the tap's base, closed at the end

	mu      sync.Mutex
	secrets []lkSecret
	planted map[string]bool
	traffic []lkEntry
	short   []string
	// lastBearer is the access token last presented to each fake.
	lastBearer map[string]string
}

func (w *lkWorld) plant(kind, prov, value string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(value) < harness.MinSecretLen { // reported by check (plant runs in server goroutines too)
		w.short = append(w.short, fmt.Sprintf("%s of %s is only %d bytes: too short to scan for", kind, prov, len(value)))
		return
	}
	if w.planted[value] {
		return
	}
	w.planted[value] = true
	n := 1
	for _, s := range w.secrets {
		if s.kind == kind && s.provider == prov {
			n++
		}
	}
	w.secrets = append(w.secrets, lkSecret{label: fmt.Sprintf("%s %s #%d", prov, kind, n), kind: kind, provider: prov, value: value})
}

func (w *lkWorld) keep(e lkEntry) {
	if e.text == "" {
		return
	}
	w.mu.Lock()
	w.traffic = append(w.traffic, e)
	w.mu.Unlock()
}

// ---------------------------------------------------------------------------
// Upstream side: the tap.

// lkTap is the transport of the adapters and of the upstream client. It
// plants the PKCE verifiers and refresh tokens the app sends and every
// token the fakes return.
type lkTap struct {
	w    *lkWorld
	base http.RoundTripper
}

func (tp *lkTap) RoundTrip(req *http.Request) (*http.Response, error) {
	prov := tp.w.fakeName[req.URL.Host]
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		tp.plantFields(prov, b, req.Header.Get("Content-Type"))
	}
	// The credential of API calls: already planted from the token reply
	// that issued it, unless the tap missed that reply.
	if scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
		tp.w.plant(lkKindAccess, prov, tok)
		tp.w.mu.Lock()
		tp.w.lastBearer[prov] = tok
		tp.w.mu.Unlock()
	}
	if tok := req.Header.Get("X-Auth-Token"); tok != "" {
		tp.w.plant(lkKindAccess, prov, tok)
	}
	resp, err := tp.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	tp.plantFields(prov, b, resp.Header.Get("Content-Type"))
	return resp, nil
}

// plantFields plants the secret-bearing fields of a form or JSON body.
func (tp *lkTap) plantFields(prov string, body []byte, ctype string) {
	kinds := map[string]string{
		"code_verifier": lkKindVerifier,
		"access_token":  lkKindAccess,
		"token":         lkKindAccess, // wazo-auth's access token
		"id_token":      lkKindAccess,
		"refresh_token": lkKindRefresh,
	}
	if strings.HasPrefix(ctype, "application/x-www-form-urlencoded") {
		if vals, err := url.ParseQuery(string(body)); err == nil {
			for k, kind := range kinds {
				if v := vals.Get(k); len(v) >= 16 {
					tp.w.plant(kind, prov, v)
				}
			}
		}
		return
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if s, ok := val.(string); ok && len(s) >= 16 {
					if kind, ok := kinds[k]; ok {
						tp.w.plant(kind, prov, s)
					}
				}
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	walk(v)
}

// ---------------------------------------------------------------------------
// Browser side: the recorder.

// lkRecorder records everything a browser-side client sends and receives.
type lkRecorder struct {
	w    *lkWorld
	base http.RoundTripper
}

func (rc *lkRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	e := lkEntry{host: req.URL.Host, method: req.Method, path: req.URL.Path}
	at := func(part, text string) { e2 := e; e2.part, e2.text = part, text; rc.w.keep(e2) }
	at("url", lkURLText(req.URL))
	at("request header", lkHeaderText(req.Header))
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		at("request body", string(b)+"\n"+lkUnescape(string(b)))
	}
	resp, err := rc.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	at("status", resp.Status)
	h := resp.Header.Clone()
	if loc := h.Get("Location"); loc != "" {
		at("location", loc+"\n"+lkUnescape(loc))
		h.Del("Location")
	}
	at("response header", lkHeaderText(h))
	at("response body", string(b)+"\n"+html.UnescapeString(string(b)))
	return resp, nil
}

func lkUnescape(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

func lkURLText(u *url.URL) string {
	s := u.String()
	return s + "\n" + lkUnescape(s)
}

func lkHeaderText(h http.Header) string {
	var b strings.Builder
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// The app.

func lkNewWorld(t *testing.T) *lkWorld {
	t.Helper()
	w := &lkWorld{
		t: t, clock: oauth2test.NewClock(time.Now()), logs: harness.NewLogCapture(),
		planted: map[string]bool{}, fakeHost: map[string]string{}, authorize: map[string]string{},
		fakeName: map[string]string{}, apis: map[string]lkAPI{}, lastBearer: map[string]string{},
	}
	for _, s := range []string{lkOAuth2Secret, lkWhiskSecret, lkStartGGSecret} {
		w.plant(lkKindClientSecret, "app", s)
	}
	w.plant(lkKindPassword, lkWazo, lkWazoPassword)
	w.plant(lkKindPassword, lkWazo, lkWazoWrongPassword)

	// The app's address is known before anything is built: callback URLs
	// need it.
	var handler http.Handler
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { handler.ServeHTTP(rw, r) }))
	w.base = "http://" + w.srv.Listener.Addr().String()
	w.host = w.srv.Listener.Addr().String()
	callback := func(p string) string { return w.base + "/auth/" + p + "/callback" }

	w.upstream = http.DefaultTransport.(*http.Transport).Clone()
	tap := &lkTap{w: w, base: w.upstream}
	upstream := &http.Client{Transport: tap}
	log := w.logs.Logger()
	now := w.clock.Now

	// Generic OAuth2.
	w.oauth2 = oauth2test.NewServer(oauth2test.Config{
		Clients:     []oauth2test.Client{{ID: lkClientID, Secret: lkOAuth2Secret, RedirectURIs: []string{callback(lkOAuth2)}}},
		Users:       []oauth2test.User{{Subject: "lk-user-1", Name: "Leak Scan", Email: "leak@example.test"}},
		AccessTTL:   lkAccessTTL,
		RequirePKCE: true,
		Now:         now,
	})
	t.Cleanup(w.oauth2.Close)
	oa, err := oauth2.New(oauth2.Config{
		Name: lkOAuth2, ClientID: lkClientID, ClientSecret: lkOAuth2Secret,
		AuthURL: w.oauth2.AuthorizeURL(), TokenURL: w.oauth2.TokenURL(), RevocationURL: w.oauth2.RevocationURL(),
		UserInfoURL: w.oauth2.UserInfoURL(), RedirectURL: callback(lkOAuth2),
		Scopes: []string{"openid", "profile", "email"}, HTTPClient: upstream, Logger: log, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.apis[lkOAuth2] = lkAPI{method: http.MethodGet, url: w.oauth2.UserInfoURL()}

	// Whisk, and Whisk through the implicit grant.
	w.whisk = whisktest.NewServer(whisktest.Config{
		Clients: []whisktest.Client{{ID: lkClientID, Secret: lkWhiskSecret,
			RedirectURIs: []string{callback(lkWhisk), callback(lkImplicit)}}},
		AllowImplicit: true, AccessTTL: lkAccessTTL, Now: now,
	})
	t.Cleanup(w.whisk.Close)
	wcfg := whisk.Config{
		ClientID: lkClientID, ClientSecret: lkWhiskSecret, Scopes: []string{"user.profile:read"},
		Offline: true, AuthBaseURL: w.whisk.URL, APIBaseURL: w.whisk.URL, HTTPClient: upstream, Logger: log, Now: now,
		RedirectURL: callback(lkWhisk),
	}
	wa, err := whisk.New(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	icfg := wcfg
	icfg.Name, icfg.RedirectURL, icfg.AllowImplicit, icfg.Offline = lkImplicit, callback(lkImplicit), true, false
	wi, err := whisk.NewImplicit(icfg)
	if err != nil {
		t.Fatal(err)
	}
	w.apis[lkWhisk] = lkAPI{method: http.MethodGet, url: w.whisk.URL + whisktest.MePath}
	w.apis[lkImplicit] = w.apis[lkWhisk]

	// start.gg.
	w.startgg = startggtest.NewServer(startggtest.Config{
		ClientID: lkStartGGClientID, ClientSecret: lkStartGGSecret, RedirectURIs: []string{callback(lkStartGG)},
		Users:     []startggtest.User{{ID: 424242, Name: "Leak Player", GamerTag: "LeakFox", Email: "fox@example.test"}},
		AccessTTL: lkAccessTTL, RequirePKCE: true, Now: now,
	})
	t.Cleanup(w.startgg.Close)
	sa, err := startgg.New(startgg.Config{
		ClientID: lkStartGGClientID, ClientSecret: lkStartGGSecret, RedirectURL: callback(lkStartGG),
		Scopes:      []string{startgg.ScopeIdentity, startgg.ScopeEmail},
		AuthBaseURL: w.startgg.URL, APIBaseURL: w.startgg.URL, HTTPClient: upstream, Logger: log, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.apis[lkStartGG] = lkAPI{method: http.MethodPost, url: sa.GraphQLURL(),
		body: `{"query":"query Me { currentUser { id slug name email player { gamerTag } } }","operationName":"Me"}`}

	// Wazo.
	w.wazo = wazotest.NewServer(wazotest.Config{
		Users:           []wazotest.User{{Username: lkWazoUser, Password: lkWazoPassword, Email: "leaky@example.test"}},
		DefaultLifetime: lkAccessTTL, Now: now,
	})
	t.Cleanup(w.wazo.Close)
	za, err := wazo.New(wazo.Config{BaseURL: w.wazo.URL, ClientID: lkClientID, Expiration: int(lkAccessTTL / time.Second),
		HTTPClient: upstream, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	w.apis[lkWazo] = lkAPI{method: http.MethodGet, url: w.wazo.URL + "/users/me/tokens"}

	for p, s := range map[string]string{lkOAuth2: w.oauth2.URL, lkWhisk: w.whisk.URL, lkImplicit: w.whisk.URL, lkStartGG: w.startgg.URL, lkWazo: w.wazo.URL} {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		w.fakeHost[p] = u.Host
		if p != lkImplicit {
			w.fakeName[u.Host] = p
		}
	}
	w.authorize[lkOAuth2] = lkMustPath(t, w.oauth2.AuthorizeURL())
	w.authorize[lkWhisk] = whisktest.AuthorizePath
	w.authorize[lkImplicit] = whisktest.AuthorizePath
	w.authorize[lkStartGG] = startggtest.AuthorizePath

	// Sessions, JWT, Gatehouse: every logger is the capture (all levels).
	sessions, err := session.New(session.Config{Leeway: lkLeeway, Now: now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sessions.Close() })
	sm := sessions.Sessions()
	sm.Cookie.Name, sm.Cookie.Secure = "gatehouse", false // DevMode: plain-http loopback
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := jwtauth.New(jwtauth.Config{Issuer: w.base, Audience: w.base + "/api", Keys: []jwtauth.Key{key}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	hook := func(ctx context.Context, e middleware.Event) {
		text := fmt.Sprintf("%+v", e)
		if e.Err != nil {
			text += "\n" + e.Err.Error() + "\n" + fmt.Sprintf("%#v", e.Err)
		}
		w.keep(lkEntry{part: "event", text: text})
	}
	w.auth, err = middleware.New(middleware.Config{
		Providers: []provider.Provider{oa, wa, wi, sa, za},
		Implicit:  []string{lkImplicit},
		Sessions:  sessions, PublicURL: w.base, JWT: jwt, DevMode: true,
		Logger: log, Now: now, UpstreamTransport: tap,
		OnLogin: hook, OnRefresh: hook, OnLogout: hook, OnError: hook,
	})
	if err != nil {
		t.Fatal(err)
	}
	handler = w.routes()
	w.srv.Start()
	t.Cleanup(func() {
		w.srv.Close()
		_ = w.auth.Close()
		w.upstream.CloseIdleConnections()
	})
	return w
}

func lkMustPath(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// routes: a public home, a protected page (identity and the CSRF token,
// as the demo's), /api/me (identity as JSON, for cookie and bearer
// callers) and /api/upstream (the provider's API through Auth.Client).
func (w *lkWorld) routes() http.Handler {
	a := w.auth
	mux := http.NewServeMux()
	mux.Handle("/auth/", a.Handler())
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(rw, "<h1>Public home</h1>")
	})
	mux.Handle("GET /protected", a.Require(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id, _ := middleware.IdentityFrom(r.Context())
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, `<h1>Protected</h1><dl><dt>Provider</dt><dd id="provider">%s</dd><dt>Subject</dt><dd id="subject">%s</dd><dt>Name</dt><dd>%s</dd></dl>`+
			`<form method="post" action="/auth/logout"><input type="hidden" name="csrf_token" value="%s"><button>Sign out</button></form>`,
			html.EscapeString(id.Provider), html.EscapeString(id.Subject), html.EscapeString(id.Name), html.EscapeString(a.CSRFToken(r.Context())))
	})))
	mux.Handle("GET /api/me", a.Require(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id, _ := middleware.IdentityFrom(r.Context())
		scopes, _ := middleware.ScopesFrom(r.Context())
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"provider": id.Provider, "sub": id.Subject, "name": id.Name,
			"email": id.Email, "claims": id.Raw, "scopes": scopes})
	})))
	mux.Handle("GET /api/upstream", a.Require(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id, _ := middleware.IdentityFrom(r.Context())
		api := w.apis[id.Provider]
		c, err := a.Client(r.Context())
		if err != nil {
			http.Error(rw, "no upstream client", http.StatusInternalServerError)
			return
		}
		var body io.Reader
		if api.body != "" {
			body = strings.NewReader(api.body)
		}
		req, err := http.NewRequestWithContext(r.Context(), api.method, api.url, body)
		if err != nil {
			http.Error(rw, "bad request", http.StatusInternalServerError)
			return
		}
		if api.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			w.logs.Logger().Warn("leak app: upstream call failed", "error", err.Error())
			http.Error(rw, "upstream unavailable", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"status": resp.StatusCode, "body": string(b)})
	})))
	return a.Wrap(mux)
}

// ---------------------------------------------------------------------------
// A browser.

type lkHop struct {
	req      *http.Request
	status   int
	location *url.URL
	body     string
}

// lkBrowser is a cookie-keeping client whose traffic is recorded; it
// follows redirects itself so that every hop is visible.
type lkBrowser struct {
	w *lkWorld
	c *http.Client
}

func (w *lkWorld) browser() *lkBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return &lkBrowser{w: w, c: &http.Client{
		Jar:           jar,
		Transport:     &lkRecorder{w: w, base: w.upstream}, // its own recorder; connections may be shared
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// apiClient is a recorded client without cookies (a CLI with a bearer JWT).
func (w *lkWorld) apiClient() *http.Client {
	return &http.Client{Transport: &lkRecorder{w: w, base: w.upstream}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends req and follows redirects (GET after 302/303, as browsers do),
// returning every hop. A Location with a fragment keeps it in the next
// request's URL, which is browser-side only: Go never sends it.
func (b *lkBrowser) do(req *http.Request) []lkHop {
	t := b.w.t
	t.Helper()
	var hops []lkHop
	for range 10 {
		if req.Method == http.MethodPost {
			req.Header.Set("Origin", b.w.base) // a browser's same-origin form post
		}
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "text/html")
		}
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		h := lkHop{req: req, status: resp.StatusCode, body: string(body)}
		if loc := resp.Header.Get("Location"); loc != "" {
			if h.location, err = req.URL.Parse(loc); err != nil {
				t.Fatalf("bad Location %q: %v", loc, err)
			}
		}
		hops = append(hops, h)
		b.plantSession()
		if resp.StatusCode < 300 || resp.StatusCode > 399 || h.location == nil {
			return hops
		}
		if h.location.Host != b.w.host && h.location.Host != "" && !b.w.isFake(h.location.Host) {
			t.Fatalf("redirect off the test's servers: %s", h.location.Redacted())
		}
		next, err := http.NewRequest(http.MethodGet, h.location.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req = next
	}
	t.Fatalf("too many redirects")
	return nil
}

// plantSession plants the session cookie's value each time it changes
// (login and logout renew it).
func (b *lkBrowser) plantSession() {
	u, _ := url.Parse(b.w.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "gatehouse" {
			b.w.plant(lkKindSession, "app", c.Value)
		}
	}
}

func (w *lkWorld) isFake(host string) bool {
	_, ok := w.fakeName[host]
	return ok
}

func (b *lkBrowser) get(path string) []lkHop {
	req, err := http.NewRequest(http.MethodGet, b.w.base+path, nil)
	if err != nil {
		b.w.t.Fatal(err)
	}
	return b.do(req)
}

func (b *lkBrowser) post(path string, form url.Values, hdr map[string]string) []lkHop {
	req, err := http.NewRequest(http.MethodPost, b.w.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

func lkLast(hops []lkHop) lkHop { return hops[len(hops)-1] }

var lkCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (w *lkWorld) csrf(body string) string {
	w.t.Helper()
	m := lkCSRF.FindStringSubmatch(body)
	if m == nil {
		w.t.Fatalf("no csrf_token in page: %.300s", body)
	}
	return html.UnescapeString(m[1])
}

// wantPage checks that the last hop is the protected page of prov and
// returns the CSRF token on it.
func (w *lkWorld) wantPage(step, prov string, hops []lkHop) string {
	w.t.Helper()
	h := lkLast(hops)
	if h.status != http.StatusOK || h.req.URL.Path != "/protected" || !strings.Contains(h.body, `<dd id="provider">`+prov+`</dd>`) {
		w.t.Fatalf("%s: ended at %d %s, want the protected page of %s: %.300s", step, h.status, h.req.URL.Path, prov, h.body)
	}
	return w.csrf(h.body)
}

// wantLogin checks that the hops end on a login page (chooser or form).
func (w *lkWorld) wantLogin(step string, hops []lkHop) {
	w.t.Helper()
	first := hops[0]
	if first.status != http.StatusFound || first.location == nil || !strings.HasPrefix(first.location.Path, "/auth/") {
		w.t.Fatalf("%s: got %d (Location %v), want 302 to a login page", step, first.status, first.location)
	}
}

// ---------------------------------------------------------------------------
// Flows.

// loginRedirect runs the code flow of prov and plants its state and code.
func (w *lkWorld) loginRedirect(b *lkBrowser, prov string) string {
	w.t.Helper()
	hops := w.codeFlow(b, prov)
	return w.wantPage(prov+" login", prov, hops)
}

// codeFlow starts a login of prov and follows it to the end, planting the
// state and the code (when the fake sends one).
func (w *lkWorld) codeFlow(b *lkBrowser, prov string) []lkHop {
	w.t.Helper()
	hops := b.get("/auth/" + prov + "/login?return_to=%2Fprotected")
	if len(hops) < 3 {
		w.t.Fatalf("%s login: %d hops, want login → authorize → callback", prov, len(hops))
	}
	auth := hops[0].location
	if hops[0].status != http.StatusFound || auth == nil || auth.Host != w.fakeHost[prov] {
		w.t.Fatalf("%s login: first hop %d to %v", prov, hops[0].status, auth)
	}
	w.plant(lkKindState, prov, auth.Query().Get("state"))
	if auth.Query().Get("code_challenge") == "" || auth.Query().Get("code_challenge_method") != "S256" {
		w.t.Errorf("%s login: authorize URL without an S256 challenge", prov)
	}
	cb := hops[1].location
	if cb == nil || cb.Host != w.host || cb.Path != "/auth/"+prov+"/callback" {
		w.t.Fatalf("%s login: the fake redirected to %v", prov, cb)
	}
	if code := cb.Query().Get("code"); code != "" {
		w.plant(lkKindCode, prov, code)
	}
	return hops
}

// wantError checks that a failed login ends on an error page of status.
func (w *lkWorld) wantError(step string, hops []lkHop, status int) {
	w.t.Helper()
	h := lkLast(hops)
	if h.status != status || !strings.HasPrefix(h.req.URL.Path, "/auth/") {
		w.t.Errorf("%s: ended at %d %s, want %d from Gatehouse", step, h.status, h.req.URL.Path, status)
	}
}

// loginImplicit runs the implicit grant: the fake's redirect carries the
// token in the fragment; the callback page's script would post the
// fragment's values, which the test does in its place.
func (w *lkWorld) loginImplicit(b *lkBrowser) string {
	w.t.Helper()
	prov := lkImplicit
	hops := b.get("/auth/" + prov + "/login?return_to=%2Fprotected")
	if len(hops) != 3 {
		w.t.Fatalf("implicit login: %d hops, want login → authorize → callback page", len(hops))
	}
	auth := hops[0].location
	if auth == nil || auth.Query().Get("response_type") != "token" {
		w.t.Fatalf("implicit login: authorize URL %v", auth)
	}
	w.plant(lkKindState, prov, auth.Query().Get("state"))
	cb := hops[1].location
	if cb == nil || cb.Path != "/auth/"+prov+"/callback" || cb.RawQuery != "" || cb.Fragment == "" {
		w.t.Fatalf("implicit login: the fake redirected to a callback without a fragment")
	}
	frag, err := url.ParseQuery(cb.Fragment)
	if err != nil {
		w.t.Fatal(err)
	}
	w.plant(lkKindImplicit, prov, frag.Get("access_token"))
	page := lkLast(hops)
	if page.status != http.StatusOK || !strings.Contains(page.body, `action="/auth/`+prov+`/implicit"`) {
		w.t.Fatalf("implicit callback page: %d %.300s", page.status, page.body)
	}
	hops = b.post("/auth/"+prov+"/implicit", frag, nil)
	return w.wantPage("implicit login", prov, hops)
}

// loginWazo types a wrong password first, then the right one.
func (w *lkWorld) loginWazo(b *lkBrowser) string {
	w.t.Helper()
	form := lkLast(b.get("/auth/wazo/login?return_to=%2Fprotected"))
	if form.status != http.StatusOK || !strings.Contains(form.body, `name="password"`) {
		w.t.Fatalf("wazo form: %d %.300s", form.status, form.body)
	}
	vals := url.Values{"csrf_token": {w.csrf(form.body)}, "return_to": {"/protected"},
		"username": {lkWazoUser}, "password": {lkWazoWrongPassword}}
	bad := lkLast(b.post("/auth/wazo/login", vals, nil))
	if bad.status != http.StatusUnauthorized {
		w.t.Errorf("wrong Wazo password: %d, want 401", bad.status)
	}
	vals.Set("csrf_token", w.csrf(bad.body))
	vals.Set("password", lkWazoPassword)
	return w.wantPage("wazo login", lkWazo, b.post("/auth/wazo/login", vals, nil))
}

// useSession: the protected page, the upstream API, a JWT minted for the
// session and used as a bearer by an API client.
func (w *lkWorld) useSession(b *lkBrowser, prov, csrf string) {
	w.t.Helper()
	w.wantPage(prov+" page", prov, b.get("/protected"))
	w.upstreamOK(b, prov)

	req, _ := http.NewRequest(http.MethodPost, w.base+"/auth/token", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	h := lkLast(b.do(req))
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if h.status != http.StatusOK || json.Unmarshal([]byte(h.body), &tok) != nil || tok.AccessToken == "" {
		w.t.Fatalf("%s: mint JWT: %d %.300s", prov, h.status, h.body)
	}
	api := w.apiClient()
	me, _ := http.NewRequest(http.MethodGet, w.base+"/api/me", nil)
	me.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	me.Header.Set("Accept", "application/json")
	resp, err := api.Do(me)
	if err != nil {
		w.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"provider":"`+prov+`"`) {
		w.t.Errorf("%s: bearer /api/me: %d %.300s", prov, resp.StatusCode, body)
	}
}

func (w *lkWorld) upstreamOK(b *lkBrowser, prov string) {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.base+"/api/upstream", nil)
	req.Header.Set("Accept", "application/json")
	h := lkLast(b.do(req))
	var r struct {
		Status int `json:"status"`
	}
	if h.status != http.StatusOK || json.Unmarshal([]byte(h.body), &r) != nil || r.Status != http.StatusOK {
		w.t.Errorf("%s: upstream call: %d %.300s", prov, h.status, h.body)
	}
}

// refresh moves the clock past the access token's lifetime; the next
// protected request refreshes exactly once.
func (w *lkWorld) refresh(b *lkBrowser, prov string, calls func() int) string {
	w.t.Helper()
	before := calls()
	w.clock.Advance(lkAccessTTL)
	csrf := w.wantPage(prov+" page after expiry", prov, b.get("/protected"))
	if got := calls() - before; got != 1 {
		w.t.Errorf("%s: %d upstream refreshes, want 1", prov, got)
	}
	w.upstreamOK(b, prov)
	return csrf
}

// revokedUpstream revokes the access token at the fake behind the app's
// back: the upstream API answers 401, the upstream client refreshes once
// and retries.
func (w *lkWorld) revokedUpstream(b *lkBrowser, prov string, fake *oauth2test.Server) {
	w.t.Helper()
	w.mu.Lock()
	tok := w.lastBearer[prov]
	w.mu.Unlock()
	if tok == "" || !fake.RevokeToken(tok) {
		w.t.Fatalf("%s: no live access token to revoke", prov)
	}
	before := fake.Calls(oauth2test.EndpointRefresh)
	w.upstreamOK(b, prov)
	if got := fake.Calls(oauth2test.EndpointRefresh) - before; got != 1 {
		w.t.Errorf("%s: upstream 401 caused %d refreshes, want 1", prov, got)
	}
}

// logout: the confirmation page (GET), then the CSRF-checked POST.
func (w *lkWorld) logout(b *lkBrowser, prov, csrf string) {
	w.t.Helper()
	page := lkLast(b.get("/auth/logout?return_to=%2F"))
	if page.status != http.StatusOK {
		w.t.Errorf("%s: logout page %d", prov, page.status)
	} else if c := w.csrf(page.body); c != csrf {
		w.t.Errorf("%s: the logout page's CSRF token differs from the session's", prov)
	}
	hops := b.post("/auth/logout", url.Values{"csrf_token": {csrf}, "return_to": {"/"}}, nil)
	if hops[0].status != http.StatusSeeOther || lkLast(hops).req.URL.Path != "/" {
		w.t.Errorf("%s logout: %d then %s", prov, hops[0].status, lkLast(hops).req.URL.Path)
	}
	w.wantLogin(prov+" after logout", b.get("/protected"))
}

func TestLeakScan_AllProviderStyles(t *testing.T) {
	harness.GoroutineBaseline(t, goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
	w := lkNewWorld(t)

	refreshCalls := func(s *oauth2test.Server) func() int {
		return func() int { return s.Calls(oauth2test.EndpointRefresh) }
	}

	t.Run(lkOAuth2, func(t *testing.T) {
		w.t = t
		b := w.browser()
		w.wantLogin("anonymous protected page", b.get("/protected"))
		csrf := w.loginRedirect(b, lkOAuth2)
		w.useSession(b, lkOAuth2, csrf)
		csrf = w.refresh(b, lkOAuth2, refreshCalls(w.oauth2))
		w.revokedUpstream(b, lkOAuth2, w.oauth2)
		if h := lkLast(b.get("/auth/.well-known/jwks.json")); h.status != http.StatusOK || !strings.Contains(h.body, `"keys"`) {
			t.Errorf("jwks: %d %.200s", h.status, h.body)
		}
		w.logout(b, lkOAuth2, csrf)

		// A second login whose refresh ends in invalid_grant: the
		// failure is logged and reported, and must carry no secret.
		w.loginRedirect(b, lkOAuth2)
		w.oauth2.Fail(oauth2test.EndpointRefresh, oauth2test.Failure{OAuthError: "invalid_grant"})
		w.clock.Advance(lkAccessTTL)
		w.wantLogin("oauth2 after invalid_grant", b.get("/protected"))

		// Failed logins render error pages to the browser and log the
		// failure: denied consent, and a code exchange the provider
		// refuses.
		w.oauth2.Fail(oauth2test.EndpointAuthorize, oauth2test.Failure{OAuthError: "access_denied"})
		w.wantError("denied consent", w.codeFlow(b, lkOAuth2), http.StatusForbidden)
		w.oauth2.Fail(oauth2test.EndpointToken, oauth2test.Failure{OAuthError: "invalid_grant"})
		hops := w.codeFlow(b, lkOAuth2)
		if h := lkLast(hops); h.status < 400 || h.req.URL.Path != "/auth/oauth2/callback" {
			t.Errorf("refused exchange: ended at %d %s, want an error page at the callback", h.status, h.req.URL.Path)
		}
	})
	t.Run(lkWhisk, func(t *testing.T) {
		w.t = t
		b := w.browser()
		csrf := w.loginRedirect(b, lkWhisk)
		w.useSession(b, lkWhisk, csrf)
		csrf = w.refresh(b, lkWhisk, refreshCalls(w.whisk.Server))
		w.logout(b, lkWhisk, csrf)
	})
	t.Run(lkImplicit, func(t *testing.T) {
		w.t = t
		b := w.browser()
		csrf := w.loginImplicit(b)
		w.useSession(b, lkImplicit, csrf)
		w.logout(b, lkImplicit, csrf)
	})
	t.Run(lkStartGG, func(t *testing.T) {
		w.t = t
		b := w.browser()
		csrf := w.loginRedirect(b, lkStartGG)
		w.useSession(b, lkStartGG, csrf)
		csrf = w.refresh(b, lkStartGG, refreshCalls(w.startgg.Server))
		w.logout(b, lkStartGG, csrf)
	})
	t.Run(lkWazo, func(t *testing.T) {
		w.t = t
		b := w.browser()
		csrf := w.loginWazo(b)
		w.useSession(b, lkWazo, csrf)
		csrf = w.refresh(b, lkWazo, func() int { return w.wazo.Calls(wazotest.EndpointToken) })
		w.logout(b, lkWazo, csrf)
	})
	w.t = t

	// Background revocations finish (or are cancelled) before the logs
	// are read.
	if err := w.auth.Close(); err != nil {
		t.Errorf("auth Close: %v", err)
	}
	if w.oauth2.Calls(oauth2test.EndpointRevoke) == 0 {
		t.Error("no upstream revocation reached the OAuth2 fake")
	}
	for _, l := range w.logs.Lines() {
		w.keep(lkEntry{part: "log", text: l})
	}
	w.check(t)
}

// check asserts that the scan is not vacuous, then scans.
func (w *lkWorld) check(t *testing.T) {
	w.mu.Lock()
	secrets := append([]lkSecret(nil), w.secrets...)
	traffic := append([]lkEntry(nil), w.traffic...)
	short := append([]string(nil), w.short...)
	w.mu.Unlock()
	for _, m := range short {
		t.Error(m)
	}

	count := map[string]int{}
	for _, s := range secrets {
		count[s.kind]++
	}
	// At least: 3 client secrets, 2 passwords, a state per redirect login
	// (5), a code per code-flow login (4), a verifier per exchange (4), an
	// access and refresh token per login and refresh, one implicit token.
	for kind, least := range map[string]int{
		lkKindClientSecret: 3, lkKindPassword: 2, lkKindState: 5, lkKindCode: 4,
		lkKindVerifier: 4, lkKindAccess: 9, lkKindRefresh: 8, lkKindImplicit: 1, lkKindSession: 10,
	} {
		if count[kind] < least {
			t.Errorf("only %d %s planted, want ≥ %d: the scan would miss flows", count[kind], kind, least)
		}
	}
	logs := 0
	for _, e := range traffic {
		if e.part == "log" {
			logs++
		}
	}
	if logs < 10 || len(traffic) < 200 {
		t.Errorf("scanned %d entries, %d log lines: too few for complete flows", len(traffic), logs)
	}
	t.Logf("scanned %d entries (%d log lines) for %d planted secrets %v", len(traffic), logs, len(secrets), count)

	for _, l := range w.scan(secrets, traffic) {
		t.Errorf("leak: %s", l)
	}
	w.control(t, secrets)
	for name, warns := range map[string][]string{
		lkOAuth2: w.oauth2.Warnings(), lkWhisk: w.whisk.Warnings(), lkStartGG: w.startgg.Warnings(),
	} {
		for _, m := range warns {
			t.Errorf("fake %s noticed a protocol misuse: %s", name, m)
		}
	}
}

// scan returns the leaks of traffic: each entry is scanned for every
// secret not allowed there.
func (w *lkWorld) scan(secrets []lkSecret, traffic []lkEntry) []harness.Leak {
	var out []harness.Leak
	for _, e := range traffic {
		sc := harness.NewLeakScanner()
		for _, s := range secrets {
			if !w.allowed(s, e) {
				sc.Plant(s.label, s.value)
			}
		}
		out = append(out, sc.ScanString(e.where(), e.text)...)
	}
	return out
}

// control is the negative control: secrets placed where they do not
// belong, in the encodings a careless change would produce, right next to
// where they are allowed, must each be reported once.
func (w *lkWorld) control(t *testing.T, secrets []lkSecret) {
	first := func(kind, prov string) lkSecret {
		for _, s := range secrets {
			if s.kind == kind && (prov == "" || s.provider == prov) {
				return s
			}
		}
		t.Fatalf("control: no %s of %s planted", kind, prov)
		return lkSecret{}
	}
	state := first(lkKindState, lkOAuth2)
	refresh := first(lkKindRefresh, "")
	verifier := first(lkKindVerifier, "")
	implicit := first(lkKindImplicit, lkImplicit)
	app := func(method, path, part, text string) lkEntry {
		return lkEntry{host: w.host, method: method, path: path, part: part, text: text}
	}
	cases := []struct {
		secret lkSecret
		entry  lkEntry
	}{
		// the state is allowed in the callback URL, not in its answer
		{state, app("GET", "/auth/oauth2/callback", "response body", `<a href="/x?s=`+url.QueryEscape(state.value)+`">`)},
		// nor in another provider's authorize redirect
		{state, app("GET", "/auth/whisk/login", "location", "http://x/?state="+state.value)},
		{refresh, lkEntry{part: "log", text: `{"msg":"debug","tok":"` + base64.RawURLEncoding.EncodeToString([]byte(refresh.value)) + `"}`}},
		{verifier, app("GET", "/protected", "url", w.base+"/protected?v="+url.QueryEscape(verifier.value))},
		// the password is allowed in the login POST's body, not its answer
		{first(lkKindPassword, lkWazo), app("POST", "/auth/wazo/login", "response body", `value="`+lkWazoPassword+`"`)},
		// the implicit token is allowed in the POST, not in the redirect after it
		{implicit, app("POST", "/auth/whisk-implicit/implicit", "location", "/protected#"+implicit.value)},
		{first(lkKindClientSecret, ""), lkEntry{part: "event", text: "provider error: " + lkOAuth2Secret}},
		// the session id is allowed in Cookie and Set-Cookie, not in a log line
		{first(lkKindSession, ""), lkEntry{part: "log", text: `{"session":"` + first(lkKindSession, "").value + `"}`}},
	}
	for _, c := range cases {
		got := w.scan(secrets, []lkEntry{c.entry})
		if len(got) != 1 || got[0].Secret != c.secret.label {
			t.Errorf("control: %s planted in %s: scan found %v, want exactly that secret", c.secret.label, c.entry.where(), got)
		}
	}
}

// allowed says whether secret s may appear in entry e (see the comment at
// the top of the file).
func (w *lkWorld) allowed(s lkSecret, e lkEntry) bool {
	p := s.provider
	app := e.host == w.host
	// The fake's authorize answer is a redirect whose body (Go's
	// http.Redirect) repeats the Location: both are the provider's.
	fakeAuthorize := e.host == w.fakeHost[p] && e.path == w.authorize[p] && e.method == http.MethodGet &&
		(e.part == "url" || e.part == "location" || e.part == "response body")
	callbackURL := app && e.method == http.MethodGet && e.path == "/auth/"+p+"/callback" && e.part == "url"
	implicitPost := app && p == lkImplicit && e.method == http.MethodPost && e.path == "/auth/"+p+"/implicit" && e.part == "request body"
	switch s.kind {
	case lkKindState, lkKindCode:
		loginRedirect := app && e.method == http.MethodGet && e.path == "/auth/"+p+"/login" && e.part == "location"
		return loginRedirect || fakeAuthorize || callbackURL || implicitPost
	case lkKindImplicit:
		return (fakeAuthorize && e.part != "url") || callbackURL || implicitPost
	case lkKindSession:
		// Cookie on requests (the jar, like a browser, does not tell
		// loopback ports apart, so the fakes get it too) and Set-Cookie
		// from the app; never a URL, a body or a log line.
		return e.part == "request header" || (app && e.part == "response header")
	case lkKindPassword:
		return app && e.method == http.MethodPost && e.path == "/auth/wazo/login" && e.part == "request body"
	}
	return false
}
