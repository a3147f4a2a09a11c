// Package github signs users in with GitHub, or GitHub Enterprise Server,
// through the OAuth web application flow of an OAuth app or a GitHub App
// (https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps):
// a configuration of the generic OAuth 2.0 engine in
// [github.com/gatehouse-auth/gatehouse/adapters/oauth2]. GitHub is not an
// OpenID Connect provider for user login: there is no ID token, and the
// identity comes from its REST API.
//
// What it does, and the GitHub pitfalls it handles:
//
//   - Authorization at {BaseURL}/login/oauth/authorize with state and
//     PKCE S256 (GitHub supports it); scopes default to read:user and
//     user:email.
//   - The code exchange and refresh POST {BaseURL}/login/oauth/access_token
//     with the client credentials in the body and Accept: application/json
//     (without it GitHub answers form-encoded). GitHub answers errors with
//     status 200 and an "error" field ({"error":"bad_verification_code"}):
//     they become typed errors like any other — bad_verification_code and
//     bad_refresh_token match provider.ErrInvalidGrant, the rest
//     provider.ErrRejected — never a token-less success.
//   - Identity: GET {APIURL}/user. Identity.Subject is the numeric id (a
//     login can be renamed and then taken by someone else; the id never
//     changes), Name the name or else the login, Picture the avatar.
//     Identity.Email is the primary address from GET {APIURL}/user/emails,
//     and only when GitHub marks it verified; the public profile email of
//     /user is never used (users type it in freely). Without the
//     user:email scope (or a GitHub App's "Email addresses" permission)
//     Email stays empty and the login still works.
//   - Refresh: an OAuth app's tokens do not expire and come with no refresh
//     token, so Refresh reports provider.ErrNoRefreshToken; a GitHub App
//     with user-token expiration issues 8-hour access tokens and 6-month
//     refresh tokens, rotated on every refresh.
//   - Revocation: GitHub has no RFC 7009 endpoint. Revoke deletes the
//     token with DELETE {APIURL}/applications/{client_id}/token (HTTP
//     Basic with the client id and secret); a token GitHub no longer
//     knows counts as revoked.
//
// Register in GitHub (Settings, Developer settings, OAuth Apps or GitHub
// Apps):
//
//   - Authorization callback URL: https://app.example/auth/github/callback
//
// (path shown for the middleware's default BasePath "/auth" and the
// default Name "github"). GitHub has no RP-initiated or back-channel
// logout: logout ends the Gatehouse session and deletes the token.
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Defaults of Config.
const (
	// DefaultName is the provider's route name when Config.Name is empty.
	DefaultName = "github"
	// DefaultBaseURL is github.com, where users sign in.
	DefaultBaseURL = "https://github.com"
	// DefaultAPIURL is the REST API of github.com.
	DefaultAPIURL = "https://api.github.com"
	// APIVersion is the REST API version Gatehouse's requests ask for.
	APIVersion = "2022-11-28"
)

// DefaultScopes are requested when Config.Scopes is empty: the profile and
// the email addresses, read only.
func DefaultScopes() []string { return []string{"read:user", "user:email"} }

// ErrConfig is matched (errors.Is) by every configuration error of [New].
var ErrConfig = errors.New("github: invalid config")

// Config configures a GitHub login. Fields marked Required must be set; the
// rest have the documented defaults.
type Config struct {
	// Name is the provider's route name. Optional; default "github".
	Name string
	// ClientID and ClientSecret are the OAuth app's or GitHub App's
	// credentials. Required.
	ClientID, ClientSecret string
	// RedirectURL is the registered authorization callback URL,
	// https://app.example/auth/github/callback. Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// Scopes are requested at login (OAuth apps; a GitHub App's access is
	// set by its permissions instead). Optional; default DefaultScopes.
	Scopes []string
	// BaseURL is where users sign in: DefaultBaseURL, or a GitHub
	// Enterprise Server such as "https://github.example.com". Optional.
	BaseURL string
	// APIURL is the REST API's base URL. Optional; default DefaultAPIURL
	// with the default BaseURL, else {BaseURL}/api/v3 (GitHub Enterprise
	// Server).
	APIURL string
	// HTTPClient, Timeout, Now and Logger are passed to the engine.
	// Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// Provider is the GitHub adapter: a provider.RedirectProvider,
// provider.Revoker and provider.APIHoster. It is safe for concurrent use
// and keeps no per-user state.
type Provider struct {
	cfg      Config
	tokenURL string
	oa       *oauth2.Adapter
}

var (
	_ provider.RedirectProvider = (*Provider)(nil)
	_ provider.Revoker          = (*Provider)(nil)
	_ provider.APIHoster        = (*Provider)(nil)
)

func configErr(field, problem string) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: problem}
}

