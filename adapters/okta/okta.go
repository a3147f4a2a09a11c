// Package okta signs users in with Okta
// (https://developer.okta.com/docs/concepts/auth-servers/ and
// https://developer.okta.com/docs/guides/implement-grant-type/authcode/main/):
// a short configuration of the OpenID Connect relying party in
// [github.com/gatehouse-auth/gatehouse/adapters/oidc].
//
// Okta has two kinds of authorization server, with different issuers:
//
//   - the org authorization server, issuer https://{Domain}: it signs users
//     in, and its access tokens are for Okta's own APIs (/api/v1/…, with
//     okta.* scopes) only — your APIs cannot validate them;
//   - a custom authorization server, issuer
//     https://{Domain}/oauth2/{AuthorizationServerID} ("default" is the one
//     every org has): use it when the access token is for your own APIs.
//
// Set AuthorizationServerID to choose the second. The Domain is the Okta
// domain (dev-123456.okta.com, or your custom domain), never the admin
// console's dev-123456-admin.okta.com: [New] refuses that one, since Okta
// never issues tokens there.
//
// Register in the Okta app integration (OIDC, Web Application):
//
//   - Sign-in redirect URIs: https://app.example/auth/okta/callback
//   - Sign-out redirect URIs: https://app.example/auth/okta/logged-out
//     (when PostLogoutRedirectURL is set)
//   - Grant types: Authorization Code and Refresh Token
//
// (paths shown for the middleware's default BasePath "/auth" and the
// default Name "okta").
//
// Refresh tokens come only with the offline_access scope (requested by
// default) and the Refresh Token grant enabled on the app. Okta offers RFC
// 7009 revocation, used at logout, and RP-initiated logout.
package okta

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
const DefaultName = "okta"

// Config configures an Okta login. Fields marked Required must be set; the
// rest have the documented defaults.
type Config struct {
	// Name is the provider's route name. Optional; default "okta".
	Name string
	// Domain is the Okta domain, e.g. "dev-123456.okta.com" or a custom
	// domain ("https://" in front is accepted). Required.
	Domain string
	// AuthorizationServerID selects a custom authorization server (issuer
	// https://{Domain}/oauth2/{AuthorizationServerID}), e.g. "default".
	// Optional; default "": the org authorization server.
	AuthorizationServerID string
	// ClientID and ClientSecret are the app integration's credentials.
	// ClientID is required; ClientSecret is empty for a public client
	// (PKCE only).
	ClientID, ClientSecret string
	// RedirectURL is the registered sign-in redirect URI,
	// https://app.example/auth/okta/callback. Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// PostLogoutRedirectURL is the registered sign-out redirect URI; with
	// it, logout also ends the Okta session. Optional.
	PostLogoutRedirectURL string
	// Scopes are requested at login; "openid" is always included.
	// Optional; default openid, profile, email, offline_access.
	Scopes []string
	// APIHosts are hosts of your APIs that accept the access token and may
	// receive it through middleware.Auth.Client. Optional.
	APIHosts []string
	// HTTPClient, Timeout, Now and Logger are passed to oidc.Config.
	// Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// ErrConfig is matched (errors.Is) by every configuration error of [New].
var ErrConfig = errors.New("okta: invalid config")

func configErr(field, problem string) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: problem}
}

// DefaultScopes are requested when Config.Scopes is empty.
func DefaultScopes() []string { return []string{"openid", "profile", "email", "offline_access"} }

// New reads the authorization server's discovery document and returns its
// relying party. ctx bounds the discovery fetch.
func New(ctx context.Context, cfg Config) (*oidc.Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	base, err := domainURL(cfg.Domain)
	if err != nil {
		return nil, err
	}
	issuer := base
	if id := cfg.AuthorizationServerID; id != "" {
		if strings.ContainsAny(id, "/?#% ") {
			return nil, configErr("AuthorizationServerID", fmt.Sprintf("must be an authorization server id such as \"default\" (got %q)", id))
		}
		issuer += "/oauth2/" + id
	}
	if err := oidc.CheckClient(ErrConfig, cfg.ClientID, cfg.RedirectURL, cfg.PostLogoutRedirectURL); err != nil {
		return nil, err
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	p, err := oidc.New(ctx, oidc.Config{
		Name:                  cfg.Name,
		DisplayName:           "Okta",
		Issuer:                issuer,
		ClientID:              cfg.ClientID,
		ClientSecret:          cfg.ClientSecret,
		RedirectURL:           cfg.RedirectURL,
		PostLogoutRedirectURL: cfg.PostLogoutRedirectURL,
		Scopes:                scopes,
		APIHosts:              cfg.APIHosts,
		HTTPClient:            cfg.HTTPClient,
		Timeout:               cfg.Timeout,
		Now:                   cfg.Now,
		Logger:                cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("okta: %w", err)
	}
	return p, nil
}

// domainURL turns Domain into https://{host} (http only on loopback, for
// tests).
func domainURL(domain string) (string, error) {
	if domain == "" {
		return "", configErr("Domain", "is required")
	}
	d := strings.TrimSuffix(domain, "/")
	if !strings.Contains(d, "://") {
		d = "https://" + d
	}
	u, err := url.Parse(d)
	if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.ForceQuery {
		return "", configErr("Domain", fmt.Sprintf("must be a host name such as dev-123456.okta.com (got %q)", domain))
	}
	if err := oauth2.CheckURL(d); err != nil {
		return "", configErr("Domain", err.Error())
	}
	host := strings.ToLower(u.Hostname())
	oktaHost := strings.HasSuffix(host, ".okta.com") || strings.HasSuffix(host, ".oktapreview.com") || strings.HasSuffix(host, ".okta-emea.com")
	if label, _, _ := strings.Cut(host, "."); oktaHost && strings.HasSuffix(label, "-admin") {
		return "", configErr("Domain", fmt.Sprintf("must be the Okta domain, not the admin console's (%s): drop \"-admin\"", u.Hostname()))
	}
	return u.Scheme + "://" + u.Host, nil
}
