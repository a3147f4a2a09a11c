// Package google signs users in with Google
// (https://developers.google.com/identity/openid-connect/openid-connect and
// https://developers.google.com/identity/openid-connect/reference): a short
// configuration of the OpenID Connect relying party in
// [github.com/gatehouse-auth/gatehouse/adapters/oidc], plus the checks
// Google's documentation asks of a relying party.
//
// The pitfalls it handles:
//
//   - Refresh tokens. Google issues one only when the authorization request
//     says access_type=offline, and only at the user's first consent unless
//     prompt=consent asks again. Every Gatehouse login is a new session that
//     needs its own refresh token, so [New] sends both by default
//     (Config.AccessType, Config.Prompt).
//   - Hosted domains. The "hd" authorization parameter only tunes Google's
//     account chooser: anyone can strip it from the URL. With
//     Config.HostedDomains set, the ID token's hd claim — signed by Google —
//     must name one of them, at login and on every refresh reply carrying an
//     ID token, or the login is refused ([ErrHostedDomain]). Accounts
//     outside Google Workspace have no hd at all and are refused too.
//   - Verified email. Identity.Email is set only when the ID token says
//     email_verified: a Google account can be created with an address its
//     owner never proved, and linking accounts on such an email hands them
//     over. The unverified address stays in Identity.Raw.
//   - Issuer. Google's ID tokens carry iss https://accounts.google.com or,
//     for some clients, the legacy accounts.google.com; both are accepted,
//     nothing else.
//
// Register in the Google Cloud console (APIs & Services, Credentials,
// OAuth client ID, Web application):
//
//   - Authorized redirect URIs: https://app.example/auth/google/callback
//
// (path shown for the middleware's default BasePath "/auth" and the
// default Name "google"). Google publishes no end_session_endpoint and no
// back-channel logout: logout ends the Gatehouse session and revokes the
// token at Google's RFC 7009 revocation endpoint, which also withdraws the
// app's grant.
package google

import (
	"context"
	"encoding/base64"
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
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Google's issuer identifiers (OpenID Connect reference, "issuer").
const (
	// Issuer is Google's issuer, whose discovery document New reads.
	Issuer = "https://accounts.google.com"
	// LegacyIssuer is the iss some of Google's ID tokens still carry.
	LegacyIssuer = "accounts.google.com"
)

// Defaults of Config.
const (
	// DefaultName is the provider's route name when Config.Name is empty.
	DefaultName = "google"
	// AccessTypeOffline asks for a refresh token (the default).
	AccessTypeOffline = "offline"
	// AccessTypeOnline asks for none: the login lasts as long as the
	// first access token (an hour).
	AccessTypeOnline = "online"
)

// ErrHostedDomain is matched (errors.Is) by the error of a login or
// refresh whose ID token does not name one of Config.HostedDomains.
var ErrHostedDomain = errors.New("google: the account is not in an allowed hosted domain")

// ErrConfig is matched (errors.Is) by every configuration error of [New].
var ErrConfig = errors.New("google: invalid config")

// Config configures a Google login. Fields marked Required must be set; the
// rest have the documented defaults.
type Config struct {
	// Name is the provider's route name. Optional; default "google".
	Name string
	// ClientID and ClientSecret are the OAuth client's credentials.
	// ClientID is required.
	ClientID, ClientSecret string
	// RedirectURL is an authorized redirect URI of the OAuth client,
	// https://app.example/auth/google/callback. Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// Scopes are requested at login; "openid" is always included. Add
	// Google API scopes (https://www.googleapis.com/auth/calendar.readonly,
	// ...) to call those APIs as the user, and their hosts to APIHosts.
	// Optional; default openid, profile, email.
	Scopes []string
	// HostedDomains restricts the login to Google Workspace accounts of
	// these domains (e.g. "example.com"), checked against the ID token's
	// hd claim. One domain is also sent as the hd authorization parameter
	// (several send hd=*). Optional; default none: any Google account.
	HostedDomains []string
	// AccessType is "offline" (a refresh token; Gatehouse refreshes the
	// hour-long access token) or "online" (none). Optional; default
	// "offline".
	AccessType string
	// Prompt is the prompt authorization parameter. Optional; default
	// "consent" with offline access (Google re-issues a refresh token only
	// after consent), else none. Setting it without "consent" while
	// offline means later logins of the same user get no refresh token.
	Prompt string
	// APIHosts are Google API hosts (e.g. "www.googleapis.com") that may
	// receive the user's access token through middleware.Auth.Client,
	// beyond the UserInfo host. Optional.
	APIHosts []string
	// HTTPClient, Timeout, Now and Logger are passed to oidc.Config.
	// Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// Provider is Google's relying party: an [oidc.Provider] (all of whose
// methods it has) that also checks the hosted domain and keeps unverified
// email addresses out of Identity.Email. It is safe for concurrent use.
type Provider struct {
	*oidc.Provider
	domains []string
}

var (
	_ provider.NonceExchanger = (*Provider)(nil)
	_ provider.Revoker        = (*Provider)(nil)
	_ provider.APIHoster      = (*Provider)(nil)
)

func configErr(field, problem string) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: problem}
}