// New checks cfg and returns the adapter. It makes no network call.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if err := checkBase("BaseURL", cfg.BaseURL); err != nil {
		return nil, err
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
		if cfg.BaseURL != DefaultBaseURL {
			cfg.APIURL = cfg.BaseURL + "/api/v3"
		}
	}
	cfg.APIURL = strings.TrimSuffix(cfg.APIURL, "/")
	if err := checkBase("APIURL", cfg.APIURL); err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "":
		return nil, configErr("ClientID", "is required")
	case cfg.ClientSecret == "":
		return nil, configErr("ClientSecret", "is required (GitHub's token endpoint always asks for it)")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes()
	}
	p := &Provider{cfg: cfg, tokenURL: cfg.BaseURL + "/login/oauth/access_token"}
	oa, err := oauth2.New(oauth2.Config{
		Name:         cfg.Name,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		AuthURL:      cfg.BaseURL + "/login/oauth/authorize",
		TokenURL:     p.tokenURL,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       cfg.Scopes,
		AuthStyle:    provider.AuthStyleBody,
		Identity: func(ctx context.Context, _ *provider.Client, t *provider.Token) (*provider.Identity, error) {
			return p.identity(ctx, t)
		},
		APIHosts:   []string{provider.HostOf(cfg.APIURL)},
		HTTPClient: cfg.HTTPClient,
		Timeout:    cfg.Timeout,
		Now:        cfg.Now,
		Logger:     cfg.Logger,
	})
	if err != nil {
		return nil, oauth2.RelabelConfigError(err, ErrConfig)
	}
	p.oa = oa
	return p, nil
}

func checkBase(field, raw string) error {
	if err := oauth2.CheckURL(raw); err != nil {
		return configErr(field, err.Error())
	}
	if u, _ := url.Parse(raw); u.RawQuery != "" || u.ForceQuery {
		return configErr(field, "must not carry a query")
	}
	return nil
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.cfg.Name }

// DisplayName returns "GitHub", the provider's name for people.
func (p *Provider) DisplayName() string { return "GitHub" }

// Config returns a copy of the configuration with defaults filled in.
func (p *Provider) Config() Config {
	c := p.cfg
	c.Scopes = append([]string(nil), c.Scopes...)
	return c
}

// RedirectURL returns the configured callback URL (the middleware checks
// it against the URL it serves the callback at).
func (p *Provider) RedirectURL() string { return p.cfg.RedirectURL }

// WithRedirectURL returns a copy of the adapter with Config.RedirectURL
// set to redirectURL; the receiver is not changed. middleware.New calls it
// (its RedirectURLSetter) for an adapter without a RedirectURL, with the
// URL it serves the callback at.
func (p *Provider) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	oa, err := p.oa.CopyWithRedirectURL(redirectURL)
	if err != nil {
		return nil, oauth2.RelabelConfigError(err, ErrConfig)
	}
	c := *p
	c.cfg.RedirectURL = redirectURL
	c.oa = oa // its Identity hook is the receiver's identity, which reads no redirect URL
	return &c, nil
}

// APIHosts implements provider.APIHoster: the REST API's host.
func (p *Provider) APIHosts() []string { return p.oa.APIHosts() }

// SetCredential implements provider.Provider: Authorization: Bearer.
func (p *Provider) SetCredential(r *http.Request, t *provider.Token) { p.oa.SetCredential(r, t) }

// AuthURL implements provider.RedirectProvider.
func (p *Provider) AuthURL(req provider.AuthRequest) string { return p.oa.AuthURL(req) }

