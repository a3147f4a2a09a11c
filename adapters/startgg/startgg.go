// Package startgg is Gatehouse's adapter for start.gg (formerly smash.gg):
// OAuth 2.0 authorization code with PKCE, JSON token and refresh requests,
// and the user's identity from the GraphQL API's currentUser query.
//
// Upstream documentation:
// https://developer.start.gg/docs/oauth/oauth-overview (flow and endpoints),
// https://developer.start.gg/docs/oauth/scopes and
// https://developer.start.gg/docs/oauth/example-oauth-flow.
//
// The adapter is a configuration of the generic engine in
// [github.com/gatehouse-auth/gatehouse/adapters/oauth2]; what start.gg does
// differently is handled as follows:
//
//   - The authorize page is on start.gg, while the token, refresh and API
//     endpoints are on api.start.gg ([Config.AuthBaseURL],
//     [Config.APIBaseURL]). Both must be https (http only on loopback, for
//     tests).
//   - The code exchange (POST /oauth/access_token) and the refresh (POST
//     /oauth/refresh, a URL of its own) are JSON bodies carrying all of
//     grant_type, client_id (a JSON string), client_secret, scope and
//     redirect_uri. The bodies are built with encoding/json, never by string
//     concatenation.
//   - Token replies carry no scope: the requested scopes are kept. Access
//     tokens live 7 days; the refresh token returned by every refresh is
//     stored (start.gg may rotate it).
//   - There is no userinfo endpoint. The adapter's Identity asks POST /gql/alpha
//     for currentUser, and asks for email only when the token holds the
//     user.email scope. GraphQL errors arrive with HTTP 200 and become typed
//     errors ([GraphQLError]).
//   - Errors use start.gg's {"success":false,"message":"..."} envelope;
//     [DecodeError] maps them.
//
// The samples in start.gg's documentation put client_secret in the
// authorize URL. This adapter never does: the secret travels only in the
// server-to-server JSON body.
package startgg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Defaults of Config.
const (
	DefaultName        = "startgg"
	DefaultAuthBaseURL = "https://start.gg"
	DefaultAPIBaseURL  = "https://api.start.gg"
)

// Endpoint paths, relative to the base URLs.
const (
	// AuthorizePath is on the AuthBaseURL host.
	AuthorizePath = "/oauth/authorize"
	// TokenPath, RefreshPath and GraphQLPath are on the APIBaseURL host.
	TokenPath   = "/oauth/access_token"
	RefreshPath = "/oauth/refresh"
	GraphQLPath = "/gql/alpha"
)

// The scopes start.gg publishes (https://developer.start.gg/docs/oauth/scopes).
const (
	// ScopeIdentity grants the currentUser query and public user fields.
	// Gatehouse needs it to learn who logged in.
	ScopeIdentity = "user.identity"
	// ScopeEmail adds currentUser.email; it needs ScopeIdentity too.
	ScopeEmail = "user.email"
	// ScopeTournamentManager grants seeding and bracket setup.
	ScopeTournamentManager = "tournament.manager"
	// ScopeTournamentReporter grants set reporting.
	ScopeTournamentReporter = "tournament.reporter"
)

// Config configures an Adapter.
type Config struct {
	// Name is the provider's route name. Optional; default "startgg".
	Name string
	// ClientID is the application's numeric id, as a string. Required.
	ClientID string
	// ClientSecret is the application's secret. Required (start.gg lists
	// it as required on both the exchange and the refresh). It is only ever
	// sent in the JSON body of those two requests.
	ClientSecret string
	// RedirectURL is the registered callback URL, sent byte for byte in the
	// authorize, exchange and refresh requests; https (http only on a
	// loopback host). Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// Scopes are requested at login and re-sent on every exchange and
	// refresh. They must include ScopeIdentity. Optional; default
	// [ScopeIdentity].
	Scopes []string
	// AuthBaseURL is where the browser is sent (AuthorizePath is appended).
	// Optional; default DefaultAuthBaseURL.
	AuthBaseURL string
	// APIBaseURL hosts the token, refresh and GraphQL endpoints. Optional;
	// default DefaultAPIBaseURL.
	APIBaseURL string
	// HTTPClient is the transport for upstream calls. Optional; default
	// provider.NewHTTPClient's. Redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds each upstream call. Optional; default
	// provider.DefaultTimeout.
	Timeout time.Duration
	// Now is the clock used for token expiry. Optional; default time.Now.
	Now func() time.Time
	// Logger receives the adapter's warnings; it never sees tokens or
	// secrets. Optional; default slog.Default().
	Logger *slog.Logger
}

