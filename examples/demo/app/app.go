// Package app is the Gatehouse demo as a library: [New] builds the whole
// demo (fake upstreams of every style, one JWT authority, the protected app)
// as an http.Handler, and [Start] serves it on a loopback address. The
// command in examples/demo runs it; tests (this package's and the e2e
// suite's) start it in-process on a free port:
//
//	srv, err := app.Start("127.0.0.1:0", app.Config{})
//	if err != nil { ... }
//	defer srv.Close()
//	resp, err := http.Get(srv.URL + "/auth/login")
//
// Everything runs in one process on 127.0.0.1 and nothing is configured:
//
//   - oauth2: a generic OAuth2 server (oauth2test) with userinfo and RFC 7009
//     revocation;
//   - whisk: a fake Whisk (whisktest), and whisk-implicit, the same fake
//     through the opt-in implicit grant;
//   - startgg: a fake start.gg (startggtest), identity over GraphQL;
//   - wazo: a fake wazo-auth (wazotest) with a username/password form; the
//     accounts are [Demo.WazoUsers];
//   - oidc: a fake OpenID Provider (oidctest) with a consent page where
//     you can Allow or Deny, ID tokens verified by adapters/oidc, and
//     RP-initiated logout back to the demo.
//
// Access tokens live [DefaultAccessTTL] (45 s) and are refreshed
// [DefaultLeeway] (10 s) before they expire, so a refresh shows on the home
// page within a minute. The app runs in development mode: plain http on a
// loopback host, session cookie without Secure.
package app

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/examples/internal/upstreams"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// Defaults of Config.
const (
	DefaultAccessTTL = 45 * time.Second
	DefaultLeeway    = 10 * time.Second
)

// Provider names of the demo (route names: /auth/{name}/login).
const (
	OAuth2        = upstreams.OAuth2
	Whisk         = upstreams.Whisk
	WhiskImplicit = upstreams.WhiskImplicit
	StartGG       = upstreams.StartGG
	Wazo          = upstreams.Wazo
	// OIDC is the OpenID Connect provider (adapters/oidc on oidctest).
	OIDC = "oidc"
)

// Config configures the demo.
type Config struct {
	// PublicURL is the demo's base URL as the browser sees it: http on a
	// loopback host, with the port, e.g. "http://127.0.0.1:8080". Required
	// by New; Start derives it from the listener.
	PublicURL string
	// AccessTTL is the upstream access-token lifetime of every fake.
	// Default DefaultAccessTTL.
	AccessTTL time.Duration
	// Leeway is how long before expiry a token is refreshed. Default
	// DefaultLeeway.
	Leeway time.Duration
	// Logger receives the demo's and Gatehouse's logs. Default
	// slog.Default().
	Logger *slog.Logger
}

// Credentials are a demo account of the fake Wazo.
type Credentials struct {
	Username, Password string
}

