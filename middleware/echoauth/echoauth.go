// Package echoauth mounts Gatehouse on Echo v4. It has no logic of its own:
// every function adapts a method of [middleware.Auth] to Echo's types, so
// the net/http and Echo stacks decide identically. Failures are returned
// the Echo way, as *echo.HTTPError with Internal set to the
// *middleware.Error, so the app's HTTPErrorHandler renders them
// (Config.RenderErrors keeps Gatehouse's own pages instead).
//
// Gatehouse's package is named middleware, like Echo's own: give Echo's
// an alias where both are imported (Gatehouse itself never imports it):
//
//	import (
//		"github.com/labstack/echo/v4"
//		echomw "github.com/labstack/echo/v4/middleware" // Echo's Logger, Recover, …
//
//		"github.com/gatehouse-auth/gatehouse/middleware" // Gatehouse: New, IdentityFrom, …
//		"github.com/gatehouse-auth/gatehouse/middleware/echoauth"
//	)
//
//	e := echo.New()
//	e.Use(echomw.Recover())
//	e.Use(echoauth.Sessions(auth))           // load and save the session
//	echoauth.Register(e, auth)               // /auth/* routes
//	e.GET("/app", handler, echoauth.Require(auth))
//	e.GET("/api/me", apiHandler, echoauth.RequireAPI(auth))
//
// Handlers read the identity with middleware.IdentityFrom(c.Request().Context()).
package echoauth

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/middleware"
)

// Router is what Register needs: *echo.Echo and *echo.Group both have it.
type Router interface {
	Any(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) []*echo.Route
}

// Register adds a's routes (see [middleware.Auth.Handler]) so that they
// answer at a.BasePath()+"/*", the absolute path Gatehouse builds its
// URLs (login links, callback URLs, form actions) from. On the *echo.Echo
// they are registered at that path. On an *echo.Group they are registered
// relative to the group's prefix, which must then begin BasePath: with
// g := e.Group("/api") and Config.BasePath "/api/auth", Register(g, a)
// serves /api/auth/*. A group whose prefix does not begin BasePath gets
// an error and no working route. Do not register on a group that has
// Require as its middleware: the login pages must stay public.
func Register(r Router, a *middleware.Auth) error {
	if a == nil {
		return ErrNoAuth
	}
	h := echo.WrapHandler(a.Handler())
	base := a.BasePath()
	routes := r.Any(base+"/*", h)
	if len(routes) == 0 || routes[0].Path == base+"/*" {
		return nil // no prefix: registered where Gatehouse serves
	}
	// r is a group with a prefix: the route just added is at
	// prefix+BasePath, where Gatehouse would answer 404 anyway. Make it
	// Echo's 404 and register relative to the prefix.
	r.Any(base+"/*", notFound)
	prefix, ok := strings.CutSuffix(routes[0].Path, base+"/*")
	rel, under := strings.CutPrefix(base, prefix)
	if !ok || !under || (rel != "" && rel[0] != '/') {
		return fmt.Errorf("echoauth: Register on a group with prefix %q: BasePath %q must begin with it (for example %q)", prefix, base, prefix+base)
	}
	r.Any(rel+"/*", h)
	return nil
}

func notFound(echo.Context) error { return echo.ErrNotFound }

// Sessions returns middleware that loads and saves the session around the
// rest of the chain ([middleware.Auth.Wrap]). Use it with e.Use or e.Pre
// once; Require and the routes also work without it, at the cost of an
// extra store read.
func Sessions(a *middleware.Auth) echo.MiddlewareFunc { return wrapMiddleware(a.Wrap) }

// wrapMiddleware is echo.WrapMiddleware without its per-request cost.
// Echo v4 applies middleware on every request, and echo's version then
// calls m, which here would build the whole Gatehouse chain (and copy the
// scs manager) each time. This one calls m once and passes the request's
// echo.Context and next handler through the request context.
func wrapMiddleware(m func(http.Handler) http.Handler) echo.MiddlewareFunc {
	h := wrapHandler(m)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return serveCall(h, c, next, false) }
	}
}