// New reads Google's discovery document and returns the relying party.
// ctx bounds the discovery fetch.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if err := oidc.CheckClient(ErrConfig, cfg.ClientID, cfg.RedirectURL, ""); err != nil { // Google has no end-session endpoint
		return nil, err
	}
	domains := make([]string, 0, len(cfg.HostedDomains))
	for _, d := range cfg.HostedDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || d == "*" || strings.ContainsAny(d, "/:@ ") || !strings.Contains(d, ".") {
			return nil, configErr("HostedDomains", fmt.Sprintf("entry %q must be a domain name such as example.com", d))
		}
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	params := url.Values{}
	switch cfg.AccessType {
	case "", AccessTypeOffline:
		params.Set("access_type", AccessTypeOffline)
		if cfg.Prompt == "" {
			cfg.Prompt = "consent"
		}
		if !slices.Contains(strings.Fields(cfg.Prompt), "consent") {
			logger := cfg.Logger
			if logger == nil {
				logger = slog.Default()
			}
			logger.Warn("gatehouse: google: offline access without prompt=consent: Google issues a refresh token only at the first consent, so later logins of a user get none",
				slog.String("provider", cfg.Name), slog.String("prompt", cfg.Prompt))
		}
	case AccessTypeOnline:
		params.Set("access_type", AccessTypeOnline)
	default:
		return nil, configErr("AccessType", fmt.Sprintf("must be %q or %q (got %q)", AccessTypeOffline, AccessTypeOnline, cfg.AccessType))
	}
	if cfg.Prompt != "" {
		params.Set("prompt", cfg.Prompt)
	}
	switch len(domains) {
	case 0:
	case 1:
		params.Set("hd", domains[0])
	default:
		params.Set("hd", "*") // any Workspace account; the claim check does the rest
	}
	p, err := oidc.New(ctx, oidc.Config{
		Name:         cfg.Name,
		DisplayName:  "Google",
		Issuer:       Issuer,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       cfg.Scopes,
		AuthParams:   params,
		IssuerValidator: func(iss string, _ map[string]any) error {
			// The validator decides for every token. OpenID Connect
			// reference: iss is https://accounts.google.com, and
			// "accounts.google.com is also returned for legacy
			// implementations". Exactly those two, nothing else.
			if iss == Issuer || iss == LegacyIssuer {
				return nil
			}
			return fmt.Errorf("not %s or %s", Issuer, LegacyIssuer)
		},
		APIHosts:   cfg.APIHosts,
		HTTPClient: cfg.HTTPClient,
		Timeout:    cfg.Timeout,
		Now:        cfg.Now,
		Logger:     cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("google: %w", err)
	}
	return &Provider{Provider: p, domains: domains}, nil
}

// WithRedirectURL returns a copy of the provider with Config.RedirectURL
// set to redirectURL; the receiver is not changed. The copy is a
// *Provider that checks the hosted domain like the receiver.
// middleware.New calls it (its RedirectURLSetter) for a provider without
// a RedirectURL, with the URL it serves the callback at.
func (p *Provider) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	op, err := p.Provider.CopyWithRedirectURL(redirectURL)
	if err != nil {
		return nil, fmt.Errorf("google: %w", err)
	}
	return &Provider{Provider: op, domains: p.domains}, nil
}

