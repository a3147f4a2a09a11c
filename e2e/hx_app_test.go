package e2e

// The hx fixture: an app of our own built from the public packages exactly
// as an integrator would (middleware + one of the two stacks, net/http or
// Echo), over fakes of every upstream style that share one manual clock.
// The example apps (examples/demo, examples/nethttp, examples/echo) are
// driven as they are by suite_test.go and badinput_test.go; this fixture
// covers what they do not expose: the session store (memstore, Redis,
// PostgreSQL), a refresh lock shared by several instances, a fake clock
// (expired attempts, expiry-driven refresh, invalid_grant on refresh), a
// short upstream timeout (a slow exchange) and a RequireScopes route.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/labstack/echo/v4"

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
	"github.com/gatehouse-auth/gatehouse/middleware/echoauth"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

const (
	hxClientID = "hx-client"
	hxSecret   = "hx-client-secret-0123456789"
	// hxTTL is every fake's access-token lifetime; hxLeeway the session
	// manager's refresh leeway. Advancing the clock by hxTTL makes every
	// token due for refresh.
	hxTTL    = time.Hour
	hxLeeway = time.Minute
	// hxUpstreamTimeout bounds each upstream call of the hx adapters, so
	// that a slow exchange fails fast, while a 150 ms one is in time even
	// race-instrumented on a loaded 2-core machine.
	hxUpstreamTimeout = 2 * time.Second
	hxCookie          = "gatehouse"
	hxWazoUser        = "alice"
	hxWazoPassword    = "alice-hx-password-42"

	hxStackNetHTTP = "net/http"
	hxStackEcho    = "echo"
)

// Provider names (route names) of the hx app; the same as the demo's.
const (
	hxOAuth2  = "oauth2"
	hxWhisk   = "whisk"
	hxStartGG = "startgg"
	hxWazo    = "wazo"
)

// hxProv is one provider of an app under test, with hooks into its fake.
type hxProv struct {
	name, style string
	// user and pass are set for a password (Wazo-style) provider.
	user, pass string
	// failAuthorize injects a failure at the authorize endpoint (nil for a
	// password provider); failToken at the token endpoint (code exchange
	// or password login; refreshes too); failRefresh at refresh grants.
	failAuthorize, failToken, failRefresh func(oauth2test.Failure)
	// refreshes counts the refresh grants the fake answered (nil when the
	// fake cannot tell them from logins).
	refreshes func() int
}

func (p hxProv) password() bool { return p.user != "" }

// hxFakes are running fakes of the four upstream styles.
type hxFakes struct {
	OAuth2  *oauth2test.Server
	Whisk   *whisktest.Server
	StartGG *startggtest.Server
	Wazo    *wazotest.Server
	// WazoUser and WazoPassword are an account of the fake Wazo.
	WazoUser, WazoPassword string
}

// provs describes the fakes as hxProvs. Nil fakes are left out.
func (f hxFakes) provs() []hxProv {
	var out []hxProv
	if s := f.OAuth2; s != nil {
		out = append(out, hxOAuthProv(hxOAuth2, "oauth2", s))
	}
	if s := f.Whisk; s != nil {
		out = append(out, hxOAuthProv(hxWhisk, "whisk", s.Server))
	}
	if s := f.StartGG; s != nil {
		out = append(out, hxOAuthProv(hxStartGG, "startgg", s.Server))
	}
	if s := f.Wazo; s != nil {
		out = append(out, hxProv{name: hxWazo, style: "wazo", user: f.WazoUser, pass: f.WazoPassword,
			failToken:   func(x oauth2test.Failure) { s.Fail(wazotest.EndpointToken, x) },
			failRefresh: func(x oauth2test.Failure) { s.Fail(wazotest.EndpointToken, x) },
		})
	}
	return out
}

func hxOAuthProv(name, style string, s *oauth2test.Server) hxProv {
	return hxProv{name: name, style: style,
		failAuthorize: func(x oauth2test.Failure) { s.Fail(oauth2test.EndpointAuthorize, x) },
		failToken:     func(x oauth2test.Failure) { s.Fail(oauth2test.EndpointToken, x) },
		failRefresh:   func(x oauth2test.Failure) { s.Fail(oauth2test.EndpointRefresh, x) },
		refreshes:     func() int { return s.Calls(oauth2test.EndpointRefresh) },
	}
}

