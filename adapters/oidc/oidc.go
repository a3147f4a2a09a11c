package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Defaults of Config.
const (
	// DefaultName is the provider's route name when Config.Name is empty.
	DefaultName = "oidc"
	// DefaultKeyRefetchInterval is the least time between two JWKS
	// refetches caused by tokens naming an unknown key.
	DefaultKeyRefetchInterval = 10 * time.Second
	// DefaultKeyCacheTTL is how long a fetched JWKS is used before it is
	// fetched again on the next verification.
	DefaultKeyCacheTTL = time.Hour
)

// ExtraIDToken is the provider.Token.Extra key under which the raw ID token
// of the login (or of the latest refresh reply carrying one) is kept, for
// id_token_hint at logout. It stays server-side: the token set is never
// sent to the browser, and provider.Token's String, slog and JSON forms
// omit Extra.
const ExtraIDToken = "id_token"

// AuthMethod is a client authentication method of the token endpoint
// (OpenID Connect Core §9; RFC 8414 token_endpoint_auth_methods_supported).
type AuthMethod string

// Client authentication methods.
const (
	// AuthClientSecretBasic sends the client id and secret as HTTP Basic
	// (RFC 6749 §2.3.1).
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	// AuthClientSecretPost sends them in the request body.
	AuthClientSecretPost AuthMethod = "client_secret_post"
	// AuthNone is a public client: client_id in the body, no secret
	// (PKCE protects the code).
	AuthNone AuthMethod = "none"
)

// Endpoints are an OpenID Provider's endpoints and capabilities, as its
// discovery document would give them. Set Config.Endpoints to use them
// instead of discovery.
type Endpoints struct {
	// Authorization is the authorization endpoint. Required.
	Authorization string
	// Token is the token endpoint. Required.
	Token string
	// JWKS is the jwks_uri the ID token keys are read from. Required.
	JWKS string
	// UserInfo is the UserInfo endpoint. Optional.
	UserInfo string
	// Revocation is an RFC 7009 revocation endpoint, used at logout.
	// Optional.
	Revocation string
	// EndSession is the RP-Initiated Logout end_session_endpoint.
	// Optional.
	EndSession string
	// SigningAlgs are the ID token signing algorithms the OP uses
	// (id_token_signing_alg_values_supported). RS256 is always accepted;
	// of the others only asymmetric ones are (RS384, RS512, PS256, PS384,
	// PS512, ES256, ES384, ES512, EdDSA). Optional.
	SigningAlgs []string
	// AuthMethods are the token endpoint authentication methods the OP
	// supports (token_endpoint_auth_methods_supported). Optional; default
	// client_secret_basic, as OpenID Connect Discovery §3 says.
	AuthMethods []string
	// AuthorizationResponseIssRequired says the OP sends "iss" in every
	// authorization response (RFC 9207
	// authorization_response_iss_parameter_supported): a response
	// without it is then refused.
	AuthorizationResponseIssRequired bool
}

// IssuerValidatorFunc validates the issuer of every ID token and logout
// token (multi-tenant OPs), in place of the exact comparison with
// Config.Issuer. It receives the token's iss (never empty) and all its
// claims, after the signature was verified; a nil error accepts the
// issuer. It decides for an iss equal to Config.Issuer too: accept that
// value explicitly when the OP's tokens may carry it, and refuse it when
// Config.Issuer is a template no token should carry (Microsoft Entra ID's
// "https://login.microsoftonline.com/{tenantid}/v2.0").
//
// An error matching provider.ErrRejected (wrap it with %w) is a policy
// refusal — a valid token from an issuer or tenant this app does not
// admit — and the login fails as rejected (the middleware's 400 "login
// failed" page) rather than as an unexpected answer from the OP (502).
// Any other error is a bad token. A refusal on refresh always ends the
// login (provider.ErrInvalidGrant).
type IssuerValidatorFunc func(iss string, claims map[string]any) error

