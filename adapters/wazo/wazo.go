// Package wazo is Gatehouse's adapter for wazo-auth, the authentication
// service of the Wazo Platform (REST API 0.1). Upstream documentation:
// https://wazo-platform.org/documentation (see "Authenticate a user" and the
// wazo-auth API reference).
//
// Wazo is a password provider ([provider.PasswordProvider]): there is no
// redirect. The application shows a username/password form and [Provider.Login]
// POSTs {base}/token with HTTP Basic credentials and a JSON body asking for
// an offline token (access_type "offline" plus the configured client_id), so
// the reply carries a refresh token. The password is used for that one
// request and is never stored, logged or put in an error.
//
// The adapter handles these quirks of wazo-auth (see the upstream
// documentation above):
//
//   - replies are wrapped in {"data": {...}};
//   - two error body shapes, the legacy {"reason": [...], "status_code": n}
//     on /token and {"message", "error_id", "details"} elsewhere, both decoded
//     by [DecodeError] and classified by status code;
//   - every token call sends a JSON object body (wazo-auth force-parses it);
//   - expires_at is naive server-local time and is never read. wazo-auth
//     sends no expires_in, so Token.Expiry is the local receipt time plus the
//     lifetime actually granted, utc_expires_at - utc_issued_at (naive UTC,
//     optional fraction of any length); a skewed server clock does not
//     matter. Without utc_issued_at, utc_expires_at is the absolute expiry;
//   - a refresh reply has no refresh_token: the old one is kept, and the same
//     client_id is sent again;
//   - a client_id mismatch is a 401, mapped to [provider.ErrInvalidGrant];
//   - upstream calls carry X-Auth-Token, not Authorization;
//   - revoke (DELETE {base}/token/{token}) is idempotent.
//
// [Provider.Identity] makes no network call: the token reply names the user
// (metadata.uuid, auth_id, metadata.tenant_uuid), and Login and Refresh keep
// those non-secret values in Token.Extra.
//
// The base URL is configurable because wazo-auth is reached at /0.1 directly
// (port 9497) and at /api/auth/0.1 behind the platform's proxy.
package wazo

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
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Defaults and limits of Config.
const (
	// DefaultName is Config.Name's default.
	DefaultName = "wazo"
	// DefaultExpiration is Config.Expiration's default, in seconds.
	DefaultExpiration = 3600
	// MaxExpiration is the longest lifetime wazo-auth grants (10 years), in
	// seconds.
	MaxExpiration = 315360000
	// ShortExpiration is the Expiration, in seconds, below which New logs
	// a warning: a session refreshes its token once two thirds of its
	// lifetime have passed (the refresh margin is capped at a third of it),
	// so a token of a few seconds means a refresh call to wazo-auth every
	// few seconds for every active session, each one a new wazo-auth
	// session.
	ShortExpiration = 60
)

// Session types for Config.SessionType (sent as the Wazo-Session-Type
// header).
const (
	SessionMobile  = "mobile"
	SessionDesktop = "desktop"
)

// TokenType is the provider.Token TokenType of Wazo tokens: the header they
// are presented in.
const TokenType = "X-Auth-Token"

// Keys of provider.Token.Extra filled by Login and Refresh. None of them is
// a secret.
const (
	ExtraUserUUID    = "user_uuid"    // metadata.uuid: the user
	ExtraAuthID      = "auth_id"      // the authenticated id (usually the user uuid)
	ExtraTenantUUID  = "tenant_uuid"  // metadata.tenant_uuid
	ExtraSessionUUID = "session_uuid" // the wazo-auth session
	ExtraMetadata    = "metadata"     // the whole metadata object
)