// Demo is the assembled demo. It is an http.Handler. Close it when done.
type Demo struct {
	// Auth is the Gatehouse instance; Sessions gives its session manager.
	Auth *middleware.Auth
	// JWT is the authority behind POST /auth/token.
	JWT *jwtauth.Authority
	// Upstreams are the providers and the fakes behind them (Fakes gives
	// each fake's counters and failure injection to tests).
	Upstreams *upstreams.Set
	// WazoUsers are the accounts of the fake Wazo (demo passwords).
	WazoUsers []Credentials
	// OP is the fake OpenID Provider behind provider "oidc".
	OP *oidctest.Server

	publicURL string
	handler   http.Handler
	log       *slog.Logger
	pages     *template.Template
	stop      func()
	closeOnce sync.Once
	metrics   *metrics // OpenTelemetry SDK and Prometheus exporter (GET /metrics)
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New builds the demo: it starts the fakes (on random 127.0.0.1 ports),
// the session manager, the JWT authority and Gatehouse. It never panics.
func New(cfg Config) (*Demo, error) {
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("demo: PublicURL %q must be http://127.0.0.1:port", cfg.PublicURL)
	}
	public := strings.TrimRight(cfg.PublicURL, "/")

	met, err := newMetrics()
	if err != nil {
		return nil, err
	}
	sessions, _, err := upstreams.Sessions(public, cfg.Leeway, cfg.Logger, func(c *session.Config) { c.MeterProvider = met.provider })
	if err != nil {
		met.close()
		return nil, err
	}
	set, err := upstreams.AllFakes(upstreams.Options{PublicURL: public, AccessTTL: cfg.AccessTTL, Logger: cfg.Logger})
	if err != nil {
		_ = sessions.Close()
		met.close()
		return nil, err
	}
	op, err := addOIDC(set, public, cfg)
	if err != nil {
		set.Close()
		_ = sessions.Close()
		met.close()
		return nil, err
	}
	d := &Demo{Upstreams: set, publicURL: public, log: cfg.Logger, OP: op, metrics: met}
	d.stop = func() { set.Close(); op.Close(); _ = sessions.Close(); met.close() }
	for _, wu := range set.WazoUsers {
		d.WazoUsers = append(d.WazoUsers, Credentials{Username: wu.Username, Password: wu.Password})
	}
	if d.JWT, err = upstreams.JWT(public); err != nil {
		d.stop()
		return nil, err
	}
	d.Auth, err = middleware.New(middleware.Config{
		Providers: set.Providers(),
		Implicit:  set.Implicit(),
		Sessions:  sessions,
		PublicURL: public,
		JWT:       d.JWT,
		DevMode:   true,
		Logger:    cfg.Logger,
		// The names people see on Gatehouse's own pages (the error pages,
		// the logout confirmation); the demo draws its own sign-in page.
		AppName: "Gatehouse demo",
		Pages:   middleware.Pages{Display: displayNames(set.Providers())},
		// Gatehouse's metrics go to the demo's SDK (GET /metrics); spans
		// to the global provider, a no-op here.
		MeterProvider: met.provider,
		OnRefresh: func(ctx context.Context, e middleware.Event) {
			cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "demo: token refreshed", slog.String("provider", e.Provider))
		},
	})
	if err != nil {
		d.stop()
		return nil, err
	}
	if d.pages, err = template.New("demo").Funcs(funcs).ParseFS(templateFS, "templates/*.html"); err != nil {
		d.stop()
		return nil, err
	}
	d.handler = d.routes()
	return d, nil
}

// ServeHTTP implements http.Handler.
func (d *Demo) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.handler.ServeHTTP(w, r) }

// PublicURL returns the base URL the demo was built for.
func (d *Demo) PublicURL() string { return d.publicURL }

// Close waits for logout revocations, then stops the fakes and the session
// store. It may be called more than once.
func (d *Demo) Close() error {
	d.closeOnce.Do(func() {
		_ = d.Auth.Close()
		d.stop()
	})
	return nil
}

func (d *Demo) routes() http.Handler {
	a := d.Auth
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHeaders(http.FileServerFS(static))))
	// The demo's own login page replaces Gatehouse's plain chooser; every
	// other /auth/ route is Gatehouse's.
	mux.HandleFunc("GET /auth/login", d.login)
	mux.Handle("/auth/", a.Handler())
	mux.Handle("GET /{$}", a.Require(http.HandlerFunc(d.home)))
	mux.Handle("GET /api/me", a.Require(http.HandlerFunc(d.me)))
	mux.Handle("GET /api/upstream", a.Require(http.HandlerFunc(d.upstream)))
	// Prometheus scrapes Gatehouse's OpenTelemetry metrics here. A real
	// app serves them on an internal port, not to the public.
	mux.Handle("GET /metrics", d.metrics.handler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return a.Wrap(mux)
}

// csp is the policy of the demo's pages: nothing inline, scripts and styles
// from our origin only, forms may only post to our origin.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
}

func staticHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

