// Package customadapter shows how to write a Gatehouse provider adapter of
// your own: a GitHub-style OAuth2 provider in about 150 lines, built on the
// generic engine in adapters/oauth2 and tested with provider/providertest
// against a fake made from adapters/oauth2/oauth2test (package githubtest).
//
// What makes this upstream different from plain RFC 6749, and where each
// difference is handled:
//
//   - endpoint paths of its own (/login/oauth/authorize,
//     /login/oauth/access_token) on one host, the API on another: Config;
//   - token_type "bearer" in lower case and scope as a comma-separated
//     string: accepted by the engine (TokenTypes, provider.ScopeList);
//   - no userinfo endpoint but GET /user, whose id is a JSON number and
//     whose name may be null: MapUser;
//   - revocation is not RFC 7009 but DELETE /applications/{client_id}/grant
//     with the client's Basic credentials: Revoke.
//
// Use it as a template: copy, rename, change the URLs and MapUser.
package customadapter

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
	DefaultName    = "github"
	DefaultBaseURL = "https://github.com"
	DefaultAPIURL  = "https://api.github.com"
)

// Config configures a GitHub adapter.
type Config struct {
	// Name is the route name. Optional; default DefaultName.
	Name string
	// ClientID and ClientSecret are the OAuth app's credentials. Required.
	ClientID, ClientSecret string
	// RedirectURL is the app's registered callback URL. Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// Scopes to request, e.g. "read:user", "user:email". Optional.
	Scopes []string
	// BaseURL serves the OAuth endpoints. Optional; default DefaultBaseURL.
	BaseURL string
	// APIURL serves GET /user and the grant revocation. Optional; default
	// DefaultAPIURL.
	APIURL string
	// HTTPClient, Timeout and Logger are passed to the engine. Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Logger     *slog.Logger
}

// GitHub is a provider.RedirectProvider and provider.Revoker. The embedded
// engine supplies Name, AuthURL, Exchange, Refresh, Identity and
// SetCredential; GitHub adds only what differs.
type GitHub struct {
	*oauth2.Adapter
	revokeURL string
	id        string
	secret    string
}

// New checks cfg and returns the adapter.
func New(cfg Config) (*GitHub, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, fmt.Errorf("%w: ClientID and ClientSecret are required", oauth2.ErrConfig)
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	base := strings.TrimRight(or(cfg.BaseURL, DefaultBaseURL), "/")
	api := strings.TrimRight(or(cfg.APIURL, DefaultAPIURL), "/")
	if err := oauth2.CheckURL(api); err != nil {
		return nil, fmt.Errorf("%w: APIURL: %v", oauth2.ErrConfig, err)
	}
	engine, err := oauth2.New(oauth2.Config{
		Name:         cfg.Name,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		AuthURL:      base + "/login/oauth/authorize",
		TokenURL:     base + "/login/oauth/access_token",
		RedirectURL:  cfg.RedirectURL,
		Scopes:       cfg.Scopes,
		AuthStyle:    provider.AuthStyleBody, // GitHub documents body parameters
		TokenTypes:   []string{"bearer"},     // compared ignoring case
		UserInfoURL:  api + "/user",
		MapClaims:    MapUser,
		HTTPClient:   cfg.HTTPClient,
		Timeout:      cfg.Timeout,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return &GitHub{
		Adapter:   engine,
		revokeURL: api + "/applications/" + url.PathEscape(cfg.ClientID) + "/grant",
		id:        cfg.ClientID,
		secret:    cfg.ClientSecret,
	}, nil
}

// ErrNoUserID is returned by MapUser for a /user reply without an id.
var ErrNoUserID = errors.New("customadapter: /user reply has no id")

// MapUser maps GitHub's GET /user reply: Subject is the numeric id (stable;
// the login can be renamed), Name the display name or else the login,
// Email the public email (may be empty), Picture avatar_url. Raw keeps
// login and html_url.
func MapUser(claims map[string]any) (*provider.Identity, error) {
	id := oauth2.ClaimString(claims, "id")
	if id == "" {
		return nil, &provider.Error{Op: "identity", Kind: provider.ErrBadResponse, Err: ErrNoUserID}
	}
	login := oauth2.ClaimString(claims, "login")
	return &provider.Identity{
		Subject: id,
		Name:    or(oauth2.ClaimString(claims, "name"), login),
		Email:   oauth2.ClaimString(claims, "email"),
		Picture: oauth2.ClaimString(claims, "avatar_url"),
		Raw:     map[string]any{"login": login, "html_url": oauth2.ClaimString(claims, "html_url")},
	}, nil
}

// WithRedirectURL returns a copy of the adapter with Config.RedirectURL
// set to redirectURL; the receiver is not changed. middleware.New calls it
// for an adapter without a RedirectURL, with the URL it serves the
// callback at. A type that embeds *oauth2.Adapter must implement it
// itself, returning its own type: the engine's promoted method would
// return a bare *oauth2.Adapter without Revoke (middleware.New refuses a
// copy of another type).
func (g *GitHub) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	engine, err := g.CopyWithRedirectURL(redirectURL)
	if err != nil {
		return nil, err
	}
	c := *g
	c.Adapter = engine
	return &c, nil
}

// Revoke implements provider.Revoker: DELETE
// /applications/{client_id}/grant with the client's Basic credentials and
// the access token in the JSON body (never the URL). That ends the whole
// grant, refresh token included. 404 (already gone) counts as success.
func (g *GitHub) Revoke(ctx context.Context, t *provider.Token) error {
	if t == nil || t.AccessToken == "" {
		return nil
	}
	_, err := g.Client().Do(ctx, "revoke", provider.Request{
		Method:    http.MethodDelete,
		URL:       g.revokeURL,
		Params:    map[string]any{"access_token": t.AccessToken},
		Encoding:  provider.JSONEncoding,
		BasicUser: g.id,
		BasicPass: g.secret,
		Header:    http.Header{"Accept": {"application/vnd.github+json"}},
	})
	var pe *provider.Error
	if errors.As(err, &pe) && pe.StatusCode == http.StatusNotFound {
		return nil
	}
	return err
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Compile-time checks of the interfaces the middleware looks for.
var (
	_ provider.RedirectProvider = (*GitHub)(nil)
	_ provider.Revoker          = (*GitHub)(nil)
)
