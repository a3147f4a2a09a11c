package middleware

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/middleware/jwtauth"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// ctxKey is the unexported context key type; each value has its own
// pointer key so keys never collide with other packages'.
type ctxKey struct{ name string }

func (k *ctxKey) String() string { return "gatehouse context value " + k.name }

var authKey = &ctxKey{"auth"}

// authInfo is what Require, Optional and WithIdentity put into the
// context, as one value (one allocation, one lookup per accessor).
type authInfo struct {
	identity provider.Identity // a copy: LoginFrom's login may be changed by the handler
	login    *session.Login    // nil from WithIdentity
	scopes   []string          // the JWT's, or login.Token's; ScopesFrom hands out copies
	method   AuthMethod        // cookie or bearer; "" from WithIdentity
}

func authFrom(ctx context.Context) *authInfo {
	ai, _ := ctx.Value(authKey).(*authInfo)
	return ai
}

// IdentityFrom returns the identity Require or Optional put into ctx, and
// whether there was one. The returned value is a copy.
func IdentityFrom(ctx context.Context) (*provider.Identity, bool) {
	ai := authFrom(ctx)
	if ai == nil {
		return nil, false
	}
	cp := ai.identity
	return &cp, true
}

// LoginFrom returns the session login behind the request (for cookie and
// bearer requests alike). It carries the upstream token set: keep it
// server-side.
func LoginFrom(ctx context.Context) (*session.Login, bool) {
	ai := authFrom(ctx)
	if ai == nil || ai.login == nil {
		return nil, false
	}
	return ai.login, true
}

// ScopesFrom returns the scopes granted to the request: the upstream
// token's granted scopes for cookie sessions, the JWT's "scope" claim for
// bearer requests.
func ScopesFrom(ctx context.Context) ([]string, bool) {
	ai := authFrom(ctx)
	if ai == nil {
		return nil, false
	}
	return slices.Clone(ai.scopes), true
}

// WithIdentity returns ctx carrying id and scopes as IdentityFrom and
// ScopesFrom read them, for tests of handlers behind Require (see package
// authtest). It does not create a session.
func WithIdentity(ctx context.Context, id provider.Identity, scopes ...string) context.Context {
	return context.WithValue(ctx, authKey, &authInfo{identity: id, scopes: slices.Clone(scopes)})
}

// Sentinel outcomes of authenticate.
var (
	errAnonymous     = errors.New("middleware: not logged in")
	errInvalidBearer = errors.New("middleware: invalid bearer token")
)

// authenticate resolves the request's login: a bearer JWT (when Config.JWT
// is set and the request carries "Authorization: Bearer"), else the cookie
// session. On success it returns the request with identity, login and
// scopes in its context.
func (a *Auth) authenticate(r *http.Request) (*http.Request, error) {
	ctx := r.Context()
	var claims *jwtauth.Claims
	if a.cfg.JWT != nil {
		if authz := r.Header.Get("Authorization"); len(authz) > 7 && strings.EqualFold(authz[:7], "bearer ") {
			c, err := a.cfg.JWT.Verify(authz)
			if err != nil {
				return nil, errInvalidBearer
			}
			sctx, err := a.sessions.LoadByLoginID(ctx, c.SessionID)
			if err != nil {
				if errors.Is(err, session.ErrNotLoggedIn) || errors.Is(err, session.ErrReauthRequired) {
					return nil, errInvalidBearer
				}
				return nil, err
			}
			ctx, claims = sctx, c
		}
	}
	// One session read and one copy: the login with a usable token.
	login, err := a.sessions.FreshLogin(ctx, a.providerNamed)
	if err != nil {
		switch {
		case errors.Is(err, session.ErrNotLoggedIn):
			err = errAnonymous
		case errors.Is(err, session.ErrReauthRequired) && login != nil:
			a.emit(ctx, Event{Type: EventError, Provider: login.Provider, Subject: login.Identity.Subject, Code: "reauth_required", Err: err})
		}
		if claims != nil && (err == errAnonymous || errors.Is(err, session.ErrReauthRequired)) {
			return nil, errInvalidBearer
		}
		return nil, err
	}
	method, scopes := AuthMethodCookie, login.Token.Scopes // login is this request's own copy
	if claims != nil {
		if login.ID != claims.SessionID || login.Identity.Subject != claims.Subject || login.Provider != claims.Provider {
			return nil, errInvalidBearer
		}
		method, scopes = AuthMethodBearer, provider.SplitScopes(claims.Scope)
	}
	return r.WithContext(&authCtx{Context: ctx, ai: authInfo{identity: login.Identity, login: login, scopes: scopes, method: method}}), nil
}

// providerNamed is the configured provider called name, nil when none.
func (a *Auth) providerNamed(name string) provider.Provider { return a.providers[name] }