func (d *Demo) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	var b strings.Builder
	if err := d.pages.ExecuteTemplate(&b, name, data); err != nil {
		d.log.LogAttrs(r.Context(), slog.LevelError, "demo: render", slog.String("template", name), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	pageHeaders(w)
	_, _ = w.Write([]byte(b.String()))
}

// providerInfo is one entry of the login page.
type providerInfo struct {
	Name, Title, Style, Note, LoginURL, Action string
	Password                                   bool
}

func (d *Demo) login(w http.ResponseWriter, r *http.Request) {
	a := d.Auth
	ret, ok := a.ValidReturnTo(r.URL.Query().Get("return_to"))
	if !ok {
		ret = "/"
	}
	var list []providerInfo
	for _, u := range d.Upstreams.Upstreams {
		name := u.Provider.Name()
		p := providerInfo{Name: name, Style: u.Style, LoginURL: a.LoginURL(name, ret)}
		switch {
		case name == WhiskImplicit:
			p.Title, p.Note = "Whisk (implicit grant)", "Opt-in only: the token comes back in the URL fragment and cannot be refreshed, so this login ends when the token expires."
		case u.Style == upstreams.Whisk:
			p.Title, p.Note = "Whisk", "Authorization code with PKCE, refresh with offline_access."
		case u.Style == upstreams.StartGG:
			p.Title, p.Note = "start.gg", "JSON token requests, identity from the GraphQL currentUser query."
		case u.Style == OIDC:
			p.Title, p.Note = "OpenID Connect", "Discovery, a nonce and a verified ID token; the provider asks for consent (try Deny), and signing out here signs you out there too."
		case u.Style == upstreams.Wazo:
			p.Title, p.Note, p.Password = "Wazo", "No redirect: Gatehouse posts your username and password to wazo-auth once and keeps only the tokens.", true
			p.Action = a.BasePath() + "/" + name + "/login"
		default:
			p.Title, p.Note = "Generic OAuth2", "RFC 6749 authorization code with PKCE, userinfo and RFC 7009 revocation."
		}
		list = append(list, p)
	}
	loggedIn := false
	if l, err := a.Sessions().CurrentLogin(r.Context()); err == nil && l != nil {
		loggedIn = true
	}
	d.render(w, r, "login.html", map[string]any{
		"Providers": list, "ReturnTo": ret, "CSRF": a.CSRFToken(r.Context()),
		"WazoUsers": d.WazoUsers, "LoggedIn": loggedIn,
		// A one-time notice after sign-out, an expired session or a login
		// the provider ended (fixed texts, never request text).
		"Notice": a.Notice(r),
	})
}

// status is what /api/me answers and the home page shows: no token values.
type status struct {
	Provider    string         `json:"provider"`
	Style       string         `json:"style"`
	Subject     string         `json:"sub"`
	Name        string         `json:"name,omitempty"`
	Email       string         `json:"email,omitempty"`
	Claims      map[string]any `json:"claims,omitempty"`
	Scopes      []string       `json:"scopes"`
	Via         string         `json:"via"`
	LoginAt     time.Time      `json:"login_at"`
	ExpiresAt   *time.Time     `json:"token_expires_at,omitempty"`
	RefreshedAt *time.Time     `json:"token_refreshed_at,omitempty"`
	CanRefresh  bool           `json:"can_refresh"`
}

func (d *Demo) status(r *http.Request) (*status, bool) {
	id, ok := middleware.IdentityFrom(r.Context())
	if !ok {
		return nil, false
	}
	scopes, _ := middleware.ScopesFrom(r.Context())
	if scopes == nil {
		scopes = []string{}
	}
	st := &status{Provider: id.Provider, Subject: id.Subject, Name: id.Name, Email: id.Email, Claims: id.Raw, Scopes: scopes, Via: "session cookie"}
	if u, ok := d.Upstreams.Lookup(id.Provider); ok {
		st.Style = u.Style
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ") {
		st.Via = "bearer JWT"
	}
	// The login Require obtained (refreshed first when it was due): no
	// second session read or copy.
	if l, ok := middleware.LoginFrom(r.Context()); ok {
		st.LoginAt = l.LoginAt.UTC()
		if l.Token != nil {
			if !l.Token.Expiry.IsZero() {
				t := l.Token.Expiry.UTC()
				st.ExpiresAt = &t
			}
			st.CanRefresh = l.Token.RefreshToken != ""
		}
		if !l.RefreshedAt.IsZero() {
			t := l.RefreshedAt.UTC()
			st.RefreshedAt = &t
		}
	}
	return st, true
}

func (d *Demo) home(w http.ResponseWriter, r *http.Request) {
	st, ok := d.status(r)
	if !ok {
		http.Redirect(w, r, d.Auth.LoginURL("", "/"), http.StatusFound)
		return
	}
	api := upstreams.APICall{}
	if u, ok := d.Upstreams.Lookup(st.Provider); ok {
		api = u.API
	}
	d.render(w, r, "home.html", map[string]any{
		"S": st, "API": api, "CSRF": d.Auth.CSRFToken(r.Context()),
		"MeURL": d.publicURL + "/api/me", "Now": time.Now().UTC(),
		"Logout": d.Auth.BasePath() + "/logout", "TokenURL": d.Auth.BasePath() + "/token",
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// me answers who is calling: identity, scopes, token expiry and last
// refresh, never a token.
func (d *Demo) me(w http.ResponseWriter, r *http.Request) {
	st, ok := d.status(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// upstream calls the provider's API as the user through Auth.Client and
// returns the reply.
func (d *Demo) upstream(w http.ResponseWriter, r *http.Request) {
	id, _ := middleware.IdentityFrom(r.Context())
	u, ok := d.Upstreams.Lookup(id.Provider)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown_provider"})
		return
	}
	client, err := d.Auth.Client(r.Context())
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, middleware.ErrNotLoggedIn) {
			code = http.StatusUnauthorized
		}
		writeJSON(w, code, map[string]string{"error": "no_upstream_client"})
		return
	}
	reply, err := upstreams.Call(r.Context(), client, u.API)
	if err != nil {
		d.log.LogAttrs(r.Context(), slog.LevelWarn, "demo: upstream call failed", slog.String("provider", id.Provider), slog.String("error", err.Error()))
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "upstream_unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

var funcs = template.FuncMap{
	"styleTitle": func(s string) string {
		return map[string]string{OAuth2: "generic OAuth2", Whisk: "Whisk", StartGG: "start.gg", Wazo: "Wazo", OIDC: "OpenID Connect"}[s]
	},
	"clock": func(t any) string {
		if tt, ok := timeOf(t); ok {
			return tt.Format("15:04:05 UTC")
		}
		return ""
	},
	"iso": func(t any) string {
		if tt, ok := timeOf(t); ok {
			return tt.Format(time.RFC3339)
		}
		return ""
	},
	"until": func(t any, now time.Time) string {
		tt, ok := timeOf(t)
		if !ok {
			return ""
		}
		s := int(tt.Sub(now).Round(time.Second) / time.Second)
		if s < 0 {
			return fmt.Sprintf("expired %d s ago", -s)
		}
		return fmt.Sprintf("in %d s", s)
	},
}

func timeOf(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), !t.IsZero()
	case *time.Time:
		if t == nil {
			return time.Time{}, false
		}
		return t.UTC(), !t.IsZero()
	}
	return time.Time{}, false
}

// Server is the demo served on a loopback listener.
type Server struct {
	*Demo
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string

	srv *upstreams.Server
}

// Start listens on addr (a loopback address such as "127.0.0.1:8080", or
// "127.0.0.1:0" for a free port), builds the demo for that address with cfg
// (cfg.PublicURL is set from the listener) and serves it in the background.
// Close stops it.
func Start(addr string, cfg Config) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("demo: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("demo: address %q must be on a loopback host (the demo runs plain http)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	d, err := New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &Server{Demo: d, URL: cfg.PublicURL, srv: upstreams.Serve(ln, d, d.log, d.Close)}, nil
}

// Close shuts the HTTP server down (waiting up to 5 s for requests in
// flight), then closes the demo. It may be called more than once.
func (s *Server) Close() error { return s.srv.Close() }

// addOIDC starts the fake OpenID Provider (with its consent page) and adds
// provider "oidc" on it to set.
func addOIDC(set *upstreams.Set, public string, cfg Config) (*oidctest.Server, error) {
	const client, secret = "gatehouse-demo", "demo-client-secret"
	op := oidctest.NewServer(oidctest.Config{
		Clients: []oidctest.Client{{ID: client, Secret: secret, RedirectURIs: []string{public + "/auth/" + OIDC + "/callback"},
			PostLogoutRedirectURIs: []string{public + "/auth/" + OIDC + "/logged-out"}}},
		Users:        []oidctest.User{{Subject: "grace", Name: "Grace Hopper", Email: "grace@example.test", EmailVerified: true}},
		Consent:      true,
		IssParameter: true,
		AccessTTL:    cfg.AccessTTL,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rp, err := oidc.New(ctx, oidc.Config{
		Name: OIDC, Issuer: op.Issuer, ClientID: client, ClientSecret: secret,
		RedirectURL:           public + "/auth/" + OIDC + "/callback",
		PostLogoutRedirectURL: public + "/auth/" + OIDC + "/logged-out",
		Scopes:                []string{"openid", "profile", "email", "offline_access"},
		Logger:                cfg.Logger,
	})
	if err != nil {
		op.Close()
		return nil, fmt.Errorf("demo: oidc: %w", err)
	}
	set.Upstreams = append(set.Upstreams, upstreams.Upstream{Provider: rp, Style: OIDC, Fake: true,
		API: upstreams.APICall{Method: http.MethodGet, URL: op.Issuer + "/userinfo"}})
	return op, nil
}

// displayNames names the demo's providers for people on Gatehouse's pages.
func displayNames(ps []provider.Provider) map[string]middleware.ProviderDisplay {
	names := map[string]string{OAuth2: "Generic OAuth2", Whisk: "Whisk", WhiskImplicit: "Whisk (implicit grant)",
		StartGG: "start.gg", Wazo: "Wazo", OIDC: "OpenID Connect"}
	out := map[string]middleware.ProviderDisplay{}
	for _, p := range ps {
		n := names[p.Name()]
		if n == "" {
			continue
		}
		out[p.Name()] = middleware.ProviderDisplay{Name: n}
	}
	return out
}