// Config configures a [Provider]. Fields marked Required must be set; the
// rest have the documented defaults.
type Config struct {
	// Name is the provider's route name. Optional; default "oidc".
	Name string
	// DisplayName is the OP's name for people ("Okta"), shown on the
	// middleware's built-in pages unless the app's Pages.Display names it.
	// The presets set it. Optional; default: the pages show Name.
	DisplayName string
	// Issuer is the OP's issuer identifier, e.g.
	// "https://accounts.example.com". Discovery reads
	// {Issuer}/.well-known/openid-configuration (or DiscoveryURL), whose
	// "issuer" must equal Issuer byte for byte; ID tokens must carry it as
	// iss (see IssuerValidator). Required; https, or http on a loopback
	// host.
	Issuer string
	// DiscoveryURL is where the discovery document is read when it is not
	// at {Issuer}/.well-known/openid-configuration: an OP that publishes
	// it elsewhere, or whose published issuer is a template that no URL
	// can be derived from (Microsoft Entra ID's common endpoint,
	// https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration,
	// publishes "https://login.microsoftonline.com/{tenantid}/v2.0"). The
	// document's "issuer" must still equal Issuer byte for byte: only the
	// place it is read from changes. Optional; https, or http on a
	// loopback host; not together with Endpoints.
	DiscoveryURL string
	// ClientID is the registered client id. Required.
	ClientID string
	// ClientSecret is the client secret. Empty for a public client.
	ClientSecret string
	// RedirectURL is the registered redirect URI,
	// https://app.example/auth/{Name}/callback with the middleware's
	// default BasePath. Optional when the provider is used with
	// middleware.New and its Config.PublicURL: New fills it in (see
	// [Provider.WithRedirectURL]). Without it, AuthURL returns "" and the
	// code exchange fails with oauth2.ErrNoRedirectURL.
	RedirectURL string
	// Scopes are requested at login; "openid" is always included.
	// Optional; default openid, profile, email.
	Scopes []string
	// AuthMethod is how the client authenticates at the token endpoint.
	// Optional; default: none without a ClientSecret, otherwise
	// client_secret_basic when the OP supports it, else
	// client_secret_post.
	AuthMethod AuthMethod
	// Endpoints, when set, are used instead of discovery (for OPs that
	// publish no discovery document). Optional.
	Endpoints *Endpoints
	// PostLogoutRedirectURL is the post_logout_redirect_uri registered at
	// the OP, https://app.example/auth/{Name}/logged-out with the
	// middleware's default BasePath. With it, logout sends the browser to
	// the OP's end_session_endpoint and back. Optional, and never filled
	// in by middleware.New (only checked): registering it at the OP is
	// the app's decision.
	PostLogoutRedirectURL string
	// AuthParams are static extra authorization request parameters
	// (prompt, login_hint, acr_values, ...). They never override the
	// parameters of the flow itself. Optional.
	AuthParams url.Values
	// IssuerValidator, when set, validates the iss of every ID token and
	// logout token instead of the exact comparison with Issuer — for
	// multi-tenant OPs whose issuer carries the tenant, such as Microsoft
	// Entra ID's "https://login.microsoftonline.com/{tenantid}/v2.0". It
	// must check the issuer properly (for example that it is the template
	// with the token's "tid" filled in); it is never a way to skip the
	// check. It decides for an iss equal to Issuer too, so a token
	// carrying a template Issuer literally gets no free pass (see
	// IssuerValidatorFunc). The discovery document's issuer and the RFC
	// 9207 authorization response "iss" are still compared with Issuer
	// exactly. Optional; default nil: iss must equal Issuer.
	IssuerValidator IssuerValidatorFunc
	// SkipUserInfo does not call the UserInfo endpoint at login: the
	// identity comes from the ID token alone. Optional; default false.
	SkipUserInfo bool
	// APIHosts are extra hosts of the OP's API that may receive the user's
	// access token through middleware.Auth.Client, beyond the UserInfo
	// endpoint's host. Optional.
	APIHosts []string
	// KeyRefetchInterval is the least time between two JWKS refetches
	// caused by a token naming a key the cache does not hold, so that
	// junk tokens cannot make Gatehouse hammer the OP; also the least
	// time before a failed JWKS fetch is tried again (the cached keys,
	// if any, are used meanwhile). Optional; default
	// DefaultKeyRefetchInterval.
	KeyRefetchInterval time.Duration
	// KeyCacheTTL is how long a fetched JWKS is trusted before it is
	// fetched again (keys the OP withdrew stop verifying). Optional;
	// default DefaultKeyCacheTTL.
	KeyCacheTTL time.Duration
	// HTTPClient, Timeout and Now are passed to provider.Client for every
	// call (discovery, JWKS, token, UserInfo, revocation): bounded
	// replies (1 MiB), timeouts, no redirects. Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	// Logger receives warnings. Optional; default slog.Default().
	Logger *slog.Logger
}

