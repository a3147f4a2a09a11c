// Package gitlab signs users in with GitLab, on gitlab.com or a
// self-managed instance (https://docs.gitlab.com/integration/openid_connect_provider/
// and https://docs.gitlab.com/api/oauth2/): a short configuration of the
// OpenID Connect relying party in
// [github.com/gatehouse-auth/gatehouse/adapters/oidc].
//
// The issuer is the instance's URL: https://gitlab.com, or a self-managed
// instance's external_url, relative URL root included
// (https://example.com/gitlab).
//
// Scopes: openid, profile and email sign the user in (the default). The
// access token then only reads /oauth/userinfo; to call the GitLab API as
// the user through middleware.Auth.Client, add read_user (the user's
// profile: GET /api/v4/user) or api (everything the user can do), and
// nothing more than you need. The API is on the instance's host, which the
// provider already declares (its UserInfo endpoint is there).
//
// Register in GitLab (User settings, Applications; or a group's or the
// instance's Applications), Confidential on, with the same scopes:
//
//   - Redirect URI: https://app.example/auth/gitlab/callback
//
// (path shown for the middleware's default BasePath "/auth" and the
// default Name "gitlab").
//
// GitLab access tokens live two hours; every code exchange returns a
// refresh token, rotated on each refresh, so no extra scope is needed.
// GitLab offers RFC 7009 revocation, used at logout. It publishes no
// end_session_endpoint, so logout ends the Gatehouse session and revokes
// the tokens but leaves the user's GitLab session alone.
package gitlab

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

// Defaults of Config.
const (
	// DefaultName is the provider's route name when Config.Name is empty.
	DefaultName = "gitlab"
	// DefaultBaseURL is gitlab.com.
	DefaultBaseURL = "https://gitlab.com"
)

// Config configures a GitLab login. Fields marked Required must be set; the
// rest have the documented defaults.
type Config struct {
	// Name is the provider's route name. Optional; default "gitlab".
	Name string
	// BaseURL is the GitLab instance, e.g. "https://gitlab.example.com"
	// or "https://example.com/gitlab"; it is the issuer. Optional; default
	// DefaultBaseURL.
	BaseURL string
	// ClientID and ClientSecret are the application's Application ID and
	// Secret. Both required (register the application as confidential).
	ClientID, ClientSecret string
	// RedirectURL is the registered redirect URI,
	// https://app.example/auth/gitlab/callback. Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// Scopes are requested at login; "openid" is always included. Add
	// read_user or api to call the GitLab API as the user. Optional;
	// default openid, profile, email.
	Scopes []string
	// HTTPClient, Timeout, Now and Logger are passed to oidc.Config.
	// Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// ErrConfig is matched (errors.Is) by every configuration error of [New].
var ErrConfig = errors.New("gitlab: invalid config")

func configErr(field, problem string) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: problem}
}

// New reads the instance's discovery document and returns its relying
// party. ctx bounds the discovery fetch.
func New(ctx context.Context, cfg Config) (*oidc.Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	issuer := strings.TrimSuffix(cfg.BaseURL, "/")
	if err := oauth2.CheckURL(issuer); err != nil {
		return nil, configErr("BaseURL", err.Error())
	}
	if u, _ := url.Parse(issuer); u.RawQuery != "" || u.ForceQuery || strings.Contains(u.Path, "/api/") || strings.Contains(u.Path, "/oauth") {
		return nil, configErr("BaseURL", fmt.Sprintf("must be the instance's URL, without a query, /api/… or /oauth/… (got %q)", cfg.BaseURL))
	}
	switch {
	case cfg.ClientID == "":
		return nil, configErr("ClientID", "is required")
	case cfg.ClientSecret == "":
		return nil, configErr("ClientSecret", "is required (register the application as confidential)")
	}
	if cfg.RedirectURL != "" {
		if err := oauth2.CheckURL(cfg.RedirectURL); err != nil {
			return nil, configErr("RedirectURL", err.Error())
		}
	}
	p, err := oidc.New(ctx, oidc.Config{
		Name:         cfg.Name,
		DisplayName:  "GitLab",
		Issuer:       issuer,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       cfg.Scopes,
		HTTPClient:   cfg.HTTPClient,
		Timeout:      cfg.Timeout,
		Now:          cfg.Now,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	return p, nil
}