// HostedDomains returns the allowed hosted domains (lower case), or nil.
func (p *Provider) HostedDomains() []string { return slices.Clone(p.domains) }

// Exchange implements provider.RedirectProvider for a login without a
// nonce (see [Provider.ExchangeNonce]).
func (p *Provider) Exchange(ctx context.Context, code, verifier string) (*provider.Token, error) {
	return p.ExchangeNonce(ctx, code, verifier, "")
}

// ExchangeNonce implements provider.NonceExchanger: the oidc exchange and
// ID token verification, then the hosted-domain check on the verified ID
// token. A refused login matches provider.ErrRejected and ErrHostedDomain.
func (p *Provider) ExchangeNonce(ctx context.Context, code, verifier, nonce string) (*provider.Token, error) {
	tok, err := p.Provider.ExchangeNonce(ctx, code, verifier, nonce)
	if err != nil {
		return nil, err
	}
	if err := p.checkHostedDomain(tok); err != nil {
		return nil, &provider.Error{Provider: p.Name(), Op: "exchange", Kind: provider.ErrRejected, Err: err}
	}
	return tok, nil
}

// Refresh implements provider.Provider: the oidc refresh, then, when the
// reply carried a new ID token, the hosted-domain check on it. A refused
// refresh matches provider.ErrInvalidGrant (the login ends) and
// ErrHostedDomain.
func (p *Provider) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	tok, err := p.Provider.Refresh(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := p.checkHostedDomain(tok); err != nil {
		return nil, &provider.Error{Provider: p.Name(), Op: "refresh", Kind: provider.ErrInvalidGrant, Err: err}
	}
	return tok, nil
}

// Identity implements provider.Provider: the oidc identity (ID token claims
// and UserInfo), with Email cleared unless email_verified is true, and the
// hosted domain checked once more (UserInfo must not contradict the ID
// token's hd).
func (p *Provider) Identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	id, err := p.Provider.Identity(ctx, t)
	if err != nil {
		return nil, err
	}
	if len(p.domains) > 0 {
		if err := p.checkHostedDomain(t); err != nil {
			return nil, &provider.Error{Provider: p.Name(), Op: "identity", Kind: provider.ErrRejected, Err: err}
		}
		if hd, _ := id.Raw["hd"].(string); !slices.Contains(p.domains, strings.ToLower(hd)) {
			return nil, &provider.Error{Provider: p.Name(), Op: "identity", Kind: provider.ErrBadResponse,
				Err: fmt.Errorf("%w: UserInfo's hd differs from the ID token's", ErrHostedDomain)}
		}
	}
	if !emailVerified(id.Raw["email_verified"]) {
		id.Email = ""
	}
	return id, nil
}

func emailVerified(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}

// checkHostedDomain reads hd from the ID token the oidc layer verified and
// kept in t.
func (p *Provider) checkHostedDomain(t *provider.Token) error {
	if len(p.domains) == 0 {
		return nil
	}
	raw, _ := t.Extra[oidc.ExtraIDToken].(string)
	claims, err := verifiedClaims(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrHostedDomain, err)
	}
	hd, present := claims["hd"]
	s, ok := hd.(string)
	switch {
	case !present:
		return fmt.Errorf("%w: the ID token has no hd claim (not a Google Workspace account)", ErrHostedDomain)
	case !ok || !slices.Contains(p.domains, strings.ToLower(s)):
		return fmt.Errorf("%w: hd %q is not one of %s", ErrHostedDomain, hd, strings.Join(p.domains, ", "))
	}
	return nil
}

// verifiedClaims decodes the payload of an ID token that the oidc layer
// has already verified (signature, iss, aud, exp, nonce). It verifies
// nothing itself: only ever call it on the token oidc.Provider returned.
func verifiedClaims(raw string) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("no ID token in the token set")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("malformed ID token")
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, errors.New("malformed ID token")
	}
	return c, nil
}
