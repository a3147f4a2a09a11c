// Package auth0 signs users in with Auth0
// (https://auth0.com/docs/authenticate/protocols/openid-connect-protocol and
// https://auth0.com/docs/get-started/authentication-and-authorization-flow/authorization-code-flow-with-pkce):
// a short configuration of the OpenID Connect relying party in
// [github.com/gatehouse-auth/gatehouse/adapters/oidc].
//
// Auth0's issuer is https://{Domain}/ — with the trailing slash. Its
// discovery document and every ID token say so, and OpenID Connect compares
// issuers byte for byte, so a relying party configured with
// "https://tenant.auth0.com" fails discovery (or, with discovery skipped,
// refuses every token). Config takes the Domain and builds the issuer
// itself. A custom domain is its own issuer: give that domain when users
// sign in through it.
//
// Access tokens: without Audience, Auth0 issues an opaque access token good
// for /userinfo only. Set Audience to your API's identifier to get a JWT
// access token your API can validate (the "audience" authorization
// parameter), and list the API's host in APIHosts for
// middleware.Auth.Client.
//
// Register in the Auth0 application (Regular Web Application):
//
//   - Allowed Callback URLs: https://app.example/auth/auth0/callback
//   - Allowed Logout URLs: https://app.example/auth/auth0/logged-out (when
//     PostLogoutRedirectURL is set; the tenant's "RP-Initiated Logout
//     End Session Endpoint Discovery" setting must be on for Auth0 to
//     publish end_session_endpoint)
//   - Back-Channel Logout URI:
//     https://app.example/auth/auth0/backchannel-logout (optional)
//
// (paths shown for the middleware's default BasePath "/auth" and the
// default Name "auth0").
//
// Refresh tokens come only with the offline_access scope (requested by
// default) and, with an Audience, "Allow Offline Access" on that API.
// Auth0 offers RFC 7009 revocation of refresh tokens, used at logout.
package auth0

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
)

// DefaultName is the provider's route name when Config.Name is empty.
const DefaultName = "auth0"

// Config configures an Auth0 login. Fields marked Required must be set; the
// rest have the documented defaults.
type Config struct {
	// Name is the provider's route name. Optional; default "auth0".
	Name string
	// Domain is the tenant's domain, e.g. "example.us.auth0.com", or a
	// custom domain ("https://" in front and a trailing "/" are accepted).
	// The issuer is https://{Domain}/. Required.
	Domain string
	// Audience is the identifier of your API, sent as the "audience"
	// authorization parameter so that the access token is a JWT for that
	// API. Optional; default none (an opaque token for /userinfo).
	Audience string
	// ClientID and ClientSecret are the application's credentials.
	// ClientID is required; ClientSecret is empty for a public client.
	ClientID, ClientSecret string
	// RedirectURL is an Allowed Callback URL,
	// https://app.example/auth/auth0/callback. Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// PostLogoutRedirectURL is an Allowed Logout URL; with it, logout also
	// ends the Auth0 session. Optional.
	PostLogoutRedirectURL string
	// Scopes are requested at login; "openid" is always included.
	// Optional; default openid, profile, email, offline_access.
	Scopes []string
	// APIHosts are hosts of your APIs that accept the access token (the
	// Audience's) and may receive it through middleware.Auth.Client.
	// Optional.
	APIHosts []string
	// HTTPClient, Timeout, Now and Logger are passed to oidc.Config.
	// Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// ErrConfig is matched (errors.Is) by every configuration error of [New].
var ErrConfig = errors.New("auth0: invalid config")

func configErr(field, problem string) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: problem}
}

// DefaultScopes are requested when Config.Scopes is empty.
func DefaultScopes() []string { return []string{"openid", "profile", "email", "offline_access"} }

// Issuer returns the issuer identifier of an Auth0 domain:
// https://{domain}/, with the trailing slash Auth0 uses.
func Issuer(domain string) (string, error) {
	if domain == "" {
		return "", configErr("Domain", "is required")
	}
	d := strings.TrimSuffix(domain, "/")
	if !strings.Contains(d, "://") {
		d = "https://" + d
	}
	u, err := url.Parse(d)
	if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.ForceQuery {
		return "", configErr("Domain", fmt.Sprintf("must be a host name such as example.us.auth0.com (got %q)", domain))
	}
	if err := oauth2.CheckURL(d); err != nil {
		return "", configErr("Domain", err.Error())
	}
	return u.Scheme + "://" + u.Host + "/", nil
}

// New reads the tenant's discovery document and returns its relying party.
// ctx bounds the discovery fetch.
func New(ctx context.Context, cfg Config) (*oidc.Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	issuer, err := Issuer(cfg.Domain)
	if err != nil {
		return nil, err
	}
	if err := oidc.CheckClient(ErrConfig, cfg.ClientID, cfg.RedirectURL, cfg.PostLogoutRedirectURL); err != nil {
		return nil, err
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	var params url.Values
	if cfg.Audience != "" {
		params = url.Values{"audience": {cfg.Audience}}
	}
	p, err := oidc.New(ctx, oidc.Config{
		Name:                  cfg.Name,
		DisplayName:           "Auth0",
		Issuer:                issuer,
		ClientID:              cfg.ClientID,
		ClientSecret:          cfg.ClientSecret,
		RedirectURL:           cfg.RedirectURL,
		PostLogoutRedirectURL: cfg.PostLogoutRedirectURL,
		Scopes:                scopes,
		AuthParams:            params,
		APIHosts:              cfg.APIHosts,
		HTTPClient:            cfg.HTTPClient,
		Timeout:               cfg.Timeout,
		Now:                   cfg.Now,
		Logger:                cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("auth0: %w", err)
	}
	return p, nil
}