// Config configures a Provider. Only BaseURL is required.
type Config struct {
	// Name is the provider's route name. Optional; default "wazo".
	Name string
	// BaseURL is wazo-auth's full base URL including the version path, for
	// example https://wazo.example.com/api/auth/0.1 (behind the platform's
	// proxy) or http://127.0.0.1:9497/0.1 (direct). Required; https, or
	// http on a loopback host.
	BaseURL string
	// ClientID identifies this application to wazo-auth. With it, Login
	// asks for an offline token and gets a refresh token; Refresh resends
	// it (wazo-auth refuses a different one). Optional, but without it
	// tokens cannot be refreshed.
	ClientID string
	// Expiration is the access-token lifetime asked for, in seconds, 1 to
	// MaxExpiration. Optional; default DefaultExpiration (3600).
	Expiration int
	// SessionType is sent as the Wazo-Session-Type header: "" (none),
	// SessionMobile or SessionDesktop. A mobile offline login makes
	// wazo-auth issue a new refresh token and revoke the user's other
	// mobile ones. Optional; default "".
	SessionType string
	// RevokeRefreshToken makes Revoke also delete the refresh token
	// (DELETE {base}/users/me/tokens/{client_id}). wazo-auth keeps one
	// refresh token per user and client_id, shared by all of the user's
	// logins through this application, so deleting it ends the ability of
	// the user's other sessions to refresh. Optional; default false.
	RevokeRefreshToken bool
	// HTTPClient, Timeout and Now are passed to provider.Client. Optional:
	// defaults provider.NewHTTPClient(), provider.DefaultTimeout, time.Now.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	// Logger receives New's configuration warnings (an Expiration below
	// ShortExpiration). Optional; default slog.Default().
	Logger *slog.Logger
}

// Provider is a provider.PasswordProvider and provider.Revoker for
// wazo-auth. It is safe for concurrent use.
type Provider struct {
	cfg    Config
	base   string
	client *provider.Client
}

var (
	_ provider.PasswordProvider = (*Provider)(nil)
	_ provider.Revoker          = (*Provider)(nil)
	_ provider.APIHoster        = (*Provider)(nil)
)

// ErrConfig is wrapped by every configuration error New returns; those
// errors are *oauth2.ConfigError values naming the Config field at fault.
var ErrConfig = errors.New("wazo: invalid config")

// cfgErr is a configuration error naming this package and the field.
func cfgErr(field, problem string, args ...any) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: fmt.Sprintf(problem, args...)}
}

// New checks cfg, fills its defaults and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if strings.ContainsAny(cfg.Name, "/?#% ") {
		return nil, cfgErr("Name", "must be a URL path segment (got %q)", cfg.Name)
	}
	if err := oauth2.CheckURL(cfg.BaseURL); err != nil {
		return nil, cfgErr("BaseURL", "%v", err)
	}
	if u, _ := url.Parse(cfg.BaseURL); u.RawQuery != "" || u.ForceQuery {
		return nil, cfgErr("BaseURL", "must not carry a query")
	}
	if cfg.Expiration == 0 {
		cfg.Expiration = DefaultExpiration
	}
	if cfg.Expiration < 1 || cfg.Expiration > MaxExpiration {
		return nil, cfgErr("Expiration", "must be 1 to %d seconds (got %d)", MaxExpiration, cfg.Expiration)
	}
	if len(cfg.ClientID) > 1024 {
		return nil, cfgErr("ClientID", "must be at most 1024 bytes")
	}
	switch cfg.SessionType {
	case "", SessionMobile, SessionDesktop:
	default:
		return nil, cfgErr("SessionType", "must be \"\", %q or %q (got %q)", SessionMobile, SessionDesktop, cfg.SessionType)
	}
	if cfg.RevokeRefreshToken && cfg.ClientID == "" {
		return nil, cfgErr("RevokeRefreshToken", "needs ClientID")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Expiration < ShortExpiration {
		cfg.Logger.LogAttrs(context.Background(), slog.LevelWarn,
			"gatehouse: wazo Expiration is shorter than a minute; every active session will refresh its token every two thirds of it",
			slog.String("provider", cfg.Name), slog.Int("expiration_seconds", cfg.Expiration), slog.Int("suggested_minimum_seconds", ShortExpiration))
	}
	return &Provider{
		cfg:  cfg,
		base: strings.TrimRight(cfg.BaseURL, "/"),
		client: &provider.Client{
			Provider:    cfg.Name,
			HTTPClient:  cfg.HTTPClient,
			Timeout:     cfg.Timeout,
			Envelope:    "data",
			DecodeError: DecodeError,
			Now:         cfg.Now,
		},
	}, nil
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.cfg.Name }

// DisplayName returns "Wazo", the provider's name for people.
func (p *Provider) DisplayName() string { return "Wazo" }

// APIHosts implements provider.APIHoster: the host of BaseURL, the only
// host middleware.Auth.Client sends the user's X-Auth-Token to.
func (p *Provider) APIHosts() []string { return []string{provider.HostOf(p.base)} }