// Adapter is a provider.RedirectProvider for start.gg. It is safe for
// concurrent use.
//
// The embedded generic engine does the protocol work, configured for
// start.gg:
//   - Exchange is a JSON POST to {APIBaseURL}/oauth/access_token with
//     grant_type, client_id, client_secret, code, scope, redirect_uri and
//     code_verifier; the token's Scopes are the requested ones (start.gg's
//     reply has none).
//   - Refresh is a JSON POST to {APIBaseURL}/oauth/refresh with
//     grant_type=refresh_token, refresh_token, scope, client_id,
//     client_secret and redirect_uri. The new token keeps t's scopes, and
//     the refresh token in the reply (start.gg may rotate it) replaces
//     t's; a reply without one keeps t's.
//   - Identity asks the GraphQL API for currentUser (see [Adapter.Query]):
//     Subject is currentUser.id (a JSON number or string), Name the user's
//     name or else their player gamerTag, Email only when t holds
//     [ScopeEmail]; Raw carries id, slug, discriminator, name and gamerTag.
//   - SetCredential sets Authorization: Bearer.
//   - Revoke does nothing and returns nil: start.gg documents no
//     revocation endpoint (the local logout still happens).
//
// Dead codes and refresh tokens match provider.ErrInvalidGrant, rate
// limits provider.ErrUnavailable (see [DecodeError]).
type Adapter struct {
	*oauth2.Adapter
	api    *provider.Client
	gqlURL string
	scopes []string
}

var (
	_ provider.RedirectProvider = (*Adapter)(nil)
	_ provider.APIHoster        = (*Adapter)(nil)
)

// ErrConfig is wrapped by every configuration error New returns; those
// errors match oauth2.ErrConfig too.
var ErrConfig = errors.New("startgg: invalid config")

// cfgErr is a configuration error naming this package and the field.
func cfgErr(field, problem string, args ...any) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: fmt.Sprintf(problem, args...)}
}

// New checks cfg, fills its defaults and returns an Adapter. Configuration
// errors are *oauth2.ConfigError values matching ErrConfig (and
// oauth2.ErrConfig) and name the Config field at fault.
func New(cfg Config) (*Adapter, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.ClientSecret == "" {
		return nil, cfgErr("ClientSecret", "is required")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{ScopeIdentity}
	}
	if !slices.Contains(cfg.Scopes, ScopeIdentity) {
		return nil, cfgErr("Scopes", "must include %q (the identity query needs it)", ScopeIdentity)
	}
	for _, s := range cfg.Scopes {
		if s == "" || strings.ContainsAny(s, " ,") {
			return nil, cfgErr("Scopes", "entry %q is empty or contains a separator", s)
		}
	}
	authBase, err := baseURL("AuthBaseURL", cfg.AuthBaseURL, DefaultAuthBaseURL)
	if err != nil {
		return nil, err
	}
	apiBase, err := baseURL("APIBaseURL", cfg.APIBaseURL, DefaultAPIBaseURL)
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		gqlURL: apiBase + GraphQLPath,
		scopes: slices.Clone(cfg.Scopes),
		api: &provider.Client{
			Provider:    cfg.Name,
			HTTPClient:  cfg.HTTPClient,
			Timeout:     cfg.Timeout,
			DecodeError: decodeAPIError,
			Now:         cfg.Now,
		},
	}
	a.Adapter, err = oauth2.New(oauth2.Config{
		DisplayName:          "start.gg",
		Name:                 cfg.Name,
		ClientID:             cfg.ClientID,
		ClientSecret:         cfg.ClientSecret,
		AuthURL:              authBase + AuthorizePath,
		TokenURL:             apiBase + TokenPath,
		RefreshURL:           apiBase + RefreshPath,
		RedirectURL:          cfg.RedirectURL,
		Scopes:               cfg.Scopes,
		ScopeSeparator:       " ",
		AuthStyle:            provider.AuthStyleBody,
		Encoding:             provider.JSONEncoding,
		ScopeInTokenRequests: true,
		RedirectURLOnRefresh: true,
		Identity: func(ctx context.Context, _ *provider.Client, t *provider.Token) (*provider.Identity, error) {
			return a.identity(ctx, t)
		},
		DecodeError: DecodeError,
		HTTPClient:  cfg.HTTPClient,
		Timeout:     cfg.Timeout,
		Now:         cfg.Now,
		Logger:      cfg.Logger,
	})
	if err != nil {
		return nil, oauth2.RelabelConfigError(err, ErrConfig)
	}
	return a, nil
}

// baseURL validates a base URL (https, or http on loopback; no query,
// fragment or userinfo) and returns it without a trailing slash.
func baseURL(field, raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	if err := oauth2.CheckURL(raw); err != nil {
		return "", cfgErr(field, "%v", err)
	}
	if u, _ := url.Parse(raw); u.RawQuery != "" || u.ForceQuery {
		return "", cfgErr(field, "must not carry a query")
	}
	return strings.TrimRight(raw, "/"), nil
}