// hxUpstreams are the fakes of the hx app, their adapters (built for one
// public URL) and the upstream API request of each provider.
type hxUpstreams struct {
	hxFakes
	clock     *oauth2test.Clock
	providers []provider.Provider
	api       map[string]hxAPICall
}

type hxAPICall struct{ method, url, body string }

// hxStartUpstreams starts the four fakes with callbacks at publicURL and
// builds their adapters, whose upstream calls time out after timeout;
// everything shares clock.
func hxStartUpstreams(t testing.TB, publicURL string, clock *oauth2test.Clock, timeout time.Duration) *hxUpstreams {
	t.Helper()
	cb := func(name string) string { return publicURL + "/auth/" + name + "/callback" }
	u := &hxUpstreams{clock: clock, api: map[string]hxAPICall{}}
	u.WazoUser, u.WazoPassword = hxWazoUser, hxWazoPassword
	check := func(p provider.Provider, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		u.providers = append(u.providers, p)
	}

	u.OAuth2 = oauth2test.NewServer(oauth2test.Config{
		Clients:       []oauth2test.Client{{ID: hxClientID, Secret: hxSecret, RedirectURIs: []string{cb(hxOAuth2)}}},
		Users:         []oauth2test.User{{Subject: "hx-user-1", Name: "Robin Hx", Email: "robin@example.test"}},
		Now:           clock.Now,
		AccessTTL:     hxTTL,
		DefaultScopes: []string{"openid", "profile"},
		RequirePKCE:   true,
	})
	t.Cleanup(u.OAuth2.Close)
	check(oauth2.New(oauth2.Config{
		Name: hxOAuth2, ClientID: hxClientID, ClientSecret: hxSecret,
		AuthURL: u.OAuth2.AuthorizeURL(), TokenURL: u.OAuth2.TokenURL(), RevocationURL: u.OAuth2.RevocationURL(),
		UserInfoURL: u.OAuth2.UserInfoURL(), RedirectURL: cb(hxOAuth2), Scopes: []string{"openid", "profile"},
		Now: clock.Now, Timeout: timeout,
	}))
	u.api[hxOAuth2] = hxAPICall{method: http.MethodGet, url: u.OAuth2.UserInfoURL()}

	u.Whisk = whisktest.NewServer(whisktest.Config{
		Clients:   []whisktest.Client{{ID: hxClientID, Secret: hxSecret, RedirectURIs: []string{cb(hxWhisk)}}},
		Now:       clock.Now,
		AccessTTL: hxTTL,
	})
	t.Cleanup(u.Whisk.Close)
	check(whisk.New(whisk.Config{
		ClientID: hxClientID, ClientSecret: hxSecret, Scopes: []string{"user.profile:read"}, Offline: true,
		AuthBaseURL: u.Whisk.URL, APIBaseURL: u.Whisk.URL, RedirectURL: cb(hxWhisk),
		Now: clock.Now, Timeout: timeout,
	}))
	u.api[hxWhisk] = hxAPICall{method: http.MethodGet, url: u.Whisk.URL + whisktest.MePath}

	u.StartGG = startggtest.NewServer(startggtest.Config{
		ClientID: "4242", ClientSecret: hxSecret, RedirectURIs: []string{cb(hxStartGG)},
		Users:       []startggtest.User{{ID: 777001, Name: "Sam Hx", GamerTag: "HxFox"}},
		Now:         clock.Now,
		AccessTTL:   hxTTL,
		RequirePKCE: true,
	})
	t.Cleanup(u.StartGG.Close)
	sg, err := startgg.New(startgg.Config{
		ClientID: "4242", ClientSecret: hxSecret, RedirectURL: cb(hxStartGG),
		Scopes:      []string{startgg.ScopeIdentity},
		AuthBaseURL: u.StartGG.URL, APIBaseURL: u.StartGG.URL, Now: clock.Now, Timeout: timeout,
	})
	check(sg, err)
	u.api[hxStartGG] = hxAPICall{method: http.MethodPost, url: u.StartGG.GraphQLURL(),
		body: `{"query":"query Me { currentUser { id slug } }","operationName":"Me"}`}

	u.Wazo = wazotest.NewServer(wazotest.Config{
		Users:           []wazotest.User{{Username: hxWazoUser, Password: hxWazoPassword, Email: "alice@example.test"}},
		Now:             clock.Now,
		DefaultLifetime: hxTTL,
	})
	t.Cleanup(u.Wazo.Close)
	check(wazo.New(wazo.Config{BaseURL: u.Wazo.URL, ClientID: hxClientID, Expiration: int(hxTTL / time.Second),
		Now: clock.Now, Timeout: timeout}))
	u.api[hxWazo] = hxAPICall{method: http.MethodGet, url: u.Wazo.URL + "/users/me/tokens"}
	return u
}