// ErrConfig is wrapped by every configuration error [New] returns.
var ErrConfig = errors.New("oidc: invalid config")

// ErrDiscovery is wrapped by the errors [New] returns when the discovery
// document cannot be fetched or is not acceptable (for example an issuer
// that differs from Config.Issuer).
var ErrDiscovery = errors.New("oidc: discovery failed")

// Provider is an OpenID Connect relying party: a provider.NonceExchanger
// (and provider.Revoker, provider.APIHoster) for the middleware. It also
// has Issuer for the RFC 9207 check, EndSessionURL for RP-initiated logout
// and VerifyLogoutToken for back-channel logout. It is safe for concurrent
// use and keeps no per-user state.
type Provider struct {
	cfg      Config
	eps      Endpoints
	algs     []string
	oa       *oauth2.Adapter
	keys     *keySet
	verifier *gooidc.IDTokenVerifier
	client   *provider.Client
}

var (
	_ provider.NonceExchanger = (*Provider)(nil)
	_ provider.Revoker        = (*Provider)(nil)
	_ provider.APIHoster      = (*Provider)(nil)
)

// New fetches the OP's discovery document (from cfg.DiscoveryURL or
// {Issuer}/.well-known/openid-configuration; not when cfg.Endpoints is
// set), checks cfg and returns a Provider. ctx bounds the discovery fetch.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Issuer == "" {
		return nil, fmt.Errorf("%w: Issuer is required", ErrConfig)
	}
	if err := oauth2.CheckURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("%w: Issuer: %v", ErrConfig, err)
	}
	if u, _ := url.Parse(cfg.Issuer); u.RawQuery != "" || u.ForceQuery {
		return nil, fmt.Errorf("%w: Issuer must not carry a query", ErrConfig)
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("%w: ClientID is required", ErrConfig)
	}
	if cfg.RedirectURL != "" {
		if err := oauth2.CheckURL(cfg.RedirectURL); err != nil {
			return nil, fmt.Errorf("%w: RedirectURL: %v", ErrConfig, err)
		}
	}
	if cfg.PostLogoutRedirectURL != "" {
		if err := oauth2.CheckURL(cfg.PostLogoutRedirectURL); err != nil {
			return nil, fmt.Errorf("%w: PostLogoutRedirectURL: %v", ErrConfig, err)
		}
	}
	if cfg.DiscoveryURL != "" {
		if cfg.Endpoints != nil {
			return nil, fmt.Errorf("%w: DiscoveryURL and Endpoints exclude each other (Endpoints replace discovery)", ErrConfig)
		}
		if err := oauth2.CheckURL(cfg.DiscoveryURL); err != nil {
			return nil, fmt.Errorf("%w: DiscoveryURL: %v", ErrConfig, err)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeyRefetchInterval <= 0 {
		cfg.KeyRefetchInterval = DefaultKeyRefetchInterval
	}
	if cfg.KeyCacheTTL <= 0 {
		cfg.KeyCacheTTL = DefaultKeyCacheTTL
	}
	cfg.Scopes = withOpenID(cfg.Scopes)
	cfg.APIHosts = slices.Clone(cfg.APIHosts)
	client := &provider.Client{Provider: cfg.Name, HTTPClient: cfg.HTTPClient, Timeout: cfg.Timeout, Now: cfg.Now}

	var eps Endpoints
	if cfg.Endpoints != nil {
		eps = *cfg.Endpoints
		eps.SigningAlgs = slices.Clone(eps.SigningAlgs)
		eps.AuthMethods = slices.Clone(eps.AuthMethods)
	} else {
		where := cfg.DiscoveryURL
		if where == "" {
			where = DiscoveryURL(cfg.Issuer)
		}
		d, err := discover(ctx, client, where, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		eps = d
	}
	for _, u := range []struct{ field, v string }{
		{"authorization_endpoint", eps.Authorization}, {"token_endpoint", eps.Token}, {"jwks_uri", eps.JWKS},
	} {
		if u.v == "" {
			return nil, fmt.Errorf("%w: the OP names no %s", ErrConfig, u.field)
		}
	}
	for _, u := range []struct{ field, v string }{
		{"authorization_endpoint", eps.Authorization}, {"token_endpoint", eps.Token}, {"jwks_uri", eps.JWKS},
		{"userinfo_endpoint", eps.UserInfo}, {"revocation_endpoint", eps.Revocation}, {"end_session_endpoint", eps.EndSession},
	} {
		if u.v == "" {
			continue
		}
		if err := oauth2.CheckURL(u.v); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, u.field, err)
		}
	}
	method, err := authMethod(cfg, eps.AuthMethods)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, eps: eps, algs: signingAlgs(eps.SigningAlgs), client: client}
	oc := oauth2.Config{
		Name:           cfg.Name,
		ClientID:       cfg.ClientID,
		AuthURL:        eps.Authorization,
		TokenURL:       eps.Token,
		RevocationURL:  eps.Revocation,
		RedirectURL:    cfg.RedirectURL,
		Scopes:         cfg.Scopes,
		AuthStyle:      provider.AuthStyleBasic,
		AuthParams:     cfg.AuthParams,
		Issuer:         cfg.Issuer,
		IssuerRequired: eps.AuthorizationResponseIssRequired,
		UserInfoURL:    eps.UserInfo,
		APIHosts:       cfg.APIHosts,
		HTTPClient:     cfg.HTTPClient,
		Timeout:        cfg.Timeout,
		Now:            cfg.Now,
		Logger:         cfg.Logger,
	}
	switch method {
	case AuthClientSecretBasic:
		oc.ClientSecret = cfg.ClientSecret
	case AuthClientSecretPost:
		oc.ClientSecret, oc.AuthStyle = cfg.ClientSecret, provider.AuthStyleBody
	case AuthNone:
		oc.AuthStyle = provider.AuthStyleBody
	}
	if eps.UserInfo == "" {
		// The engine needs an identity source; ours is Provider.Identity.
		oc.Identity = func(ctx context.Context, _ *provider.Client, t *provider.Token) (*provider.Identity, error) {
			return p.Identity(ctx, t)
		}
	}
	oa, err := oauth2.New(oc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	p.oa = oa
	p.cfg.AuthMethod = method
	p.keys = newKeySet(client, eps.JWKS, p.algs, cfg.KeyRefetchInterval, cfg.KeyCacheTTL, cfg.Now, cfg.Logger, cfg.Name)
	p.verifier = gooidc.NewVerifier(cfg.Issuer, p.keys, &gooidc.Config{
		ClientID:             cfg.ClientID,
		SupportedSigningAlgs: p.algs,
		Now:                  cfg.Now,
		// With a validator, iss is checked by checkIssuer after the
		// signature: the validator alone decides.
		SkipIssuerCheck: cfg.IssuerValidator != nil,
	})
	return p, nil
}

