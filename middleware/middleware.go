package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-auth/gatehouse/internal/telemetry"
	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// Defaults of Config.
const (
	DefaultBasePath      = "/auth"
	DefaultReturnTo      = "/"
	DefaultRevokeTimeout = 10 * time.Second
	// MaxBodyBytes caps every form or JSON body the handlers read.
	MaxBodyBytes = 64 << 10
)

// ErrConfig is wrapped by every error [New] returns for a bad Config.
var ErrConfig = errors.New("middleware: invalid config")

// ErrUpstreamHost is wrapped by the error a client returned by
// [Auth.Client] gives for a request it refuses to send: to a host that is
// not one of the provider's API hosts (provider.APIHoster,
// Config.UpstreamHosts), or over plain http to a non-loopback host.
// Nothing is sent.
var ErrUpstreamHost = errors.New("middleware: upstream host not allowed")

// ErrNotLoggedIn is returned by [Auth.Client] when the context carries no
// login. It matches session.ErrNotLoggedIn too.
var ErrNotLoggedIn = fmt.Errorf("middleware: %w", session.ErrNotLoggedIn)

// ErrNoSession is returned by [Auth.Client] when the context carries no
// session at all: the handler runs outside [Auth.Wrap] (net/http) or
// echoauth.Sessions (Echo), and outside Require and Optional. It matches
// session.ErrNoSession too.
var ErrNoSession = fmt.Errorf("middleware: %w: wrap the whole handler stack with auth.Wrap (net/http) or e.Use(echoauth.Sessions(auth)) (Echo)", session.ErrNoSession)

