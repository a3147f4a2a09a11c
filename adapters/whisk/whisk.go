// Package whisk is the Gatehouse adapter for Whisk (API v2), a thin
// configuration of the generic [oauth2.Adapter].
//
// Whisk's documentation is at https://docs.whisk.com; the pages this adapter
// follows are "User Access Token" (https://docs.whisk.com/api-overview/auth/user-access-token),
// "Errors and Troubleshooting" (https://docs.whisk.com/resources/error-handling)
// and "Get a user" (https://docs.whisk.com/api/user-model/get-a-user).
//
// What the adapter does for Whisk:
//
//   - The authorization-code grant at /oauth/v2/authorize and /oauth/v2/token
//     on the login host, always with state and PKCE S256. Scopes are sent
//     joined by a space (%20); configured scopes may be written with commas
//     too. [Config.Offline] adds offline_access, which asks for a refresh
//     token, and [Config.IdentityProvider] sends identity_provider.
//   - Token calls are application/x-www-form-urlencoded POSTs with client_id
//     and client_secret in the body. Whisk's own auth-flow sample puts them
//     in the URL's query string; Gatehouse never does.
//   - Token replies may carry scope as a JSON array or as a space- or
//     comma-separated string; both are read.
//   - Refreshing deletes the previous access token upstream at once, so
//     [Adapter.Refresh] returns a whole new token set and callers
//     must swap it in atomically; the adapter never retries a call with the
//     old access token.
//   - The identity comes from GET /user/v2/me on the API host
//     ({"user": {...}}): Subject is user.id, Email user.email, Name the
//     personal details' first and last name, Picture their photo_url. Empty
//     strings and *_INVALID enum values mean "unset" and are dropped.
//   - Whisk error bodies ({"code": "auth.tokenExpired"}, see
//     [DecodeError]) become typed *provider.Error values.
//   - User tokens are sent as "Authorization: Bearer"; a token whose
//     TokenType is "Token" (a Whisk server or client token) is sent as
//     "Authorization: Token".
//
// The implicit grant is available only through [NewImplicit] with
// [Config.AllowImplicit] set: the token comes back in the URL fragment, with
// no refresh token, and an injected token cannot be detected (RFC 9700
// §2.1.2). The v2 documentation itself lists code as the only response type.
//
// For tests, package [github.com/gatehouse-auth/gatehouse/adapters/whisk/whisktest]
// is a fake Whisk server.
package whisk

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

// Defaults of Config.
const (
	// DefaultName is the default provider name.
	DefaultName = "whisk"
	// DefaultAuthBaseURL is Whisk's login host (authorize and token).
	DefaultAuthBaseURL = "https://login.whisk.com"
	// DefaultAPIBaseURL is Whisk's API host (/user/v2/me).
	DefaultAPIBaseURL = "https://api.whisk.com"
	// OfflineAccess is the scope that asks Whisk for a refresh token.
	OfflineAccess = "offline_access"
)

// Paths of Whisk's endpoints below the base URLs.
const (
	AuthorizePath = "/oauth/v2/authorize"
	TokenPath     = "/oauth/v2/token"
	MePath        = "/user/v2/me"
)

// Config configures a Whisk adapter.
type Config struct {
	// Name is the provider's route name. Optional; default "whisk".
	Name string
	// ClientID is the application id Whisk issued. Required.
	ClientID string
	// ClientSecret is the application secret. Required. It is only ever
	// sent in the token request's body.
	ClientSecret string
	// RedirectURL is the callback URL registered with Whisk (registration
	// is done out of band, through Whisk support); it must match byte for
	// byte. Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// Scopes are the scopes requested, e.g. "user.profile:read". Entries
	// may hold several scopes separated by spaces or commas. Optional.
	Scopes []string
	// Offline adds the offline_access scope, which asks Whisk for a refresh
	// token. Optional; default false. The adapter never requires a refresh
	// token to be present in a reply.
	Offline bool
	// IdentityProvider is sent as identity_provider, sending the user
	// straight to that identity provider (e.g. "google"). Optional.
	IdentityProvider string
	// AuthBaseURL is the login host that serves /oauth/v2/authorize and
	// /oauth/v2/token. Optional; default DefaultAuthBaseURL.
	AuthBaseURL string
	// APIBaseURL is the API host that serves /user/v2/me. Optional; default
	// DefaultAPIBaseURL.
	APIBaseURL string
	// AllowImplicit must be true for NewImplicit to succeed. Optional;
	// default false. New ignores it.
	AllowImplicit bool
	// HTTPClient carries the upstream calls. Optional; default
	// provider.NewHTTPClient(). Redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds each upstream call. Optional; default
	// provider.DefaultTimeout.
	Timeout time.Duration
	// Now is the clock used for token expiry. Optional; default time.Now.
	Now func() time.Time
	// Logger receives warnings. Optional; default slog.Default().
	Logger *slog.Logger
}

// Adapter is a Whisk provider.RedirectProvider. It is safe for concurrent
// use and keeps no per-user state.
//
// It deliberately does not implement provider.Revoker: Whisk documents no
// revocation endpoint, so logout can only forget the tokens locally.
type Adapter struct {
	oa      *oauth2.Adapter
	offline bool
	api     string // API base URL
}

