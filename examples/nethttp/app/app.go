// Package app is the net/http example as a library: [New] builds the app,
// [Start] serves it, and the command in examples/nethttp runs it. Tests and
// the e2e suite start it in-process on a free loopback port.
//
// The provider comes from environment variables (see [Config.Getenv]):
//
//	GATEHOUSE_PROVIDER=whisk WHISK_CLIENT_ID=… WHISK_CLIENT_SECRET=… \
//	GATEHOUSE_PUBLIC_URL=https://app.example go run ./examples/nethttp
//
// With no credentials set, an in-process fake of the chosen style (default
// generic OAuth2) stands in, so the example runs anywhere.
package app

import (
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"

	"github.com/gatehouse-auth/gatehouse/examples/internal/upstreams"
	"github.com/gatehouse-auth/gatehouse/middleware"
)

// Config configures the example.
type Config struct {
	// PublicURL is the app's external base URL: https, or http on a
	// loopback host for development. Required by New; Start uses the
	// listener's address when it is empty.
	PublicURL string
	// Getenv reads the provider configuration (GATEHOUSE_PROVIDER,
	// WHISK_CLIENT_ID, … as documented in README.md). Default os.Getenv.
	Getenv func(string) string
	// Logger receives the app's and Gatehouse's logs. Default
	// slog.Default().
	Logger *slog.Logger
}

// App is the example app. It is an http.Handler; Close it when done.
type App struct {
	// Auth is the Gatehouse instance.
	Auth *middleware.Auth
	// Upstreams is the configured provider (and the fake behind it, if any).
	Upstreams *upstreams.Set

	handler http.Handler
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
	a := &App{Auth: auth, Upstreams: set}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("GET /{$}", auth.Require(http.HandlerFunc(a.home)))
	mux.Handle("GET /api/me", auth.Require(http.HandlerFunc(me)))
	a.handler = auth.Wrap(mux)
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

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
<p>You are <code>{{.ID.Subject}}</code> at <strong>{{.ID.Provider}}</strong>.</p>
<form method="post" action="/auth/logout">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<button type="submit">Sign out</button>
</form>
</body></html>`))

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	id, _ := middleware.IdentityFrom(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	_ = homePage.Execute(w, map[string]any{"ID": id, "CSRF": a.Auth.CSRFToken(r.Context())})
}

func me(w http.ResponseWriter, r *http.Request) {
	id, _ := middleware.IdentityFrom(r.Context())
	scopes, _ := middleware.ScopesFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"provider": id.Provider, "sub": id.Subject, "name": id.Name, "scopes": scopes})
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
		return nil, fmt.Errorf("nethttp example: %w", err)
	}
	return &Server{App: a, URL: s.URL, srv: s}, nil
}

// Close stops the server, then closes the app.
func (s *Server) Close() error { return s.srv.Close() }