// Config returns a copy of the provider's configuration, defaults filled.
func (p *Provider) Config() Config { return p.cfg }

// SetCredential implements provider.Provider: X-Auth-Token. Any
// Authorization or X-Auth-Token header already on r (a browser may have
// sent one) is removed first.
func (p *Provider) SetCredential(r *http.Request, t *provider.Token) {
	r.Header.Del("Authorization")
	r.Header.Del("X-Auth-Token")
	if t != nil && t.AccessToken != "" {
		r.Header.Set("X-Auth-Token", t.AccessToken)
	}
}

// tokenBody is the JSON body of POST {base}/token. wazo-auth force-parses
// the body as JSON, so a JSON object is sent on every call.
func (p *Provider) tokenBody() map[string]any {
	return map[string]any{"expiration": p.cfg.Expiration}
}

func (p *Provider) header() http.Header {
	h := http.Header{}
	if p.cfg.SessionType != "" {
		h.Set("Wazo-Session-Type", p.cfg.SessionType)
	}
	return h
}

func (p *Provider) fail(op string, kind, cause error) *provider.Error {
	return &provider.Error{Provider: p.cfg.Name, Op: op, Kind: kind, Err: cause}
}

// Login implements provider.PasswordProvider: POST {base}/token with HTTP
// Basic username:password. With a ClientID it asks for an offline token,
// so the reply carries a refresh token. Refused credentials match
// provider.ErrInvalidCredentials; too many sessions for the user matches
// provider.ErrUnavailable with Code "too_many_sessions" (see DecodeError).
// The password appears in no error, log or URL.
func (p *Provider) Login(ctx context.Context, username, password string) (*provider.Token, error) {
	if username == "" || strings.ContainsAny(username, ":\r\n\x00") {
		// HTTP Basic cannot carry a ':' in the user name; wazo-auth would
		// answer 401 for an empty one. No need to ask.
		return nil, p.fail("login", provider.ErrInvalidCredentials, errors.New("unusable user name"))
	}
	body := p.tokenBody()
	if p.cfg.ClientID != "" {
		body["access_type"] = "offline"
		body["client_id"] = p.cfg.ClientID
	}
	return p.token(ctx, "login", provider.Request{
		URL:       p.base + "/token",
		Params:    body,
		Encoding:  provider.JSONEncoding,
		BasicUser: username,
		BasicPass: password,
		Header:    p.header(),
	}, provider.ErrInvalidCredentials)
}

// Refresh implements provider.Provider: POST {base}/token with the refresh
// token and the same client_id, no Basic credentials. The reply carries no
// refresh token (wazo-auth never rotates it), so the returned Token keeps
// t's. An unknown or deleted refresh token, or a client_id mismatch (both
// 401 upstream), matches provider.ErrInvalidGrant.
func (p *Provider) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	if t == nil || t.RefreshToken == "" {
		return nil, p.fail("refresh", provider.ErrNoRefreshToken, nil)
	}
	if p.cfg.ClientID == "" {
		return nil, p.fail("refresh", provider.ErrNoRefreshToken, errors.New("no ClientID configured"))
	}
	body := p.tokenBody()
	body["client_id"] = p.cfg.ClientID
	body["refresh_token"] = t.RefreshToken
	tok, err := p.token(ctx, "refresh", provider.Request{
		URL:      p.base + "/token",
		Params:   body,
		Encoding: provider.JSONEncoding,
		Header:   p.header(),
	}, provider.ErrInvalidGrant)
	if err != nil {
		return nil, err
	}
	return provider.RefreshedToken(t, tok), nil
}

// token performs a POST {base}/token and parses the reply; a 401 becomes
// kind401.
func (p *Provider) token(ctx context.Context, op string, req provider.Request, kind401 error) (*provider.Token, error) {
	resp, err := p.client.Do(ctx, op, req)
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) && pe.StatusCode == http.StatusUnauthorized {
			pe.Kind = kind401
		}
		return nil, err
	}
	tok, err := parseReply(resp.Body, resp.Received)
	if err != nil {
		return nil, &provider.Error{Provider: p.cfg.Name, Op: op, StatusCode: resp.StatusCode, Kind: provider.ErrBadResponse, Err: err}
	}
	return tok, nil
}

