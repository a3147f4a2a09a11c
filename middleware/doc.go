// Package middleware is Gatehouse's net/http integration: the /auth/*
// handlers (provider chooser, redirect login with state and PKCE, callback,
// password login, opt-in implicit grant, logout, bearer JWT minting), the
// Require, Optional and RequireScopes middleware, context accessors, and an
// upstream *http.Client that calls the provider's API as the user.
//
// Create one [Auth] with [New], wrap the whole stack once with [Auth.Wrap]
// (it loads and saves the session), mount [Auth.Handler] at the base path
// and protect handlers with [Auth.Require]:
//
//	auth, err := middleware.New(middleware.Config{Providers: []provider.Provider{whisk}})
//	mux := http.NewServeMux()
//	mux.Handle("/auth/", auth.Handler())
//	mux.Handle("/app/", auth.Require(app))
//	http.ListenAndServe(addr, auth.Wrap(mux))
//
// Browsers and API clients are told apart by the Accept, Authorization and
// X-Requested-With headers: browsers get HTML pages and redirects, API
// clients JSON errors ({"error": "...", "error_description": "..."}) and
// WWW-Authenticate headers. [Auth.RequireAPI] answers every request as an
// API client (401 JSON, never a redirect), and [AuthMethodFrom] tells a
// handler whether the request came with the session cookie or a bearer
// JWT.
//
// For local development on plain http, set Config.PublicURL to the
// loopback URL (http://127.0.0.1:8080) and Config.DevMode: New then makes
// the session cookie one a browser keeps over http, and refuses every
// inconsistent combination. Every HTML page carries a strict
// Content-Security-Policy, X-Frame-Options DENY, nosniff, no-store and,
// when Config.PublicURL is https or the request came over TLS, HSTS.
//
// The built-in pages (chooser, password form, error, sign-out, sessions)
// can carry the app's name, provider names and icons, its own templates
// and translated texts: see [Config].AppName and [Pages]. Error pages speak
// to people; protocol codes go to the log and to API clients' JSON.
//
// Package echoauth offers the same for Echo; package authtest helps apps
// test handlers behind Require without a provider.
package middleware