// Config configures an [Auth]. Fields marked Required must be set; every
// other field has the documented default.
type Config struct {
	// Providers are the upstream providers. Each is served under
	// {BasePath}/{Name()}/…; names must be unique URL path segments and not
	// one of the reserved names "login", "logout", "token", ".well-known".
	// Redirect providers (provider.RedirectProvider) get the code flow with
	// state and PKCE; password providers (provider.PasswordProvider) get an
	// HTML form and a JSON endpoint. Required.
	Providers []provider.Provider

	// Sessions stores login attempts and logins. Default:
	// session.New(session.Config{}) (in-memory store, __Host-gatehouse
	// Secure cookie; with DevMode, "gatehouse" without Secure).
	Sessions *session.Manager

	// BasePath is the absolute path the auth routes live under. Default
	// "/auth".
	BasePath string

	// PublicURL is the app's external origin, e.g. "https://app.example"
	// (scheme, host and port; no path). It is used for the same-origin
	// (Origin header) CSRF check of POST requests, to check each redirect
	// provider's callback URL (see [CallbackURL]) and to fill in the
	// callback URL of an adapter whose RedirectURL is empty (see
	// [RedirectURLSetter]; without PublicURL that is an error); nothing is ever
	// derived from Host or X-Forwarded-* headers. It must be https; plain
	// http is accepted only on a loopback host (localhost, 127.0.0.0/8,
	// [::1]) and only together with DevMode: New fails for http without
	// DevMode, and for https with DevMode. Optional, except with DevMode
	// (New fails for DevMode without PublicURL): without it only
	// Sec-Fetch-Site and the synchroniser token prove same origin, and
	// callback URLs are checked by path only and must be set.
	PublicURL string

	// DefaultReturnTo is where users land after login or logout when the
	// request named no valid return path. It must itself be valid (a local
	// path or an allowed https URL). Default "/".
	DefaultReturnTo string

	// AllowedReturnHosts lists hosts (exact match, "host" or "host:port")
	// that absolute https return URLs may point to. Default: none (local
	// paths only).
	AllowedReturnHosts []string

	// Scopes are the scopes requested from each provider, by provider name,
	// used as the base when RequireScopes asks for more. Default: the
	// adapter's own configured scopes (and, when asking for more, the
	// scopes already granted).
	Scopes map[string][]string

	// JWT enables bearer tokens for API clients: POST {BasePath}/token mints
	// one for a logged-in session, GET {BasePath}/.well-known/jwks.json
	// publishes the keys, and Require accepts "Authorization: Bearer <jwt>".
	// Optional; default nil (disabled).
	JWT *jwtauth.Authority

	// Implicit lists the names of providers that log in with the OAuth2
	// implicit grant (token in the URL fragment). Each must implement
	// provider.ImplicitProvider. The grant is deprecated (RFC 9700 §2.1.2);
	// opt in only when the upstream offers nothing better. Default: none.
	Implicit []string

	// PasswordRateLimit limits failed password logins per session, per
	// client IP and per username. Default: 5 failures per minute each.
	PasswordRateLimit RateLimit

	// CallbackRateLimit limits failed callbacks and failed implicit-grant
	// posts ({BasePath}/{provider}/implicit) (unknown, replayed or
	// expired state; missing state) per client IP and per session, so junk callbacks cannot
	// be used to hammer the session store. Default: 30 failures per minute.
	CallbackRateLimit RateLimit

	// LoginRateLimit limits login starts ({BasePath}/{provider}/login of a
	// redirect provider: each one creates a login attempt and a
	// redirect) per client IP and per session; Failures counts every start
	// here. Beyond it the start gets 429 with Retry-After before anything is
	// stored (RFC 6819 §4.4.1.12). Default: 60 starts per minute each.
	LoginRateLimit RateLimit

	// ClientIP returns the client address used for rate limiting. Default:
	// the host part of r.RemoteAddr. Set it when the app runs behind a
	// trusted proxy; Gatehouse never reads X-Forwarded-For by itself.
	ClientIP func(r *http.Request) string

	// DevMode is local development in one switch. It requires PublicURL to
	// be plain http on a loopback host (localhost, 127.0.0.0/8, [::1]):
	// New fails for DevMode without PublicURL and for DevMode with any
	// other PublicURL (an https or non-loopback URL means the app is not
	// on a developer's machine, and a cookie without Secure there would be
	// a silent downgrade). With Sessions nil, DevMode makes Gatehouse's
	// session cookie "gatehouse": host-only, HttpOnly, SameSite=Lax and
	// not Secure (no __Host- prefix, which browsers accept only on Secure
	// cookies); New logs this once at Warn. With Sessions set, the app's
	// cookie must already be so: New fails for a Secure cookie, a
	// __Host- or __Secure- name, or a Domain. Without DevMode, New fails
	// for a cookie without Secure and for an http PublicURL. Default false.
	DevMode bool

	// RevokeTimeout bounds each background upstream revocation attempt at
	// logout. A provider that is unavailable (provider.ErrUnavailable: 5xx,
	// timeout, connection error) is asked again after its Retry-After
	// (capped at one minute) or one second, at most three attempts in all
	// (RFC 7009 §2.2.1); Auth.Close cancels pending retries. The local
	// logout never waits for any of it. Default 10s.
	RevokeTimeout time.Duration

	// UpstreamTransport is the base transport of the clients returned by
	// [Auth.Client]. Default: the transport of provider.NewHTTPClient()
	// (dial, TLS and response-header timeouts).
	UpstreamTransport http.RoundTripper

	// UpstreamHosts adds, by provider name, hosts (host or host:port, as in
	// URL.Host) that the clients returned by [Auth.Client] may send the
	// user's credential to, beyond the provider's own API hosts
	// (provider.APIHoster). A request to any other host is refused before
	// anything is sent. Hosts are compared exactly, ignoring case; the
	// port is significant and there is no subdomain or suffix matching.
	// A provider with neither API hosts nor an entry here keeps an
	// unrestricted client (New logs a warning). Default: none.
	UpstreamHosts map[string][]string

	// SessionsPage serves the signed-in user's list of sessions: GET
	// {BasePath}/sessions (an HTML page marking this device, or JSON
	// {"sessions": [...]} for API clients), POST {BasePath}/sessions/end
	// (field or JSON "id": end one) and POST {BasePath}/sessions/end-others
	// (end all but this one); POSTs are CSRF-protected like logout. It
	// needs the session manager's index (session.Config.Index). Default
	// false.
	SessionsPage bool

	// RateLimitStore keeps the counters of PasswordRateLimit,
	// CallbackRateLimit and LoginRateLimit in a store every instance
	// shares (middleware/redislimit: one round trip per counted request),
	// so that several instances allow the attempts of one. While it
	// fails, each instance counts in memory and logs a warning. Default
	// nil: in memory, per process.
	RateLimitStore RateLimitStore

	// OnLogin, OnRefresh, OnLogout and OnError are audit hooks. Optional.
	// OnLogin, OnLogout and most OnError events are called synchronously
	// with the request context. OnRefresh is called exactly once per real
	// refresh, synchronously inside the session manager's shared refresh
	// (see session.Manager.Observe): on a context that keeps the values of
	// the request that started the refresh but not its cancellation, bounded
	// by session.Config.RefreshTimeout; it must not block for long. OnError
	// with Code "revoke_failed" comes from the background revocation after
	// logout, on a context detached from the logout request.
	OnLogin, OnRefresh, OnLogout, OnError func(ctx context.Context, e Event)

	// AppName is the app's name as its users know it. The built-in pages
	// show it above their titles and in the chooser's ("Sign in to
	// AppName"). Default: none.
	AppName string

	// Pages themes, translates or replaces the built-in pages: display
	// names and icons of the providers, the app's own templates (an
	// fs.FS), every user-facing text. See [Pages]. Default: the built-in
	// English pages.
	Pages Pages

	// TracerProvider receives Gatehouse's OpenTelemetry spans: one per
	// login start, callback (and implicit-grant post), password login,
	// logout, upstream code exchange, revocation and token refresh, with
	// the provider's name and the outcome ("ok" or an error code, also as
	// error.type, with an error status); never a token, code, state,
	// verifier, password, session id, subject or email. Protected requests
	// get no span of their own. Default nil: the global provider
	// (otel.GetTracerProvider), a no-op until the app installs an
	// OpenTelemetry SDK. It is passed to the session manager New creates;
	// with Sessions set, refresh spans use session.Config.TracerProvider.
	TracerProvider trace.TracerProvider

	// MeterProvider receives Gatehouse's OpenTelemetry metrics:
	// gatehouse.logins and gatehouse.failures (by provider and outcome or
	// error code), gatehouse.limiter.rejections (by limiter: login_start,
	// callback, password), gatehouse.breaker.state (per provider) and,
	// from the session manager, gatehouse.refreshes and
	// gatehouse.refresh.duration (seconds). Default nil: the global
	// provider (otel.GetMeterProvider), a no-op until the app installs an
	// OpenTelemetry SDK. Passed on like TracerProvider.
	MeterProvider metric.MeterProvider

	// Logger receives structured logs (never tokens, codes, state,
	// verifiers, passwords or session ids). Default slog.Default().
	Logger *slog.Logger

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// RateLimit configures one of the in-memory limiters: failed password
// logins (Config.PasswordRateLimit), failed callbacks
// (Config.CallbackRateLimit) or login starts (Config.LoginRateLimit).
// Limiters are in-memory and per process, hold at most 65,536 keys each
// (the oldest window is evicted first) and key "per session" only on a
// session the store knows, never on a cookie value the client made up.
type RateLimit struct {
	// Failures allowed per key within Window before requests get 429.
	// Default: 5 for PasswordRateLimit, 30 for CallbackRateLimit, 60 for
	// LoginRateLimit (which counts every start, not only failures).
	Failures int
	// Window is the fixed counting window. Default one minute.
	Window time.Duration
}

// EventType names what an [Event] reports.
type EventType string

// Event types.
const (
	EventLogin   EventType = "login"
	EventRefresh EventType = "refresh"
	EventLogout  EventType = "logout"
	EventError   EventType = "error"
)

// Event is passed to the hooks. It holds no secrets. New fields may be
// added.
type Event struct {
	Type EventType
	// Provider is the provider's name, when known.
	Provider string
	// Subject is the user's id at the provider, when known.
	Subject string
	// Code is a stable machine-readable reason for errors (for example
	// "state_not_found", "invalid_credentials").
	Code string
	// Status is the HTTP status answered for errors.
	Status int
	// Err is the underlying error, for EventError.
	Err error
	// Time is when the event happened.
	Time time.Time
}

// Auth is Gatehouse's net/http integration: the /auth/* handlers, the
// Require/Optional/RequireScopes middleware and the upstream client. It is
// safe for concurrent use. Create it with [New].
type Auth struct {
	cfg          Config
	base         string
	providers    map[string]provider.Provider
	order        []string
	implicit     map[string]bool
	sessions     *session.Manager
	log          *slog.Logger
	publicOrigin string
	allowedHosts map[string]bool
	limiter      *limiter
	cbLimiter    *limiter
	loginLimiter *limiter
	transport    http.RoundTripper
	apiHosts     map[string]map[string]bool // provider → allowed credential hosts (lower case); nil: unrestricted
	pages        *pageSet                   // templates, texts, provider display (Config.Pages)

	scopeMu   sync.RWMutex
	scopeSets map[string][]string // RequireScopes id → extra scopes

	noSession sync.Once // logs the first accessor call without a session

	revokes   sync.WaitGroup
	stop      chan struct{} // closed by Close: pending revocation retries end
	closeOnce sync.Once
	after     func(time.Duration) <-chan time.Time // timer for revocation retries (tests replace it)

	tel       *telemetry.Telemetry // spans and metrics (Config.TracerProvider, Config.MeterProvider)
	unobserve func()               // unregisters the breaker state gauge (Close)
}

var reserved = map[string]bool{"login": true, "logout": true, "token": true, ".well-known": true, "sessions": true}

// New checks cfg, fills defaults and returns an Auth. It never panics.
func New(cfg Config) (*Auth, error) {
	a := &Auth{providers: map[string]provider.Provider{}, implicit: map[string]bool{}, allowedHosts: map[string]bool{}, scopeSets: map[string][]string{},
		stop: make(chan struct{}), after: time.After}
	if len(cfg.Providers) == 0 {
		return nil, fmt.Errorf("%w: at least one provider is required", ErrConfig)
	}
	for i, p := range cfg.Providers {
		if p == nil || isNilPointer(p) {
			return nil, fmt.Errorf("%w: Providers[%d] is nil (did its constructor return an error?)", ErrConfig, i)
		}
		name := p.Name()
		if name == "" || reserved[name] || strings.ContainsAny(name, "/?#%\\ \t\r\n") || url.PathEscape(name) != name {
			return nil, fmt.Errorf("%w: provider name %q must be a URL path segment and not reserved", ErrConfig, name)
		}
		if _, dup := a.providers[name]; dup {
			return nil, fmt.Errorf("%w: provider name %q used twice", ErrConfig, name)
		}
		_, redirect := p.(provider.RedirectProvider)
		_, password := p.(provider.PasswordProvider)
		if !redirect && !password {
			return nil, fmt.Errorf("%w: provider %q is neither a RedirectProvider nor a PasswordProvider", ErrConfig, name)
		}
		a.providers[name] = p
		a.order = append(a.order, name)
	}
	for _, name := range cfg.Implicit {
		p, ok := a.providers[name]
		if !ok {
			return nil, fmt.Errorf("%w: Implicit names unknown provider %q", ErrConfig, name)
		}
		if _, ok := p.(provider.ImplicitProvider); !ok {
			return nil, fmt.Errorf("%w: provider %q does not implement provider.ImplicitProvider", ErrConfig, name)
		}
		a.implicit[name] = true
	}

	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	cfg.BasePath = strings.TrimRight(cfg.BasePath, "/")
	if !strings.HasPrefix(cfg.BasePath, "/") || strings.ContainsAny(cfg.BasePath, "?#\\ ") || cfg.BasePath == "" {
		return nil, fmt.Errorf("%w: BasePath %q must be an absolute path", ErrConfig, cfg.BasePath)
	}
	a.base = cfg.BasePath

	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a.log = cfg.Logger
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RevokeTimeout <= 0 {
		cfg.RevokeTimeout = DefaultRevokeTimeout
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteIP
	}
	if cfg.PasswordRateLimit.Failures <= 0 {
		cfg.PasswordRateLimit.Failures = 5
	}
	if cfg.PasswordRateLimit.Window <= 0 {
		cfg.PasswordRateLimit.Window = time.Minute
	}
	a.limiter = newLimiter(cfg.PasswordRateLimit.Failures, cfg.PasswordRateLimit.Window)
	if cfg.CallbackRateLimit.Failures <= 0 {
		cfg.CallbackRateLimit.Failures = 30
	}
	if cfg.CallbackRateLimit.Window <= 0 {
		cfg.CallbackRateLimit.Window = time.Minute
	}
	a.cbLimiter = newLimiter(cfg.CallbackRateLimit.Failures, cfg.CallbackRateLimit.Window)
	if cfg.LoginRateLimit.Failures <= 0 {
		cfg.LoginRateLimit.Failures = 60
	}
	if cfg.LoginRateLimit.Window <= 0 {
		cfg.LoginRateLimit.Window = time.Minute
	}
	a.loginLimiter = newLimiter(cfg.LoginRateLimit.Failures, cfg.LoginRateLimit.Window)

	for _, h := range cfg.AllowedReturnHosts {
		if h == "" || strings.ContainsAny(h, "/\\@?# ") {
			return nil, fmt.Errorf("%w: AllowedReturnHosts entry %q must be a bare host", ErrConfig, h)
		}
		a.allowedHosts[h] = true
	}

	origin, err := checkPublicURL(cfg.PublicURL, cfg.DevMode)
	if err != nil {
		return nil, err
	}
	a.publicOrigin = origin
	if err := a.checkRedirectURLs(); err != nil {
		return nil, err
	}

	ownSessions := cfg.Sessions == nil
	if ownSessions {
		m, err := session.New(session.Config{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
		if err != nil {
			return nil, fmt.Errorf("%w: default sessions: %v", ErrConfig, err)
		}
		cfg.Sessions = m
	}
	a.sessions = cfg.Sessions
	sm := a.sessions.Sessions()
	if sm == nil {
		return nil, fmt.Errorf("%w: Sessions has no scs manager", ErrConfig)
	}
	if err := checkCookie(sm, cfg.DevMode, ownSessions, cfg.PublicURL, a.log); err != nil {
		if ownSessions {
			_ = cfg.Sessions.Close()
		}
		return nil, err
	}

	if cfg.DefaultReturnTo == "" {
		cfg.DefaultReturnTo = DefaultReturnTo
	}
	if cfg.SessionsPage && !a.sessions.HasIndex() {
		return nil, fmt.Errorf("%w: SessionsPage needs a session index (session.Config.Index)", ErrConfig)
	}
	for _, l := range []*limiter{a.limiter, a.cbLimiter, a.loginLimiter} {
		l.shared, l.log = cfg.RateLimitStore, cfg.Logger
	}
	a.limiter.name, a.cbLimiter.name, a.loginLimiter.name = "password", "callback", "login"
	a.cfg = cfg // validReturnTo reads a.cfg and a.allowedHosts
	if v, ok := a.validReturnTo(cfg.DefaultReturnTo); !ok || v != cfg.DefaultReturnTo {
		return nil, fmt.Errorf("%w: DefaultReturnTo %q is not a valid return path", ErrConfig, cfg.DefaultReturnTo)
	}

	if err := a.initAPIHosts(cfg.UpstreamHosts); err != nil {
		return nil, err
	}
	if err := a.initPages(cfg); err != nil {
		if ownSessions {
			_ = cfg.Sessions.Close()
		}
		return nil, err
	}
	a.transport = cfg.UpstreamTransport
	if a.transport == nil {
		a.transport = provider.NewHTTPClient().Transport
	}
	if cfg.Scopes != nil {
		cp := make(map[string][]string, len(cfg.Scopes))
		for k, v := range cfg.Scopes {
			cp[k] = slices.Clone(v)
		}
		a.cfg.Scopes = cp
	}
	a.cfg.Implicit = slices.Clone(cfg.Implicit)
	a.cfg.AllowedReturnHosts = slices.Clone(cfg.AllowedReturnHosts)
	if cfg.UpstreamHosts != nil {
		cp := make(map[string][]string, len(cfg.UpstreamHosts))
		for k, v := range cfg.UpstreamHosts {
			cp[k] = slices.Clone(v)
		}
		a.cfg.UpstreamHosts = cp
	}
	a.cfg.Providers = make([]provider.Provider, len(a.order)) // with the copies that got a RedirectURL
	for i, name := range a.order {
		a.cfg.Providers[i] = a.providers[name]
	}
	a.tel = telemetry.New(cfg.TracerProvider, cfg.MeterProvider)
	a.unobserve = a.tel.ObserveBreakers(a.order, a.breakerStates)
	// OnRefresh fires once per real refresh (the session package reports
	// each token change once, from inside the shared refresh), not once per
	// request that happens to see the new token.
	a.sessions.Observe(func(ctx context.Context, _ string, _, fresh *provider.Token) {
		if fresh == nil {
			return // cleared after invalid_grant: reported as an error by the request
		}
		l, err := a.sessions.CurrentLogin(ctx)
		if err != nil || l == nil {
			return
		}
		if _, ours := a.providers[l.Provider]; !ours {
			return
		}
		a.logInfo(ctx, "gatehouse: token refreshed", attrEvent("refresh"), attrProvider(l.Provider))
		a.emit(ctx, Event{Type: EventRefresh, Provider: l.Provider, Subject: l.Identity.Subject})
	})
	return a, nil
}

// initAPIHosts builds the per-provider set of hosts Client may send the
// user's credential to: the provider's APIHosts plus extra[name].
func (a *Auth) initAPIHosts(extra map[string][]string) error {
	for name := range extra {
		if _, ok := a.providers[name]; !ok {
			return fmt.Errorf("%w: UpstreamHosts names unknown provider %q", ErrConfig, name)
		}
	}
	a.apiHosts = map[string]map[string]bool{}
	for _, name := range a.order {
		var hosts []string
		if h, ok := a.providers[name].(provider.APIHoster); ok {
			hosts = append(hosts, h.APIHosts()...)
		}
		hosts = append(hosts, extra[name]...)
		if len(hosts) == 0 {
			a.log.LogAttrs(context.Background(), slog.LevelWarn,
				"gatehouse: provider "+name+" declares no API hosts: Client(ctx) will send the user's credential to any host",
				attrProvider(name))
			continue
		}
		set := map[string]bool{}
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, "/\\@?#% \t\r\n") {
				return fmt.Errorf("%w: API host %q of provider %q must be a bare host or host:port", ErrConfig, h, name)
			}
			set[strings.ToLower(h)] = true
		}
		a.apiHosts[name] = set
	}
	return nil
}

// Sessions returns the session manager Auth uses.
func (a *Auth) Sessions() *session.Manager { return a.sessions }

// BasePath returns the absolute path the auth routes are served under.
func (a *Auth) BasePath() string { return a.base }

// Close cancels the pending retries of background upstream revocations
// started by logouts and waits for the attempts in flight to finish (each
// is bounded by Config.RevokeTimeout). Call it at shutdown.
func (a *Auth) Close() error {
	a.closeOnce.Do(func() {
		close(a.stop)
		if a.unobserve != nil {
			a.unobserve()
		}
	})
	a.revokes.Wait()
	return nil
}

// LoginURL is the path that starts a login: the chooser page when provider
// is empty, else that provider's login. returnTo is validated when the link
// is followed.
func (a *Auth) LoginURL(providerName, returnTo string) string {
	p := a.base + "/login"
	if providerName != "" {
		p = a.base + "/" + url.PathEscape(providerName) + "/login"
	}
	if returnTo != "" {
		p += "?return_to=" + url.QueryEscape(returnTo)
	}
	return p
}

// Wrap loads and saves the session around h (the session manager's
// LoadAndSave, which fails closed with 503 when the store is down). Wrap
// the whole stack once:
//
//	http.ListenAndServe(addr, auth.Wrap(mux))
//
// Handler, Require, RequireAPI, Optional and RequireScopes detect a Wrap
// around them and otherwise load the session themselves: behind them,
// forgetting Wrap costs an extra store read, never correctness. A handler
// behind none of them (a public page) has a session only inside Wrap:
// without it [Auth.CSRFToken] returns "" and [Auth.Client] returns
// [ErrNoSession] (neither panics), and the first such call logs an error
// that names Wrap. Do not wrap with the scs manager's own LoadAndSave in
// addition.
func (a *Auth) Wrap(h http.Handler) http.Handler {
	return a.sessions.LoadAndSave(h)
}

// ensureLoaded runs h inside Wrap unless a Wrap of this Auth (of its
// session manager) is already around the request.
func (a *Auth) ensureLoaded(h http.Handler) http.Handler {
	wrapped := a.Wrap(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.sessions.Loaded(r.Context()) {
			h.ServeHTTP(w, r)
			return
		}
		wrapped.ServeHTTP(w, r)
	})
}

