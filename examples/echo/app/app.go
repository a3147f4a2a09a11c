// Package app is the Echo example as a library: [New] builds the app (an
// *echo.Echo), [Start] serves it, and the command in examples/echo runs it.
// Tests and the e2e suite start it in-process on a free loopback port.
//
// The provider comes from environment variables, exactly as for the
// net/http example (GATEHOUSE_PROVIDER, WHISK_CLIENT_ID, …; see README.md);
// with no credentials set, an in-process fake of the chosen style stands in.
package app

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware" // Echo's own middleware, under an alias

	"github.com/gatehouse-auth/gatehouse/examples/internal/upstreams"
	"github.com/gatehouse-auth/gatehouse/middleware" // Gatehouse's middleware package
	"github.com/gatehouse-auth/gatehouse/middleware/echoauth"
)

// Config configures the example.
type Config struct {
	// PublicURL is the app's external base URL: https, or http on a
	// loopback host for development. Required by New; Start uses the
	// listener's address when it is empty.
	PublicURL string
	// Getenv reads the provider configuration. Default os.Getenv.
	Getenv func(string) string
	// Logger receives the app's and Gatehouse's logs. Default
	// slog.Default().
	Logger *slog.Logger
}

// App is the example app. It is an http.Handler; Close it when done.
type App struct {
	// Echo is the app's router.
	Echo *echo.Echo
	// Auth is the Gatehouse instance.
	Auth *middleware.Auth
	// Upstreams is the configured provider (and the fake behind it, if any).
	Upstreams *upstreams.Set
}

// New builds the app for cfg.
func New(cfg Config) (*App, error) {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// The Gatehouse setup (sessions, provider, JWT, middleware.New) is
	// in upstreams.NewAuth, shared with the other example.
	auth, set, err := upstreams.NewAuth(cfg.Getenv, cfg.PublicURL, cfg.Logger)
	if err != nil {
		return nil, err
	}

	// The part every Echo app has: sessions, the /auth/* routes, Require.
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(echomw.Recover())
	// echoauth returns failures as *echo.HTTPError: Gatehouse's go back
	// to Gatehouse (its pages have "start again" and re-login links), the
	// rest to Echo's default handler.
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
		_ = auth.Close()
		set.Close()
		_ = auth.Sessions().Close()
		return nil, err
	}
	a := &App{Echo: e, Auth: auth, Upstreams: set}
	e.GET("/", a.home, echoauth.Require(auth))
	e.GET("/api/me", me, echoauth.Require(auth))
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.Echo.ServeHTTP(w, r) }

// Close waits for logout revocations, then stops the fake upstream (if
// any) and the session store.
func (a *App) Close() error {
	err := a.Auth.Close()
	a.Upstreams.Close()
	if cerr := a.Auth.Sessions().Close(); err == nil {
		err = cerr
	}
	return err
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signed in</title></head>
<body>
<h1>Hello{{with .ID.Name}}, {{.}}{{end}}</h1>
<p>You are <code>{{.ID.Subject}}</code> at <strong>{{.ID.Provider}}</strong> (served by Echo).</p>
<form method="post" action="/auth/logout">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<button type="submit">Sign out</button>
</form>
</body></html>`))

func (a *App) home(c echo.Context) error {
	ctx := c.Request().Context()
	id, _ := middleware.IdentityFrom(ctx)
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	var b strings.Builder
	if err := homePage.Execute(&b, map[string]any{"ID": id, "CSRF": a.Auth.CSRFToken(ctx)}); err != nil {
		return err
	}
	return c.HTML(http.StatusOK, b.String())
}

func me(c echo.Context) error {
	id, _ := middleware.IdentityFrom(c.Request().Context())
	scopes, _ := middleware.ScopesFrom(c.Request().Context())
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"provider": id.Provider, "sub": id.Subject, "name": id.Name, "scopes": scopes})
}

// Server is the app served on a listener.
type Server struct {
	*App
	// URL is the listener's base URL.
	URL string
	srv *upstreams.Server
}

// Start listens on addr and serves the app built from cfg in the
// background. An empty cfg.PublicURL becomes the listener's http URL (use
// a loopback addr then). Close stops it.
func Start(addr string, cfg Config) (*Server, error) {
	s, a, err := upstreams.Start(addr, cfg.PublicURL, cfg.Logger, func(public string) (*App, error) {
		cfg.PublicURL = public
		return New(cfg)
	})
	if err != nil {
		return nil, fmt.Errorf("echo example: %w", err)
	}
	return &Server{App: a, URL: s.URL, srv: s}, nil
}

// Close stops the server, then closes the app.
func (s *Server) Close() error { return s.srv.Close() }