// Exchange implements provider.RedirectProvider: the code, the PKCE
// verifier and the redirect URL go to the token endpoint.
func (p *Provider) Exchange(ctx context.Context, code, verifier string) (*provider.Token, error) {
	if code == "" {
		return nil, &provider.Error{Provider: p.cfg.Name, Op: "exchange", Kind: provider.ErrInvalidGrant, Err: errors.New("empty code")}
	}
	if p.cfg.RedirectURL == "" {
		return nil, fmt.Errorf("github: exchange: %w", oauth2.ErrNoRedirectURL)
	}
	params := map[string]any{"grant_type": "authorization_code", "code": code, "redirect_uri": p.cfg.RedirectURL}
	if verifier != "" {
		params["code_verifier"] = verifier
	}
	return p.token(ctx, "exchange", params)
}

// Refresh implements provider.Provider. An OAuth app's token has no
// refresh token: ErrNoRefreshToken. A GitHub App's refresh token is
// single use; the reply carries the next one.
func (p *Provider) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	if t == nil || t.RefreshToken == "" {
		return nil, &provider.Error{Provider: p.cfg.Name, Op: "refresh", Kind: provider.ErrNoRefreshToken}
	}
	tok, err := p.token(ctx, "refresh", map[string]any{"grant_type": "refresh_token", "refresh_token": t.RefreshToken})
	if err != nil {
		return nil, err
	}
	if tok.Scopes == nil {
		tok.Scopes = append([]string(nil), t.Scopes...)
	}
	return provider.RefreshedToken(t, tok), nil
}

// token POSTs params to the token endpoint and reads GitHub's reply,
// whose errors come with status 200.
func (p *Provider) token(ctx context.Context, op string, params map[string]any) (*provider.Token, error) {
	params["client_id"], params["client_secret"] = p.cfg.ClientID, p.cfg.ClientSecret
	resp, err := p.oa.Client().Do(ctx, op, provider.Request{
		URL: p.tokenURL, Params: params,
		Header: http.Header{"Accept": {"application/json"}},
	})
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) && pe.Code != "" {
			pe.Kind = errorKind(pe.Code, pe.Kind)
		}
		return nil, err
	}
	obj, err := provider.DecodeJSONObject(resp.Body, "")
	if err != nil {
		return nil, &provider.Error{Provider: p.cfg.Name, Op: op, StatusCode: resp.StatusCode, Kind: provider.ErrBadResponse, Err: err}
	}
	if code, present := obj["error"]; present {
		s, _ := code.(string)
		desc, _ := obj["error_description"].(string)
		uri, _ := obj["error_uri"].(string)
		body := resp.Body
		if len(body) > provider.MaxErrorBody {
			body = body[:provider.MaxErrorBody]
		}
		return nil, &provider.Error{Provider: p.cfg.Name, Op: op, StatusCode: resp.StatusCode, Code: s, Description: desc, URI: uri,
			Body: append([]byte(nil), body...), Kind: errorKind(s, provider.ErrRejected)}
	}
	tok, err := provider.ParseToken(resp.Body, resp.Header.Get("Content-Type"), resp.Received, provider.ParseOptions{})
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) {
			pe.Provider, pe.Op, pe.StatusCode = p.cfg.Name, op, resp.StatusCode
		}
		return nil, err
	}
	return tok, nil
}

// errorKind maps GitHub's token endpoint error codes.
func errorKind(code string, otherwise error) error {
	switch code {
	case "bad_verification_code", "bad_refresh_token", "invalid_grant":
		return provider.ErrInvalidGrant
	}
	return otherwise
}

// Identity implements provider.Provider (see the package documentation).
func (p *Provider) Identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	return p.oa.Identity(ctx, t)
}