// hasSession reports whether ctx carries a session of a's manager.
// Without one it logs, once per Auth, which call needed it and the fix.
func (a *Auth) hasSession(ctx context.Context, what string) bool {
	if a.sessions.Loaded(ctx) || scsHasSession(a.sessions.Sessions(), ctx) {
		return true
	}
	a.noSession.Do(func() {
		a.log.LogAttrs(ctx, slog.LevelError, "gatehouse: "+what+" called on a request without a session: wrap the whole handler stack with auth.Wrap (net/http) or e.Use(echoauth.Sessions(auth)) (Echo)",
			slog.String("event", "no_session"))
	})
	return false
}

// scsHasSession reports whether ctx carries a session loaded by sm (scs
// panics on a missing one; that panic is what this turns into false).
func scsHasSession(sm *scs.SessionManager, ctx context.Context) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_ = sm.Status(ctx)
	return true
}

func (a *Auth) now() time.Time { return a.cfg.Now() }

func (a *Auth) emit(ctx context.Context, e Event) {
	switch e.Type { // the span and metrics of the operation in ctx
	case EventLogin:
		telemetry.Succeeded(ctx)
	case EventError:
		a.tel.Failure(ctx, a.metricProvider(e.Provider), e.Code)
	}
	if e.Time.IsZero() {
		e.Time = a.now()
	}
	var hook func(context.Context, Event)
	switch e.Type {
	case EventLogin:
		hook = a.cfg.OnLogin
	case EventRefresh:
		hook = a.cfg.OnRefresh
	case EventLogout:
		hook = a.cfg.OnLogout
	case EventError:
		hook = a.cfg.OnError
	}
	if hook != nil {
		hook(ctx, e)
	}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isNilPointer reports whether v is a typed nil pointer, such as the
// *oauth2.Adapter an adapter's constructor returns with its error.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