// ImplicitAdapter is an Adapter that can also use Whisk's implicit grant
// (provider.ImplicitProvider). Only NewImplicit makes one.
type ImplicitAdapter struct {
	*Adapter
	implicit *oauth2.ImplicitAdapter
}

var (
	_ provider.RedirectProvider = (*Adapter)(nil)
	_ provider.ImplicitProvider = (*ImplicitAdapter)(nil)
	_ provider.APIHoster        = (*Adapter)(nil)
	_ provider.APIHoster        = (*ImplicitAdapter)(nil)
)

// ErrConfig is wrapped by every configuration error New returns; those
// errors are *oauth2.ConfigError values, name the Config field at fault and
// match oauth2.ErrConfig too.
var ErrConfig = errors.New("whisk: invalid config")

// cfgErr is a configuration error naming this package and the field.
func cfgErr(field, problem string, args ...any) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: fmt.Sprintf(problem, args...)}
}

// New checks cfg, fills its defaults and returns an Adapter.
func New(cfg Config) (*Adapter, error) {
	oc, err := cfg.oauth2Config()
	if err != nil {
		return nil, err
	}
	a, err := oauth2.New(oc)
	if err != nil {
		return nil, oauth2.RelabelConfigError(err, ErrConfig)
	}
	return newAdapter(a, cfg), nil
}

func newAdapter(oa *oauth2.Adapter, cfg Config) *Adapter {
	return &Adapter{oa: oa, offline: cfg.Offline, api: strings.TrimSuffix(oa.Config().UserInfoURL, MePath)}
}

// NewImplicit is New for an adapter that may also use the implicit grant
// (response_type=token, token in the redirect's fragment, no refresh token).
// It refuses unless cfg.AllowImplicit is true, and logs a warning when it is.
func NewImplicit(cfg Config) (*ImplicitAdapter, error) {
	if !cfg.AllowImplicit {
		return nil, oauth2.ErrImplicitNotAllowed
	}
	oc, err := cfg.oauth2Config()
	if err != nil {
		return nil, err
	}
	ia, err := oauth2.NewImplicit(oc)
	if err != nil {
		return nil, oauth2.RelabelConfigError(err, ErrConfig)
	}
	return &ImplicitAdapter{Adapter: newAdapter(ia.Adapter, cfg), implicit: ia}, nil
}