// hxOptions shape one hx app instance.
type hxOptions struct {
	stack string // hxStackNetHTTP (default) or hxStackEcho
	// store is the scs store. Default: a memstore without sweeper.
	store scs.Store
	// locker is the refresh lock. Default: the session package's local one.
	locker session.Locker
	// id names the instance in the X-Hx-Instance response header.
	id string
}

// hxApp is one running hx app instance.
type hxApp struct {
	URL  string
	auth *middleware.Auth
	mgr  *session.Manager
	up   *hxUpstreams
	logs *harness.LogCapture
}

// hxNewApp starts the fakes and one hx app on a fresh loopback listener.
func hxNewApp(t testing.TB, o hxOptions) *hxApp {
	t.Helper()
	ln := hxListen(t)
	public := "http://" + ln.Addr().String()
	up := hxStartUpstreams(t, public, oauth2test.NewClock(time.Now()), hxUpstreamTimeout)
	return hxServeApp(t, ln, public, up, o)
}

func hxListen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// hxServeApp builds an hx app for publicURL over up and serves it on ln.
// Several instances may share up (one set of upstreams) and a store.
func hxServeApp(t testing.TB, ln net.Listener, publicURL string, up *hxUpstreams, o hxOptions) *hxApp {
	t.Helper()
	logs := harness.NewLogCapture()
	sm := scs.New()
	if o.store != nil {
		sm.Store = o.store
	} else {
		sm.Store = memstore.NewWithCleanupInterval(0)
	}
	sm.Cookie.Name = hxCookie
	sm.Cookie.Secure = false // DevMode: plain http on loopback
	sm.Lifetime = 8 * time.Hour
	sm.IdleTimeout = 0
	locker := o.locker
	if locker == nil {
		locker = session.NewLocalLocker()
	}
	mgr, err := session.New(session.Config{SessionManager: sm, Locker: locker, Leeway: hxLeeway, Jitter: -1,
		Now: up.clock.Now, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	// The JWT authority keeps real time: tokens are minted and checked
	// within the test's few seconds, whatever the fake clock says.
	jwt, err := jwtauth.New(jwtauth.Config{Issuer: publicURL, Audience: publicURL + "/api", Keys: []jwtauth.Key{key}, Lifetime: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	lenient := middleware.RateLimit{Failures: 100000, Window: time.Minute}
	auth, err := middleware.New(middleware.Config{
		Providers: up.providers, Sessions: mgr, PublicURL: publicURL, JWT: jwt, DevMode: true,
		Now: up.clock.Now, Logger: logs.Logger(),
		LoginRateLimit: lenient, CallbackRateLimit: lenient, PasswordRateLimit: lenient,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &hxApp{URL: publicURL, auth: auth, mgr: mgr, up: up, logs: logs}

	var h http.Handler
	switch o.stack {
	case "", hxStackNetHTTP:
		mux := http.NewServeMux()
		mux.Handle("/auth/", auth.Handler())
		mux.Handle("GET /{$}", auth.Require(http.HandlerFunc(a.home)))
		mux.Handle("GET /api/me", auth.Require(http.HandlerFunc(a.me)))
		mux.Handle("GET /api/upstream", auth.Require(http.HandlerFunc(a.upstream)))
		mux.Handle("GET /api/admin", auth.RequireScopes("admin")(http.HandlerFunc(a.admin)))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
		h = auth.Wrap(mux)
	case hxStackEcho:
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		// echoauth returns failures as *echo.HTTPError; hand Gatehouse's
		// back to it so both stacks answer alike.
		e.HTTPErrorHandler = func(err error, c echo.Context) {
			var ge *middleware.Error
			if errors.As(err, &ge) {
				auth.RenderError(c.Response(), c.Request(), ge)
				return
			}
			e.DefaultHTTPErrorHandler(err, c)
		}
		e.Use(echoauth.Sessions(auth))
		if err := echoauth.Register(e, auth); err != nil {
			t.Fatal(err)
		}
		std := func(f http.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { f(c.Response(), c.Request()); return nil }
		}
		e.GET("/", std(a.home), echoauth.Require(auth))
		e.GET("/api/me", std(a.me), echoauth.Require(auth))
		e.GET("/api/upstream", std(a.upstream), echoauth.Require(auth))
		e.GET("/api/admin", std(a.admin), echoauth.RequireScopes(auth, "admin"))
		e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
		h = e
	default:
		t.Fatalf("unknown stack %q", o.stack)
	}
	id := o.id
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id != "" {
			w.Header().Set("X-Hx-Instance", id)
		}
		inner.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		_ = auth.Close()
	})
	return a
}

// target describes the hx app as a suite target.
func (a *hxApp) target(stack string) *hxTarget {
	return &hxTarget{stack: stack, url: a.URL, provs: a.up.provs(), upstreamPath: "/api/upstream",
		clock: a.up.clock, scopesPath: "/api/admin", shortTimeout: true}
}

var hxHomePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hx home</title></head>
<body><h1>Hello {{.Subject}} at {{.Provider}}</h1>
<form method="post" action="/auth/logout"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button>Sign out</button></form>
</body></html>`))

func (a *hxApp) home(w http.ResponseWriter, r *http.Request) {
	id, _ := middleware.IdentityFrom(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = hxHomePage.Execute(w, map[string]string{"Subject": id.Subject, "Provider": id.Provider, "CSRF": a.auth.CSRFToken(r.Context())})
}

func hxWriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// me answers identity, scopes and the token's expiry and last refresh
// (never a token).
func (a *hxApp) me(w http.ResponseWriter, r *http.Request) {
	id, _ := middleware.IdentityFrom(r.Context())
	scopes, _ := middleware.ScopesFrom(r.Context())
	out := map[string]any{"provider": id.Provider, "sub": id.Subject, "name": id.Name, "scopes": scopes}
	if l, err := a.mgr.CurrentLogin(r.Context()); err == nil && l != nil {
		out["login_at"] = l.LoginAt.UTC().Format(time.RFC3339Nano)
		if !l.RefreshedAt.IsZero() {
			out["refreshed_at"] = l.RefreshedAt.UTC().Format(time.RFC3339Nano)
		}
		if l.Token != nil {
			out["expires_at"] = l.Token.Expiry.UTC().Format(time.RFC3339Nano)
		}
	}
	hxWriteJSON(w, http.StatusOK, out)
}

// upstream calls the login's provider API through Auth.Client.
func (a *hxApp) upstream(w http.ResponseWriter, r *http.Request) {
	id, _ := middleware.IdentityFrom(r.Context())
	call, ok := a.up.api[id.Provider]
	if !ok {
		hxWriteJSON(w, http.StatusNotFound, map[string]string{"error": "unknown_provider"})
		return
	}
	client, err := a.auth.Client(r.Context())
	if err != nil {
		hxWriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "no_upstream_client"})
		return
	}
	var body io.Reader
	if call.body != "" {
		body = strings.NewReader(call.body)
	}
	req, err := http.NewRequestWithContext(r.Context(), call.method, call.url, body)
	if err != nil {
		hxWriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	req.Header.Set("Accept", "application/json")
	if call.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		hxWriteJSON(w, http.StatusBadGateway, map[string]string{"error": "upstream_unavailable"})
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if !json.Valid(b) {
		b, _ = json.Marshal(string(b))
	}
	hxWriteJSON(w, http.StatusOK, map[string]any{"status": resp.StatusCode, "body": json.RawMessage(b)})
}

func (a *hxApp) admin(w http.ResponseWriter, r *http.Request) {
	hxWriteJSON(w, http.StatusOK, map[string]string{"admin": "yes"})
}

// String names the app in failure messages.
func (a *hxApp) String() string { return fmt.Sprintf("hx app at %s", a.URL) }