// withOpenID returns scopes with "openid" first, or the defaults.
func withOpenID(scopes []string) []string {
	if len(scopes) == 0 {
		return []string{"openid", "profile", "email"}
	}
	out := []string{"openid"}
	for _, s := range scopes {
		if s != "openid" && s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// asymmetricAlgs are the JWS algorithms an ID token may use: never "none",
// never HMAC (RFC 8725 §3.1, §3.2).
var asymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// signingAlgs is RS256 plus the advertised asymmetric algorithms.
func signingAlgs(advertised []string) []string {
	out := []string{"RS256"}
	for _, a := range asymmetricAlgs {
		if slices.Contains(advertised, a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func authMethod(cfg Config, supported []string) (AuthMethod, error) {
	if len(supported) == 0 {
		supported = []string{string(AuthClientSecretBasic)} // OpenID Connect Discovery §3 default
	}
	switch cfg.AuthMethod {
	case "":
		if cfg.ClientSecret == "" {
			return AuthNone, nil
		}
		for _, m := range []AuthMethod{AuthClientSecretBasic, AuthClientSecretPost} {
			if slices.Contains(supported, string(m)) {
				return m, nil
			}
		}
		return "", fmt.Errorf("%w: the OP supports none of client_secret_basic and client_secret_post (it offers %s); set AuthMethod",
			ErrConfig, strings.Join(supported, ", "))
	case AuthClientSecretBasic, AuthClientSecretPost:
		if cfg.ClientSecret == "" {
			return "", fmt.Errorf("%w: AuthMethod %s needs ClientSecret", ErrConfig, cfg.AuthMethod)
		}
		return cfg.AuthMethod, nil
	case AuthNone:
		if cfg.ClientSecret != "" {
			return "", fmt.Errorf("%w: AuthMethod none must not have a ClientSecret", ErrConfig)
		}
		return AuthNone, nil
	}
	return "", fmt.Errorf("%w: AuthMethod %q is not one of client_secret_basic, client_secret_post, none", ErrConfig, cfg.AuthMethod)
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return p.cfg.Name }

// DisplayName returns Config.DisplayName, the OP's name for people.
func (p *Provider) DisplayName() string { return p.cfg.DisplayName }

// RedirectURL returns Config.RedirectURL, the callback URL sent to the
// OpenID Provider ("" when unset). middleware.New checks it against the
// URL it serves the callback at, or fills it in when it is "".
func (p *Provider) RedirectURL() string { return p.cfg.RedirectURL }

// CopyWithRedirectURL returns a copy of the provider that sends
// redirectURL as its redirect URI (Config.RedirectURL). The receiver is
// not changed; the copy shares the endpoints, the key cache and every
// other setting (IssuerValidator included). Providers that wrap this one
// (google, entra) use it to implement WithRedirectURL for their own type.
func (p *Provider) CopyWithRedirectURL(redirectURL string) (*Provider, error) {
	oa, err := p.oa.CopyWithRedirectURL(redirectURL)
	if err != nil {
		return nil, oauth2.RelabelConfigError(err, ErrConfig)
	}
	c := *p
	c.cfg.RedirectURL = redirectURL
	c.oa = oa // its Identity hook (no UserInfo endpoint) is never called: Provider.Identity replaces it
	return &c, nil
}

// WithRedirectURL returns a copy of the provider with Config.RedirectURL
// set to redirectURL (the receiver is not changed). It implements the
// middleware's RedirectURLSetter: middleware.New calls it for a provider
// without a RedirectURL, with the URL it serves the callback at. A type
// that embeds *Provider must implement WithRedirectURL itself, returning
// its own type (middleware.New refuses a copy of another type).
func (p *Provider) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	return p.CopyWithRedirectURL(redirectURL)
}

// Config returns a copy of the configuration with defaults filled in
// (AuthMethod is the method in use).
func (p *Provider) Config() Config {
	c := p.cfg
	c.Scopes = slices.Clone(c.Scopes)
	c.APIHosts = slices.Clone(c.APIHosts)
	return c
}

// Endpoints returns the endpoints in use (from discovery or
// Config.Endpoints); SigningAlgs holds the algorithms ID tokens may use.
func (p *Provider) Endpoints() Endpoints {
	e := p.eps
	e.SigningAlgs = slices.Clone(p.algs)
	e.AuthMethods = slices.Clone(e.AuthMethods)
	return e
}

// Issuer implements the middleware's IssuerProvider: the callback refuses
// an authorization response whose "iss" differs from Config.Issuer, and
// one without "iss" when the OP advertises
// authorization_response_iss_parameter_supported (RFC 9207 §2.4).
func (p *Provider) Issuer() (issuer string, required bool) { return p.oa.Issuer() }

// APIHosts implements provider.APIHoster: the UserInfo endpoint's host and
// Config.APIHosts.
func (p *Provider) APIHosts() []string { return p.oa.APIHosts() }

// SetCredential implements provider.Provider: Authorization: Bearer.
func (p *Provider) SetCredential(r *http.Request, t *provider.Token) { p.oa.SetCredential(r, t) }

// AuthURL implements provider.RedirectProvider: response_type=code with
// state, PKCE S256 and, when req.Nonce is set, nonce. It returns "" when
// the provider has no RedirectURL (see Config.RedirectURL).
func (p *Provider) AuthURL(req provider.AuthRequest) string {
	if req.Scopes != nil {
		req.Scopes = withOpenID(req.Scopes)
	}
	return p.oa.AuthURL(req)
}

// Revoke implements provider.Revoker (RFC 7009) when the OP has a
// revocation endpoint; otherwise it does nothing.
func (p *Provider) Revoke(ctx context.Context, t *provider.Token) error { return p.oa.Revoke(ctx, t) }

func (p *Provider) now() time.Time { return p.cfg.Now() }

func (p *Provider) fail(op string, kind error, err error) *provider.Error {
	return &provider.Error{Provider: p.cfg.Name, Op: op, Kind: kind, Err: err}
}
