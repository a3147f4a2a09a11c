// Package echoauth mounts Gatehouse on Echo v4. It has no logic of its own:
// every function adapts a method of [middleware.Auth] to Echo's types, so
// the net/http and Echo stacks behave identically.
//
//	e := echo.New()
//	e.Use(echoauth.Sessions(auth))           // load and save the session
//	echoauth.Register(e, auth)               // /auth/* routes
//	e.GET("/app", handler, echoauth.Require(auth))
//
// Handlers read the identity with middleware.IdentityFrom(c.Request().Context()).
package echoauth

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/middleware"
)

// Router is what Register needs: *echo.Echo and *echo.Group both have it.
type Router interface {
	Any(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) []*echo.Route
}

// Register adds a's routes (see [middleware.Auth.Handler]) at
// a.BasePath()+"/*". BasePath is an absolute path: register on the
// *echo.Echo, or on a *echo.Group created with an empty prefix.
func Register(r Router, a *middleware.Auth) {
	r.Any(a.BasePath()+"/*", echo.WrapHandler(a.Handler()))
}

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
	h := m(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := r.Context().Value(echoCallKey{}).(*echoCall)
		c := call.c
		c.SetRequest(r)
		if res, ok := w.(*echo.Response); !ok || res != c.Response() {
			c.SetResponse(echo.NewResponse(w, c.Echo()))
		}
		call.err = call.next(c)
	}))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			call := &echoCall{c: c, next: next}
			r := c.Request()
			h.ServeHTTP(c.Response(), r.WithContext(context.WithValue(r.Context(), echoCallKey{}, call)))
			return call.err
		}
	}
}

// echoCallKey carries an *echoCall in the request context.
type echoCallKey struct{}

// echoCall is one request through wrapMiddleware: its echo.Context and
// the error of the rest of the chain.
type echoCall struct {
	c    echo.Context
	next echo.HandlerFunc
	err  error
}

// Config configures Require, Optional and RequireScopes.
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
}

// DefaultConfig returns the default Config: never skip, no scopes, login
// required. (A function, not a variable, so no caller can change another's
// defaults.)
func DefaultConfig() Config { return Config{Skipper: func(echo.Context) bool { return false }} }

// Require is [middleware.Auth.Require] as Echo middleware.
func Require(a *middleware.Auth) echo.MiddlewareFunc {
	m, _ := RequireWithConfig(a, DefaultConfig()).ToMiddleware()
	return m
}

// Optional is [middleware.Auth.Optional] as Echo middleware.
func Optional(a *middleware.Auth) echo.MiddlewareFunc {
	cfg := DefaultConfig()
	cfg.Optional = true
	m, _ := RequireWithConfig(a, cfg).ToMiddleware()
	return m
}

// RequireScopes is [middleware.Auth.RequireScopes] as Echo middleware.
func RequireScopes(a *middleware.Auth, scopes ...string) echo.MiddlewareFunc {
	cfg := DefaultConfig()
	cfg.Scopes = scopes
	m, _ := RequireWithConfig(a, cfg).ToMiddleware()
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

// ErrNoAuth is returned by ToMiddleware when no Auth was given.
var ErrNoAuth = echo.NewHTTPError(http.StatusInternalServerError, "echoauth: nil *middleware.Auth")

// ToMiddleware returns the echo.MiddlewareFunc, or an error for a bad
// configuration (it never panics).
func (c Configured) ToMiddleware() (echo.MiddlewareFunc, error) {
	if c.a == nil {
		return nil, ErrNoAuth
	}
	skipper := c.cfg.Skipper
	if skipper == nil {
		skipper = DefaultConfig().Skipper
	}
	var mw func(http.Handler) http.Handler
	switch {
	case c.cfg.Optional:
		mw = c.a.Optional
	case len(c.cfg.Scopes) > 0:
		mw = c.a.RequireScopes(c.cfg.Scopes...)
	default:
		mw = c.a.Require
	}
	wrapped := wrapMiddleware(mw)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := wrapped(next) // Echo calls this on every request: keep it cheap
		return func(c echo.Context) error {
			if skipper(c) {
				return next(c)
			}
			return h(c)
		}
	}, nil
}