// authCtx is context.WithValue(ctx, authKey, &ai) in one allocation (it
// runs on every authenticated request).
type authCtx struct {
	context.Context
	ai authInfo
}

// Value implements context.Context.
func (c *authCtx) Value(k any) any {
	if k == any(authKey) {
		return &c.ai
	}
	return c.Context.Value(k)
}

// Require lets only logged-in requests through to next: a cookie session,
// or (with Config.JWT) a bearer JWT whose session still exists. Browsers
// and API clients are told apart by Accept, Authorization and
// X-Requested-With (an Accept of "*/*", as curl sends, counts as a
// browser: use [Auth.RequireAPI] for API routes). Outcomes:
//
//   - not logged in: browsers get 302 to the login (the single redirect
//     provider's, else the chooser) with return_to; API clients get 401
//     JSON with WWW-Authenticate: Bearer;
//   - bad or revoked bearer JWT: 401 with error="invalid_token";
//   - the upstream refresh failed with invalid_grant: the login is ended,
//     then as not logged in;
//   - upstream outage after the token expired: 503 with Retry-After (the
//     session is kept; while the token is valid requests are served);
//   - session store failure: 503, never an anonymous pass-through.
//
// The upstream token is refreshed when it expires within the session
// manager's leeway, once per session however many requests arrive.
func (a *Auth) Require(next http.Handler) http.Handler {
	return a.ensureLoaded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2, err := a.authenticate(r)
		if err != nil {
			a.deny(w, r, err)
			return
		}
		noStore(w)
		next.ServeHTTP(w, r2)
	}))
}

// Optional puts the identity into the context when the request is logged
// in and lets every request through. A bad bearer JWT still gets 401 and a
// session store failure still gets 503 (fail closed).
func (a *Auth) Optional(next http.Handler) http.Handler {
	return a.ensureLoaded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2, err := a.authenticate(r)
		switch {
		case err == nil:
			noStore(w)
			next.ServeHTTP(w, r2)
		case errors.Is(err, errAnonymous), errors.Is(err, session.ErrReauthRequired):
			if errors.Is(err, session.ErrReauthRequired) {
				a.setNotice(r.Context(), noticeReauthRequired) // for the next sign-in page
			}
			next.ServeHTTP(w, r)
		default:
			a.deny(w, r, err)
		}
	}))
}

// RequireScopes is Require plus a check that every one of scopes was
// granted. A missing scope gives 403 with a link that logs in again asking
// the provider for the extra scopes (the link names a server-side scope
// set, so clients cannot ask for arbitrary scopes).
func (a *Auth) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	want := slices.Clone(scopes)
	id := a.registerScopes(want)
	return func(next http.Handler) http.Handler {
		return a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			granted, _ := ScopesFrom(r.Context())
			for _, s := range want {
				if !slices.Contains(granted, s) {
					login, _ := LoginFrom(r.Context())
					link := ""
					name := ""
					if login != nil {
						name = login.Provider
						if _, ok := a.providers[name].(provider.RedirectProvider); ok {
							// returnTo never yields "", so LoginURL has a query.
							link = a.LoginURL(name, a.returnTo(r.URL.RequestURI())) + "&scopes=" + id
						}
					}
					if link != "" && wantsJSON(r) {
						w.Header().Set("Link", "<"+link+`>; rel="login"`)
					}
					w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope", scope="`+strings.Join(want, " ")+`"`)
					a.fail(w, r, failure{status: http.StatusForbidden, code: "insufficient_scope", provider: name, retry: link,
						title: "More permissions needed", message: "This page needs permissions you have not granted yet: " + strings.Join(want, ", ") + "."})
					return
				}
			}
			next.ServeHTTP(w, r)
		}))
	}
}

func (a *Auth) registerScopes(scopes []string) string {
	sorted := slices.Clone(scopes)
	slices.Sort(sorted)
	a.scopeMu.Lock()
	defer a.scopeMu.Unlock()
	for id, s := range a.scopeSets {
		if slices.Equal(s, sorted) {
			return id
		}
	}
	id := "s" + strconv.Itoa(len(a.scopeSets)+1)
	a.scopeSets[id] = sorted
	return id
}

func (a *Auth) scopeSet(id string) ([]string, bool) {
	a.scopeMu.RLock()
	defer a.scopeMu.RUnlock()
	s, ok := a.scopeSets[id]
	return s, ok
}