// wrapHandler is m around the end of the Gatehouse chain, which continues
// with the Echo chain of the request's echoCall.
func wrapHandler(m func(http.Handler) http.Handler) http.Handler {
	return m(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := r.Context().Value(echoCallKey{}).(*echoCall)
		c := call.c
		c.SetRequest(r)
		if res, ok := w.(*echo.Response); !ok || res != c.Response() {
			c.SetResponse(echo.NewResponse(w, c.Echo()))
		}
		call.err = call.next(c)
	}))
}

// serveCall runs one request through h (a wrapHandler), with next as the
// rest of the Echo chain. With asErrors, the failures of Gatehouse's
// middleware are returned as *echo.HTTPError instead of written
// (middleware.WithErrorHandler).
func serveCall(h http.Handler, c echo.Context, next echo.HandlerFunc, asErrors bool) error {
	r := c.Request()
	call := &echoCall{Context: r.Context(), c: c, next: next}
	var ctx context.Context = call
	if asErrors {
		ctx = middleware.WithErrorHandler(ctx, returnError)
	}
	h.ServeHTTP(c.Response(), r.WithContext(ctx))
	return call.err
}

// echoCallKey is the context key of an *echoCall.
type echoCallKey struct{}

// echoCall is one request through wrapMiddleware: its echo.Context and
// the error of the rest of the chain. It is also the request's context,
// with itself as the value of echoCallKey (one allocation for both).
type echoCall struct {
	context.Context // the request's, before
	c               echo.Context
	next            echo.HandlerFunc
	err             error
}

// Value returns the call itself for echoCallKey, else the request
// context's value.
func (e *echoCall) Value(key any) any {
	if _, ok := key.(echoCallKey); ok {
		return e
	}
	return e.Context.Value(key)
}

// returnError is the middleware.ErrorHandler of serveCall with asErrors:
// the failure becomes the error of the request's echoCall. (A function,
// not a method value, so that it costs no allocation per request.)
func returnError(_ http.ResponseWriter, r *http.Request, e *middleware.Error) {
	if call, ok := r.Context().Value(echoCallKey{}).(*echoCall); ok {
		call.err = HTTPError(e)
	}
}

// Config configures Require, RequireAPI, Optional and RequireScopes.
type Config struct {
	// Skipper defines a function to skip the middleware. Optional. Default
	// value: never skip.
	Skipper func(c echo.Context) bool
	// Scopes, when set, are required as with [middleware.Auth.RequireScopes].
	// Optional. Default: none (only a login is required).
	Scopes []string
	// Optional lets requests without a login through, as
	// [middleware.Auth.Optional]. Default false.
	Optional bool
	// API answers as [middleware.Auth.RequireAPI]: a request without a
	// login is a 401 failure, never a redirect to the login, whatever its
	// Accept header. Default false (browsers are redirected, as
	// [middleware.Auth.Require]).
	API bool
	// RenderErrors makes Gatehouse answer failures itself (HTML pages for
	// browsers, JSON for API clients, as on net/http). Optional. Default
	// false: a failure (401, 403, 503) is returned as *echo.HTTPError with
	// Code the status, Message a short user-facing text and Internal the
	// *middleware.Error (its Code is the machine-readable reason), for the
	// app's HTTPErrorHandler to render; the response already carries the
	// failure's headers (WWW-Authenticate, Retry-After, Link,
	// Cache-Control: no-store). Redirects of browsers to the login are not
	// failures and are sent either way.
	RenderErrors bool
}

// DefaultConfig returns the default Config: never skip, no scopes, login
// required, failures returned as *echo.HTTPError. (A function, not a
// variable, so no caller can change another's defaults.)
func DefaultConfig() Config { return Config{Skipper: func(echo.Context) bool { return false }} }