// WithRedirectURL returns a copy of the adapter with Config.RedirectURL
// set to redirectURL; the receiver is not changed. The copy is an
// *Adapter (it overrides the embedded engine's WithRedirectURL, whose copy
// would lose start.gg's AuthURL and APIHosts). middleware.New calls it
// (its RedirectURLSetter) for an adapter without a RedirectURL, with the
// URL it serves the callback at.
func (a *Adapter) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	oa, err := a.Adapter.CopyWithRedirectURL(redirectURL)
	if err != nil {
		return nil, oauth2.RelabelConfigError(err, ErrConfig)
	}
	c := *a
	c.Adapter = oa // its Identity hook is the receiver's identity, which reads no redirect URL
	return &c, nil
}

// APIHosts implements provider.APIHoster: the host of APIBaseURL (token,
// refresh and GraphQL), the only host middleware.Auth.Client sends the
// user's credential to. It overrides the embedded oauth2.Adapter's, which
// knows no userinfo URL here.
func (a *Adapter) APIHosts() []string { return []string{provider.HostOf(a.gqlURL)} }

// Scopes returns a copy of the scopes the adapter requests.
func (a *Adapter) Scopes() []string { return slices.Clone(a.scopes) }

// AuthURL implements provider.RedirectProvider: {AuthBaseURL}/oauth/authorize
// with response_type=code, client_id, the configured scopes (space
// separated, encoded %20), redirect_uri, state and the PKCE S256 challenge.
//
// req.Scopes is ignored: start.gg wants the exchange and every refresh to
// repeat the login's scopes, and those requests can only repeat the
// configured list, so the login asks for exactly that list too.
func (a *Adapter) AuthURL(req provider.AuthRequest) string {
	req.Scopes = nil
	return a.Adapter.AuthURL(req)
}

// GraphQLURL returns the GraphQL endpoint, {APIBaseURL}/gql/alpha.
func (a *Adapter) GraphQLURL() string { return a.gqlURL }

// Query runs one GraphQL operation against {APIBaseURL}/gql/alpha as the
// token's user (POST, JSON body {"query","operationName","variables"},
// Authorization: Bearer) and returns the reply's "data" member.
//
// Errors are *provider.Error: a 401 matches provider.ErrUnauthorized, a
// 429 provider.ErrUnavailable (with RetryAfter), other statuses as
// [DecodeError] says but never ErrInvalidGrant. A reply with a non-empty
// "errors" array (start.gg sends those with HTTP 200) matches
// provider.ErrRejected and wraps a *[GraphQLError].
func (a *Adapter) Query(ctx context.Context, t *provider.Token, query, operationName string, variables map[string]any) (json.RawMessage, error) {
	params := map[string]any{"query": query}
	if operationName != "" {
		params["operationName"] = operationName
	}
	if variables != nil {
		params["variables"] = variables
	}
	hdr := http.Header{}
	a.SetCredential(&http.Request{Header: hdr}, t)
	resp, err := a.api.Do(ctx, "api", provider.Request{URL: a.gqlURL, Params: params, Encoding: provider.JSONEncoding, Header: hdr})
	if err != nil {
		return nil, err
	}
	data, err := ParseGraphQLReply(resp.Body)
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) {
			pe.Provider, pe.Op, pe.StatusCode = a.Name(), "api", resp.StatusCode
		}
		return nil, err
	}
	return data, nil
}

func (a *Adapter) identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	withEmail := t.HasScope(ScopeEmail)
	id, err := a.currentUser(ctx, t, withEmail)
	var ge *GraphQLError
	if withEmail && errors.As(err, &ge) {
		// The scope may have been requested but not granted: the email
		// field is then a GraphQL error. Treat that as "no email".
		id, err = a.currentUser(ctx, t, false)
	}
	return id, err
}

func (a *Adapter) currentUser(ctx context.Context, t *provider.Token, withEmail bool) (*provider.Identity, error) {
	q := identityQuery
	if withEmail {
		q = identityQueryEmail
	}
	data, err := a.Query(ctx, t, q, identityOperation, nil)
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) {
			pe.Op = "identity"
		}
		return nil, err
	}
	id, err := ParseCurrentUser(data)
	if err != nil {
		kind := provider.ErrBadResponse
		if errors.Is(err, ErrNoCurrentUser) {
			// start.gg answered, but names nobody: the token does not
			// (or no longer) speak for a user.
			kind = provider.ErrRejected
		}
		return nil, &provider.Error{Provider: a.Name(), Op: "identity", StatusCode: http.StatusOK, Kind: kind, Err: err}
	}
	return id, nil
}