// Identity implements provider.Provider without a network call: the token
// reply already names the user (metadata.uuid, else auth_id), and Login and
// Refresh keep it in t.Extra. wazo-auth's validation endpoint,
// GET {base}/token/{token}, is deliberately not used: it puts the live
// token in a URL, where proxies log it. Subject is the user uuid; Raw holds
// auth_id, tenant_uuid, session_uuid and metadata.
func (p *Provider) Identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	if t == nil {
		return nil, p.fail("identity", provider.ErrBadResponse, errors.New("no token"))
	}
	sub, _ := t.Extra[ExtraUserUUID].(string)
	if sub == "" {
		sub, _ = t.Extra[ExtraAuthID].(string)
	}
	if sub == "" {
		return nil, p.fail("identity", provider.ErrBadResponse, errors.New("token carries no Wazo user (metadata.uuid or auth_id)"))
	}
	raw := map[string]any{}
	for _, k := range []string{ExtraAuthID, ExtraTenantUUID, ExtraSessionUUID, ExtraMetadata} {
		if v, ok := t.Extra[k]; ok {
			raw[k] = v
		}
	}
	return &provider.Identity{Provider: p.cfg.Name, Subject: sub, Raw: raw}, nil
}

// Revoke implements provider.Revoker: DELETE {base}/token/{token}, which
// wazo-auth answers 200 even for an unknown token. With
// Config.RevokeRefreshToken it first deletes the refresh token
// (DELETE {base}/users/me/tokens/{client_id}; when the access token is
// already refused, it refreshes once to prove the refresh token is still
// alive and deletes it with the fresh access token), since deleting an access
// token leaves the refresh token alive and wazo-auth refresh tokens never
// expire.
//
// wazo-auth takes the token to revoke in the URL path; it is dead once the
// call succeeds, so a copy in an access log is worthless.
func (p *Provider) Revoke(ctx context.Context, t *provider.Token) error {
	if t == nil || t.AccessToken == "" {
		return nil
	}
	var errs []error
	if p.cfg.RevokeRefreshToken && t.RefreshToken != "" {
		errs = append(errs, p.revokeRefresh(ctx, t))
	}
	errs = append(errs, p.revokeAccess(ctx, t.AccessToken))
	return errors.Join(errs...)
}

// revokeAccess deletes one access token. A 404 (the router's answer for a
// token that is not a UUID, which cannot exist upstream) is success.
func (p *Provider) revokeAccess(ctx context.Context, access string) error {
	_, err := p.client.Do(ctx, "revoke", provider.Request{
		Method: http.MethodDelete,
		URL:    p.base + "/token/" + url.PathEscape(access),
	})
	return ignoreStatus(err, http.StatusNotFound)
}

// revokeRefresh deletes the (user, client_id) refresh token with
// DELETE {base}/users/me/tokens/{client_id}, authenticated by the access
// token; 404 means it is gone already. When the access token is refused
// (expired by logout time), the refresh token itself proves whether there
// is anything left: a refresh refused as invalid_grant means it is dead;
// otherwise the fresh access token deletes it and is revoked in turn.
func (p *Provider) revokeRefresh(ctx context.Context, t *provider.Token) error {
	err := p.deleteRefresh(ctx, t)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.StatusCode != http.StatusUnauthorized {
		return err
	}
	fresh, err := p.Refresh(ctx, t)
	if errors.Is(err, provider.ErrInvalidGrant) {
		return nil
	}
	if err != nil {
		return err
	}
	return errors.Join(p.deleteRefresh(ctx, fresh), p.revokeAccess(ctx, fresh.AccessToken))
}

func (p *Provider) deleteRefresh(ctx context.Context, t *provider.Token) error {
	hdr := http.Header{}
	p.SetCredential(&http.Request{Header: hdr}, t)
	_, err := p.client.Do(ctx, "revoke", provider.Request{
		Method: http.MethodDelete,
		URL:    p.base + "/users/me/tokens/" + url.PathEscape(p.cfg.ClientID),
		Header: hdr,
	})
	return ignoreStatus(err, http.StatusNotFound)
}

// ignoreStatus returns nil when err is a *provider.Error with that status.
func ignoreStatus(err error, status int) error {
	var pe *provider.Error
	if errors.As(err, &pe) && pe.StatusCode == status {
		return nil
	}
	return err
}