// Require is [middleware.Auth.Require] as Echo middleware.
func Require(a *middleware.Auth) echo.MiddlewareFunc {
	return must(RequireWithConfig(a, DefaultConfig()).ToMiddleware())
}

// RequireAPI is [middleware.Auth.RequireAPI] as Echo middleware: never a
// redirect, a 401 failure with WWW-Authenticate for requests without a
// login.
func RequireAPI(a *middleware.Auth) echo.MiddlewareFunc {
	cfg := DefaultConfig()
	cfg.API = true
	return must(RequireWithConfig(a, cfg).ToMiddleware())
}

// Optional is [middleware.Auth.Optional] as Echo middleware.
func Optional(a *middleware.Auth) echo.MiddlewareFunc {
	cfg := DefaultConfig()
	cfg.Optional = true
	return must(RequireWithConfig(a, cfg).ToMiddleware())
}

// RequireScopes is [middleware.Auth.RequireScopes] as Echo middleware.
func RequireScopes(a *middleware.Auth, scopes ...string) echo.MiddlewareFunc {
	cfg := DefaultConfig()
	cfg.Scopes = scopes
	return must(RequireWithConfig(a, cfg).ToMiddleware())
}

// must turns a ToMiddleware error (only a nil Auth) into middleware that
// returns it on every request: the constructors never panic.
func must(m echo.MiddlewareFunc, err error) echo.MiddlewareFunc {
	if err != nil {
		return func(echo.HandlerFunc) echo.HandlerFunc { return func(echo.Context) error { return err } }
	}
	return m
}

// Configured is a Config bound to an Auth; see RequireWithConfig.
type Configured struct {
	a   *middleware.Auth
	cfg Config
}

// RequireWithConfig binds cfg to a. Call ToMiddleware for the
// echo.MiddlewareFunc.
func RequireWithConfig(a *middleware.Auth, cfg Config) Configured {
	return Configured{a: a, cfg: cfg}
}

// ErrNoAuth is returned by ToMiddleware and Register when no Auth was
// given.
var ErrNoAuth = echo.NewHTTPError(http.StatusInternalServerError, "echoauth: nil *middleware.Auth")

// ToMiddleware returns the echo.MiddlewareFunc, or an error for a bad
// configuration (it never panics).
func (c Configured) ToMiddleware() (echo.MiddlewareFunc, error) {
	if c.a == nil {
		return nil, ErrNoAuth
	}
	if c.cfg.Optional && (c.cfg.API || len(c.cfg.Scopes) > 0) {
		return nil, fmt.Errorf("echoauth: Config.Optional cannot be combined with API or Scopes")
	}
	skipper := c.cfg.Skipper
	if skipper == nil {
		skipper = DefaultConfig().Skipper
	}
	var mw func(http.Handler) http.Handler
	switch {
	case c.cfg.Optional:
		mw = c.a.Optional
	case len(c.cfg.Scopes) > 0 && c.cfg.API:
		scoped := c.a.RequireScopes(c.cfg.Scopes...)
		mw = func(h http.Handler) http.Handler { return c.a.RequireAPI(scoped(h)) }
	case len(c.cfg.Scopes) > 0:
		mw = c.a.RequireScopes(c.cfg.Scopes...)
	case c.cfg.API:
		mw = c.a.RequireAPI
	default:
		mw = c.a.Require
	}
	h, asErrors := wrapHandler(mw), !c.cfg.RenderErrors
	// Echo calls this on every request of the route: one closure.
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skipper(c) {
				return next(c)
			}
			return serveCall(h, c, next, asErrors)
		}
	}, nil
}

// HTTPError is the *echo.HTTPError a failure is returned as (see
// Config.RenderErrors): Code e.Status, Message e.Description, Internal e.
func HTTPError(e *middleware.Error) *echo.HTTPError {
	return &echo.HTTPError{Code: e.Status, Message: e.Description, Internal: e}
}