// scopesWithExtra is the scope list of a login that asks for more: the
// configured scopes (else those already granted) plus extra.
func (a *Auth) scopesWithExtra(ctx context.Context, name string, extra []string) []string {
	base, ok := a.cfg.Scopes[name]
	if !ok {
		if login, err := a.sessions.CurrentLogin(ctx); err == nil && login != nil && login.Provider == name && login.Token != nil {
			base = login.Token.Scopes
		}
	}
	out := slices.Clone(base)
	for _, s := range extra {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// deny answers an authenticate failure.
func (a *Auth) deny(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errInvalidBearer):
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`)
		a.fail(w, r, failure{status: http.StatusUnauthorized, code: "invalid_token", message: "The access token is invalid or expired.", err: err})
	case errors.Is(err, errAnonymous), errors.Is(err, session.ErrReauthRequired):
		if isAPI(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			a.fail(w, r, failure{status: http.StatusUnauthorized, code: "unauthorized", message: "Sign in to continue.", err: ErrNotLoggedIn})
			return
		}
		noStore(w)
		w.Header().Set("Location", a.signInTarget(r, err))
		w.WriteHeader(http.StatusFound)
	case errors.Is(err, provider.ErrUnavailable):
		a.fail(w, r, failure{status: http.StatusServiceUnavailable, code: "provider_unavailable", retryAfter: provider.RetryAfter(err),
			message: "The sign-in provider is not reachable right now. Please try again in a moment.", err: err, retry: r.URL.RequestURI()})
	default:
		a.fail(w, r, failure{status: http.StatusServiceUnavailable, code: "session_unavailable",
			message: "Sign-in is temporarily unavailable. Please try again in a moment.", err: err})
	}
}

// loginRedirect is where a browser without a login goes: the single
// redirect provider's login, else the chooser, with the current path as
// return_to (validated; an invalid one is dropped).
func (a *Auth) loginRedirect(r *http.Request) string {
	ret := ""
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if v, ok := a.validReturnTo(r.URL.RequestURI()); ok {
			ret = v
		}
	}
	if len(a.order) == 1 {
		if _, ok := a.providers[a.order[0]].(provider.RedirectProvider); ok {
			return a.LoginURL(a.order[0], ret)
		}
	}
	return a.LoginURL("", ret)
}

// Error is a failure Require, RequireAPI, Optional or RequireScopes
// decided on, as handed to an [ErrorHandler]: echoauth returns it as the
// Internal error of an *echo.HTTPError. It holds no secret.
type Error struct {
	// Status is the HTTP status Gatehouse would answer: 401, 403 or 503.
	Status int
	// Code is the stable machine-readable reason, the "error" of
	// Gatehouse's JSON answers: "unauthorized", "invalid_token",
	// "insufficient_scope", "provider_unavailable" or
	// "session_unavailable".
	Code string
	// Description is a short text for the user, the JSON
	// "error_description".
	Description string
	// Err is the underlying error, when there is one (ErrNotLoggedIn for
	// "unauthorized"; a session or provider error for 503s).
	Err error

	f   *failure // the whole failure, for RenderError; nil when built elsewhere
	api bool     // answered as JSON whatever Accept (RequireAPI)
}

// RenderError writes Gatehouse's own answer to e, the one Require and the
// others write when no [ErrorHandler] is set: JSON for API clients, the
// error page (with its "start again" or re-login link) for browsers. An
// Echo HTTPErrorHandler can hand Gatehouse's failures back with it:
//
//	var ge *middleware.Error
//	if errors.As(err, &ge) {
//		auth.RenderError(c.Response(), c.Request(), ge)
//		return
//	}
//
// e has been logged already; RenderError does not log it again.
func (a *Auth) RenderError(w http.ResponseWriter, r *http.Request, e *Error) {
	if e == nil {
		return
	}
	f := failure{status: e.Status, code: e.Code, message: e.Description, err: e.Err}
	if e.f != nil {
		f = *e.f
	}
	if f.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	if e.api {
		r = asAPI(r)
	}
	a.writeFailure(w, r, f)
}

// Error implements error.
func (e *Error) Error() string {
	s := "middleware: " + e.Code + ": " + e.Description
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// ErrorHandler answers a failure of Require, RequireAPI, Optional or
// RequireScopes in place of Gatehouse's own HTML or JSON answer. When it
// is called, w already carries the headers that belong to the failure
// (WWW-Authenticate, Retry-After, Link, Cache-Control: no-store) and
// nothing has been written. The failure has already been logged and
// passed to Config.OnError. Redirects of browsers to the login are not
// failures and never reach it.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err *Error)

var errorHandlerKey = &ctxKey{"error handler"}

// WithErrorHandler returns ctx with h answering the failures of Require,
// RequireAPI, Optional and RequireScopes for requests carrying it.
// echoauth uses it to return failures to Echo's HTTPErrorHandler; a
// net/http app can use it the same way, from a middleware in front of
// Require. A nil h restores Gatehouse's own answers.
func WithErrorHandler(ctx context.Context, h ErrorHandler) context.Context {
	return context.WithValue(ctx, errorHandlerKey, h)
}

func errorHandlerFrom(ctx context.Context) ErrorHandler {
	h, _ := ctx.Value(errorHandlerKey).(ErrorHandler)
	return h
}
