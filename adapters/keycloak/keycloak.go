// Package keycloak signs users in with a Keycloak realm
// (https://www.keycloak.org/docs/latest/securing_apps/#_oidc): a short
// configuration of the OpenID Connect relying party in
// [github.com/gatehouse-auth/gatehouse/adapters/oidc].
//
// The issuer is {BaseURL}/realms/{Realm}. Keycloak 17 and later (the
// Quarkus distribution) serve at the root; older releases, and newer ones
// started with --http-relative-path=/auth, serve under /auth, so BaseURL is
// then https://sso.example.com/auth. The issuer must also be the URL the
// browser uses: Keycloak writes its frontend URL (the hostname option) into
// every token, so give BaseURL as the public URL, not an internal one.
// When discovery answers 404, [New]'s error says which of the two layouts
// to try.
//
// Register in the Keycloak client (Client authentication on for a
// confidential client, Standard flow on):
//
//   - Valid redirect URIs: https://app.example/auth/keycloak/callback
//   - Valid post logout redirect URIs:
//     https://app.example/auth/keycloak/logged-out (when
//     PostLogoutRedirectURL is set)
//   - Backchannel logout URL:
//     https://app.example/auth/keycloak/backchannel-logout, with
//     "Backchannel logout session required" on
//
// (paths shown for the middleware's default BasePath "/auth" and the
// default Name "keycloak").
//
// Keycloak issues refresh tokens to the standard flow without any extra
// scope (offline_access would ask for an offline token, which outlives the
// SSO session: not needed here). It offers RFC 7009 revocation, which
// Gatehouse uses at logout, and RP-initiated and back-channel logout.
package keycloak

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
	"github.com/gatehouse-auth/gatehouse/provider"
)

// DefaultName is the provider's route name when Config.Name is empty.
const DefaultName = "keycloak"

// Config configures a Keycloak realm login. Fields marked Required must be
// set; the rest have the documented defaults.
type Config struct {
	// Name is the provider's route name. Optional; default "keycloak".
	Name string
	// BaseURL is Keycloak's public base URL, e.g.
	// "https://sso.example.com", or "https://sso.example.com/auth" for a
	// server under the legacy /auth path. Required; https, or http on a
	// loopback host.
	BaseURL string
	// Realm is the realm's name (not its display name). Required.
	Realm string
	// ClientID is the Keycloak client's Client ID. Required.
	ClientID string
	// ClientSecret is the client secret (Credentials tab). Empty for a
	// public client.
	ClientSecret string
	// RedirectURL is the callback registered as a valid redirect URI,
	// https://app.example/auth/keycloak/callback. Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// PostLogoutRedirectURL is registered as a valid post logout redirect
	// URI; with it, logout also ends the Keycloak SSO session. Optional.
	PostLogoutRedirectURL string
	// Scopes are requested at login; "openid" is always included.
	// Optional; default openid, profile, email.
	Scopes []string
	// APIHosts are hosts of your own APIs that accept this realm's access
	// tokens and may receive them through middleware.Auth.Client. Optional.
	APIHosts []string
	// HTTPClient, Timeout, Now and Logger are passed to oidc.Config.
	// Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// ErrConfig is matched (errors.Is) by every configuration error of [New].
var ErrConfig = errors.New("keycloak: invalid config")

func configErr(field, problem string) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: problem}
}

// Issuer returns the realm's issuer identifier, {baseURL}/realms/{realm}.
func Issuer(baseURL, realm string) string {
	return strings.TrimSuffix(baseURL, "/") + "/realms/" + url.PathEscape(realm)
}

// New reads the realm's discovery document and returns its relying party.
// ctx bounds the discovery fetch.
func New(ctx context.Context, cfg Config) (*oidc.Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.BaseURL == "" {
		return nil, configErr("BaseURL", "is required")
	}
	if err := oauth2.CheckURL(cfg.BaseURL); err != nil {
		return nil, configErr("BaseURL", err.Error())
	}
	if u, _ := url.Parse(cfg.BaseURL); u.RawQuery != "" || strings.Contains(u.Path, "/realms/") {
		return nil, configErr("BaseURL", "must be the server's base URL, without /realms/… or a query")
	}
	if cfg.Realm == "" {
		return nil, configErr("Realm", "is required")
	}
	if err := oidc.CheckClient(ErrConfig, cfg.ClientID, cfg.RedirectURL, cfg.PostLogoutRedirectURL); err != nil {
		return nil, err
	}
	issuer := Issuer(cfg.BaseURL, cfg.Realm)
	p, err := oidc.New(ctx, oidc.Config{
		Name:                  cfg.Name,
		DisplayName:           "Keycloak",
		Issuer:                issuer,
		ClientID:              cfg.ClientID,
		ClientSecret:          cfg.ClientSecret,
		RedirectURL:           cfg.RedirectURL,
		PostLogoutRedirectURL: cfg.PostLogoutRedirectURL,
		Scopes:                cfg.Scopes,
		APIHosts:              cfg.APIHosts,
		HTTPClient:            cfg.HTTPClient,
		Timeout:               cfg.Timeout,
		Now:                   cfg.Now,
		Logger:                cfg.Logger,
	})
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) && pe.StatusCode == http.StatusNotFound {
			hint := "if this Keycloak serves under the legacy /auth path, set BaseURL to " + strings.TrimSuffix(cfg.BaseURL, "/") + "/auth"
			if strings.HasSuffix(strings.TrimSuffix(cfg.BaseURL, "/"), "/auth") {
				hint = "Keycloak 17 and later serve without /auth: try BaseURL " + strings.TrimSuffix(strings.TrimSuffix(cfg.BaseURL, "/"), "/auth")
			}
			return nil, fmt.Errorf("keycloak: realm %q not found at %s (%s): %w", cfg.Realm, issuer, hint, err)
		}
		return nil, fmt.Errorf("keycloak: %w", err)
	}
	return p, nil
}