func (cfg Config) oauth2Config() (oauth2.Config, error) {
	if cfg.ClientID == "" {
		return oauth2.Config{}, cfgErr("ClientID", "is required")
	}
	if cfg.ClientSecret == "" {
		return oauth2.Config{}, cfgErr("ClientSecret", "is required")
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	authBase := strings.TrimRight(cfg.AuthBaseURL, "/")
	if authBase == "" {
		authBase = DefaultAuthBaseURL
	}
	apiBase := strings.TrimRight(cfg.APIBaseURL, "/")
	if apiBase == "" {
		apiBase = DefaultAPIBaseURL
	}
	for _, b := range []struct{ field, v string }{{"AuthBaseURL", authBase}, {"APIBaseURL", apiBase}} {
		if err := oauth2.CheckURL(b.v); err != nil {
			return oauth2.Config{}, cfgErr(b.field, "%v", err)
		}
		if u, err := url.Parse(b.v); err == nil && (u.RawQuery != "" || u.ForceQuery) {
			return oauth2.Config{}, cfgErr(b.field, "must not carry a query")
		}
	}
	var params url.Values
	if cfg.IdentityProvider != "" {
		params = url.Values{"identity_provider": {cfg.IdentityProvider}}
	}
	return oauth2.Config{
		Name:          cfg.Name,
		ClientID:      cfg.ClientID,
		ClientSecret:  cfg.ClientSecret,
		AuthURL:       authBase + AuthorizePath,
		TokenURL:      authBase + TokenPath,
		RedirectURL:   cfg.RedirectURL,
		Scopes:        NormalizeScopes(cfg.Scopes, cfg.Offline),
		AuthStyle:     provider.AuthStyleBody,
		Encoding:      provider.FormEncoding,
		AuthParams:    params,
		UserInfoURL:   apiBase + MePath,
		MapClaims:     MapUser,
		DecodeError:   DecodeError,
		AllowImplicit: cfg.AllowImplicit,
		HTTPClient:    cfg.HTTPClient,
		Timeout:       cfg.Timeout,
		Now:           cfg.Now,
		Logger:        cfg.Logger,
	}, nil
}

// APIHosts implements provider.APIHoster: the host of APIBaseURL, the only
// host middleware.Auth.Client sends the user's credential to.
func (a *Adapter) APIHosts() []string { return []string{provider.HostOf(a.api)} }

// NormalizeScopes splits every entry of scopes on spaces and commas (Whisk
// accepts both), drops empty and repeated scopes, and appends offline_access
// when offline is true and it is not there yet. Order is kept.
func NormalizeScopes(scopes []string, offline bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range scopes {
		for _, p := range provider.SplitScopes(s) {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	if offline && !seen[OfflineAccess] {
		out = append(out, OfflineAccess)
	}
	return out
}

// AuthURL implements provider.RedirectProvider: the Whisk authorize URL with
// client_id, redirect_uri, response_type=code, the scopes joined by %20,
// state, the PKCE S256 challenge and identity_provider when configured.
// Scopes asked for by req are normalised like the configured ones.
func (a *Adapter) AuthURL(req provider.AuthRequest) string {
	return a.oa.AuthURL(a.request(req))
}

// Name implements provider.Provider.
func (a *Adapter) Name() string { return a.oa.Name() }

// DisplayName returns "Whisk", the provider's name for people.
func (a *Adapter) DisplayName() string { return "Whisk" }

// RedirectURL returns Config.RedirectURL, the callback URL sent to Whisk.
// middleware.New checks it against the URL it serves the callback at.
func (a *Adapter) RedirectURL() string { return a.oa.RedirectURL() }

// WithRedirectURL returns a copy of the adapter with Config.RedirectURL
// set to redirectURL; the receiver is not changed. middleware.New calls it
// (its RedirectURLSetter) for an adapter without a RedirectURL, with the
// URL it serves the callback at.
func (a *Adapter) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	return a.withRedirectURL(redirectURL)
}

func (a *Adapter) withRedirectURL(redirectURL string) (*Adapter, error) {
	oa, err := a.oa.CopyWithRedirectURL(redirectURL)
	if err != nil {
		return nil, oauth2.RelabelConfigError(err, ErrConfig)
	}
	c := *a
	c.oa = oa
	return &c, nil
}

// Exchange implements provider.RedirectProvider: a form POST of the code,
// redirect_uri, code_verifier, client_id and client_secret to
// /oauth/v2/token. A used, expired or unknown code matches
// provider.ErrInvalidGrant.
func (a *Adapter) Exchange(ctx context.Context, code, verifier string) (*provider.Token, error) {
	return a.oa.Exchange(ctx, code, verifier)
}

// Refresh implements provider.Provider with grant_type=refresh_token. Whisk
// deletes t's access token as soon as it answers, so the caller must
// replace t with the returned set atomically and must not retry with t's
// access token. Refresh itself makes exactly one call and never retries. A
// reply without a refresh token keeps t's.
func (a *Adapter) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	return a.oa.Refresh(ctx, t)
}

// Identity implements provider.Provider from GET /user/v2/me (see MapUser).
// A token Whisk does not accept matches provider.ErrUnauthorized.
func (a *Adapter) Identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	return a.oa.Identity(ctx, t)
}

// APIRequest calls the Whisk API at path (below APIBaseURL, e.g.
// "/recipe/v2/search") as the user of t: a GET, or a POST of params with
// enc when params is non-nil, with the adapter's timeout and body limit. A
// 401 matches provider.ErrUnauthorized; other failures are typed as
// DecodeError says.
func (a *Adapter) APIRequest(ctx context.Context, path string, t *provider.Token, params map[string]any, enc provider.Encoding) (*provider.Response, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return a.oa.APIRequest(ctx, "api", a.api+path, t, params, enc)
}

func (a *Adapter) request(req provider.AuthRequest) provider.AuthRequest {
	if req.Scopes != nil {
		req.Scopes = NormalizeScopes(req.Scopes, a.offline)
	}
	return req
}

// SetCredential implements provider.Provider. User tokens go in
// "Authorization: Bearer"; a token whose TokenType is "Token" (a Whisk
// server or client token) goes in "Authorization: Token". Never the URL.
func (a *Adapter) SetCredential(r *http.Request, t *provider.Token) {
	scheme := "Bearer"
	if strings.EqualFold(t.TokenType, "token") {
		scheme = "Token"
	}
	r.Header.Del("X-Auth-Token")
	r.Header.Set("Authorization", scheme+" "+t.AccessToken)
}

// WithRedirectURL is [Adapter.WithRedirectURL] for the implicit adapter:
// the copy is an *ImplicitAdapter, implicit grant included.
func (a *ImplicitAdapter) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	c, err := a.Adapter.withRedirectURL(redirectURL)
	if err != nil {
		return nil, err
	}
	return &ImplicitAdapter{Adapter: c, implicit: &oauth2.ImplicitAdapter{Adapter: c.oa}}, nil
}

// ImplicitAuthURL implements provider.ImplicitProvider: AuthURL with
// response_type=token and no PKCE challenge.
func (a *ImplicitAdapter) ImplicitAuthURL(req provider.AuthRequest) string {
	return a.implicit.ImplicitAuthURL(a.request(req))
}

// TokenFromFragment implements provider.ImplicitProvider. It checks the
// fragment's values (access_token, token_type=Bearer, expires_in, scope);
// error= becomes a typed error, a missing or repeated value an error
// matching provider.ErrBadResponse. The token never has a refresh token.
func (a *ImplicitAdapter) TokenFromFragment(v url.Values) (*provider.Token, error) {
	return a.implicit.TokenFromFragment(v)
}