func (p *Provider) identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	resp, err := p.api(ctx, "identity", "/user", t)
	if err != nil {
		return nil, err
	}
	user, err := provider.DecodeJSONObject(resp.Body, "")
	if err != nil {
		return nil, &provider.Error{Provider: p.cfg.Name, Op: "identity", StatusCode: resp.StatusCode, Kind: provider.ErrBadResponse, Err: err}
	}
	id := &provider.Identity{
		Subject: oauth2.ClaimString(user, "id"),
		Name:    oauth2.ClaimString(user, "name"),
		Picture: oauth2.ClaimString(user, "avatar_url"),
		Raw:     user,
	}
	if id.Subject == "" {
		return nil, &provider.Error{Provider: p.cfg.Name, Op: "identity", StatusCode: resp.StatusCode, Kind: provider.ErrBadResponse, Err: errors.New("/user has no id")}
	}
	if id.Name == "" {
		id.Name = oauth2.ClaimString(user, "login")
	}
	email, err := p.primaryEmail(ctx, t)
	if err != nil {
		return nil, err
	}
	id.Email = email
	return id, nil
}

// primaryEmail returns the verified primary address, "" when there is none
// or the token may not read the addresses.
func (p *Provider) primaryEmail(ctx context.Context, t *provider.Token) (string, error) {
	resp, err := p.api(ctx, "identity", "/user/emails", t)
	var pe *provider.Error
	if errors.As(err, &pe) && (pe.StatusCode == http.StatusNotFound || pe.StatusCode == http.StatusForbidden) {
		// No user:email scope (OAuth app) or no "Email addresses"
		// permission (GitHub App): the login goes on without an email.
		p.logger().LogAttrs(ctx, slog.LevelDebug, "gatehouse: github: the token may not read the user's email addresses",
			slog.String("provider", p.cfg.Name), slog.Int("status", pe.StatusCode))
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var emails []struct {
		Email    string `json:"email"`
		Verified bool   `json:"verified"`
		Primary  bool   `json:"primary"`
	}
	if err := json.Unmarshal(resp.Body, &emails); err != nil {
		return "", &provider.Error{Provider: p.cfg.Name, Op: "identity", StatusCode: resp.StatusCode, Kind: provider.ErrBadResponse,
			Err: fmt.Errorf("/user/emails: %w", err)}
	}
	for _, e := range emails {
		if e.Primary && e.Verified {
			return e.Email, nil
		}
	}
	return "", nil
}

func (p *Provider) logger() *slog.Logger {
	if p.cfg.Logger != nil {
		return p.cfg.Logger
	}
	return slog.Default()
}

// api GETs path of the REST API with t.
func (p *Provider) api(ctx context.Context, op, path string, t *provider.Token) (*provider.Response, error) {
	hdr := http.Header{"Accept": {"application/vnd.github+json"}, "X-Github-Api-Version": {APIVersion}}
	r := &http.Request{Header: hdr}
	p.oa.SetCredential(r, t)
	resp, err := p.oa.Client().Do(ctx, op, provider.Request{URL: p.cfg.APIURL + path, Header: hdr})
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) && pe.StatusCode == http.StatusUnauthorized {
			pe.Kind = provider.ErrUnauthorized
		}
		return nil, err
	}
	return resp, nil
}

// Revoke implements provider.Revoker with GitHub's "Delete an app token"
// (https://docs.github.com/rest/apps/oauth-applications#delete-an-app-token):
// DELETE {APIURL}/applications/{client_id}/token with HTTP Basic client
// credentials and the access token in the JSON body. 404 (GitHub no
// longer knows the token) counts as success.
func (p *Provider) Revoke(ctx context.Context, t *provider.Token) error {
	if t == nil || t.AccessToken == "" {
		return nil
	}
	_, err := p.oa.Client().Do(ctx, "revoke", provider.Request{
		Method:    http.MethodDelete,
		URL:       p.cfg.APIURL + "/applications/" + url.PathEscape(p.cfg.ClientID) + "/token",
		Params:    map[string]any{"access_token": t.AccessToken},
		Encoding:  provider.JSONEncoding,
		BasicUser: p.cfg.ClientID,
		BasicPass: p.cfg.ClientSecret,
		Header:    http.Header{"Accept": {"application/vnd.github+json"}, "X-Github-Api-Version": {APIVersion}},
	})
	var pe *provider.Error
	if errors.As(err, &pe) && pe.StatusCode == http.StatusNotFound {
		return nil
	}
	return err
}
