// Package entra signs users in with Microsoft Entra ID (formerly Azure
// AD) and personal Microsoft accounts, through the Microsoft identity
// platform's v2.0 endpoints
// (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc):
// a short configuration of the OpenID Connect relying party in
// [github.com/gatehouse-auth/gatehouse/adapters/oidc], plus the issuer
// and tenant checks a multi-tenant app must make.
//
// # Tenants and issuers
//
// Config.Tenant says who may sign in, as the app registration's "supported
// account types" does:
//
//   - a directory (tenant) ID, a GUID: that directory's accounts only. The
//     issuer is https://login.microsoftonline.com/{tenant}/v2.0, compared
//     exactly. A domain name (contoso.onmicrosoft.com) is refused: tokens
//     always carry the GUID, so an issuer built from the name would match
//     none.
//   - "organizations": any work or school account; "common": those and
//     personal Microsoft accounts. Their discovery documents publish the
//     issuer as the template
//     https://login.microsoftonline.com/{tenantid}/v2.0, because each token
//     carries its own tenant's issuer. Gatehouse never skips the issuer
//     check for them: iss must equal the template with the token's own tid
//     filled in, tid must be a tenant ID, "organizations" refuses the
//     personal-account tenant, and with Config.AllowedTenants only those
//     tenants' users get in. Without AllowedTenants, any organization's
//     users can sign in — that is what a multi-tenant app is, so decide
//     what a user from a tenant you do not know may do.
//   - "consumers": personal Microsoft accounts only, whose tokens come from
//     the tenant 9188040d-6c67-4c5b-b112-36a304b66dad ([ConsumersTenantID]).
//
// The endpoints are the documented v2.0 ones under Config.Authority (the
// national clouds have their own): {Authority}/{Tenant}/oauth2/v2.0/authorize,
// …/token and …/logout, and {Authority}/{Tenant}/discovery/v2.0/keys. They
// and the issuers above are exactly what the tenant's discovery document
// publishes; they are built, not fetched, because a multi-tenant issuer is
// a template that a discovery fetch derived from it could not reach.
//
// # Users
//
// sub is pairwise: the same person has a different sub in every app
// registration, and a new registration gives everyone new subs. Gatehouse
// keys its sessions on sub (it is what back-channel logout and the session
// index use), so Identity.Subject is sub; to key your own user records
// across registrations, or to call Microsoft Graph about the user, use
// (tid, oid) from [ObjectID], which Microsoft documents as the stable user
// id.
//
// The email claim is not verified by Microsoft and can be set by any
// tenant's administrator to any address, so in a multi-tenant app it must
// not identify anyone (the "nOAuth" account takeover). Identity.Email is
// therefore set only for a single-tenant app, for a personal Microsoft
// account, or when the token carries xms_edov=true (the optional claim
// "email domain owner verified"); the claim itself stays in Identity.Raw.
//
// # Registration
//
// In the Entra admin center (App registrations, Authentication, Web
// platform):
//
//   - Redirect URI: https://app.example/auth/entra/callback
//   - Front-channel logout URL: leave empty; with PostLogoutRedirectURL
//     set, also register https://app.example/auth/entra/logged-out as a
//     redirect URI (Entra checks post_logout_redirect_uri against them)
//
// (paths shown for the middleware's default BasePath "/auth" and the
// default Name "entra"). Refresh tokens come with the offline_access scope,
// requested by default. Entra offers no RFC 7009 revocation endpoint;
// logout ends the Gatehouse session and, with PostLogoutRedirectURL, the
// Entra session. The ID token carries every claim UserInfo has (Microsoft
// says so), so UserInfo, which needs a Graph access token, is not called.
package entra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Tenants that are not a single directory.
const (
	// TenantCommon admits work, school and personal Microsoft accounts.
	TenantCommon = "common"
	// TenantOrganizations admits work and school accounts of any tenant.
	TenantOrganizations = "organizations"
	// TenantConsumers admits personal Microsoft accounts only.
	TenantConsumers = "consumers"
	// ConsumersTenantID is the tenant ID in personal Microsoft accounts'
	// tokens.
	ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// Defaults of Config.
const (
	// DefaultName is the provider's route name when Config.Name is empty.
	DefaultName = "entra"
	// DefaultAuthority is the global Azure cloud's login host.
	DefaultAuthority = "https://login.microsoftonline.com"
	// GraphHost is Microsoft Graph's host in the global cloud, declared as
	// an API host with the DefaultAuthority.
	GraphHost = "graph.microsoft.com"
)

// ErrTenant is matched (errors.Is) by the error of a login or refresh
// whose ID token comes from a tenant the configuration does not admit, or
// whose iss does not match its tid. A login refused because the tenant is
// not admitted also matches provider.ErrRejected; one whose iss and tid
// do not fit matches provider.ErrBadResponse; a refused refresh matches
// provider.ErrInvalidGrant.
var ErrTenant = errors.New("entra: token from a tenant that is not admitted")

// ErrConfig is matched (errors.Is) by every configuration error of [New].
var ErrConfig = errors.New("entra: invalid config")

// Config configures a Microsoft Entra ID login. Fields marked Required must
// be set; the rest have the documented defaults.
type Config struct {
	// Name is the provider's route name. Optional; default "entra".
	Name string
	// Tenant is the directory (tenant) ID, a GUID, or one of "common",
	// "organizations" and "consumers" (see the package documentation).
	// Required.
	Tenant string
	// AllowedTenants, with Tenant "common" or "organizations", admits only
	// users of these tenant IDs. Optional; default: any tenant.
	AllowedTenants []string
	// Authority is the cloud's login URL: DefaultAuthority, or e.g.
	// "https://login.microsoftonline.us" (US Government) or
	// "https://login.partner.microsoftonline.cn" (China). Optional;
	// default DefaultAuthority.
	Authority string
	// ClientID is the app registration's Application (client) ID.
	// Required. ClientSecret is a client secret of it; empty for a public
	// client.
	ClientID, ClientSecret string
	// RedirectURL is a Web redirect URI of the app registration,
	// https://app.example/auth/entra/callback. Optional when the provider is used with middleware.New and its
	// Config.PublicURL: New fills it in.
	RedirectURL string
	// PostLogoutRedirectURL, also registered as a redirect URI, makes
	// logout end the Entra session too. Optional.
	PostLogoutRedirectURL string
	// Scopes are requested at login; "openid" is always included. Add
	// Graph permissions (User.Read, Mail.Read, ...) to call Graph as the
	// user. Optional; default openid, profile, email, offline_access.
	Scopes []string
	// APIHosts may receive the user's access token through
	// middleware.Auth.Client. Optional; default GraphHost with the
	// DefaultAuthority, none with another Authority.
	APIHosts []string
	// HTTPClient, Timeout, Now and Logger are passed to oidc.Config.
	// Optional.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// Provider is the Microsoft identity platform's relying party: an
// [oidc.Provider] (all of whose methods it has) that also checks the
// token's tenant and keeps unverifiable email addresses out of
// Identity.Email. It is safe for concurrent use.
type Provider struct {
	*oidc.Provider
	authority string
	tenant    string
	allowed   []string
}

var (
	_ provider.NonceExchanger = (*Provider)(nil)
	_ provider.Revoker        = (*Provider)(nil)
	_ provider.APIHoster      = (*Provider)(nil)
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }

func configErr(field, problem string) error {
	return &oauth2.ConfigError{Pkg: ErrConfig, Field: field, Problem: problem}
}

// DefaultScopes are requested when Config.Scopes is empty.
func DefaultScopes() []string { return []string{"openid", "profile", "email", "offline_access"} }

// IssuerFor returns the issuer of tokens from tenant tid under authority:
// {authority}/{tid}/v2.0.
func IssuerFor(authority, tid string) string {
	return strings.TrimSuffix(authority, "/") + "/" + tid + "/v2.0"
}

// New returns the relying party for cfg. It makes no network call: the
// endpoints are the documented ones (see the package documentation), the
// keys are fetched at the first login.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	authority := strings.TrimSuffix(cfg.Authority, "/")
	if authority == "" {
		authority = DefaultAuthority
	}
	if err := oauth2.CheckURL(authority); err != nil {
		return nil, configErr("Authority", err.Error())
	}
	if u, _ := url.Parse(authority); u.Path != "" || u.RawQuery != "" || u.ForceQuery {
		return nil, configErr("Authority", fmt.Sprintf("must be the cloud's login URL without a path, e.g. %s (got %q)", DefaultAuthority, cfg.Authority))
	}
	tenant := strings.ToLower(strings.TrimSpace(cfg.Tenant))
	multi := tenant == TenantCommon || tenant == TenantOrganizations
	switch {
	case tenant == "":
		return nil, configErr("Tenant", `is required: the directory (tenant) ID, or "common", "organizations" or "consumers"`)
	case multi, tenant == TenantConsumers, isGUID(tenant):
	default:
		return nil, configErr("Tenant", fmt.Sprintf(`must be the directory (tenant) ID, a GUID, or "common", "organizations" or "consumers" (got %q; tokens carry the tenant ID, never its domain name)`, cfg.Tenant))
	}
	var allowed []string
	if len(cfg.AllowedTenants) > 0 && !multi {
		return nil, configErr("AllowedTenants", fmt.Sprintf("is only for Tenant %q or %q", TenantCommon, TenantOrganizations))
	}
	for _, a := range cfg.AllowedTenants {
		a = strings.ToLower(strings.TrimSpace(a))
		if !isGUID(a) {
			return nil, configErr("AllowedTenants", fmt.Sprintf("entry %q must be a tenant ID (a GUID)", a))
		}
		if tenant == TenantOrganizations && a == ConsumersTenantID {
			return nil, configErr("AllowedTenants", "must not name the personal-account tenant, which Tenant organizations never admits")
		}
		allowed = append(allowed, a)
	}
	if err := oidc.CheckClient(ErrConfig, cfg.ClientID, cfg.RedirectURL, cfg.PostLogoutRedirectURL); err != nil {
		return nil, err
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	hosts := cfg.APIHosts
	if hosts == nil && authority == DefaultAuthority {
		hosts = []string{GraphHost}
	}
	p := &Provider{authority: authority, tenant: tenant, allowed: allowed}
	var issuer string
	var validator oidc.IssuerValidatorFunc
	switch {
	case multi:
		// What the discovery document of common and organizations
		// publishes. No token should carry it as iss; the validator
		// decides for every token, this value included (and refuses it:
		// "{tenantid}" is no tenant ID).
		issuer = IssuerFor(authority, "{tenantid}")
		validator = p.checkTenant
	case tenant == TenantConsumers:
		issuer = IssuerFor(authority, ConsumersTenantID)
	default:
		issuer = IssuerFor(authority, tenant)
	}
	base := authority + "/" + tenant
	op, err := oidc.New(ctx, oidc.Config{
		Name:         cfg.Name,
		DisplayName:  "Microsoft",
		Issuer:       issuer,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       scopes,
		Endpoints: &oidc.Endpoints{
			Authorization: base + "/oauth2/v2.0/authorize",
			Token:         base + "/oauth2/v2.0/token",
			JWKS:          base + "/discovery/v2.0/keys",
			EndSession:    base + "/oauth2/v2.0/logout",
			SigningAlgs:   []string{"RS256"},
			AuthMethods:   []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		},
		PostLogoutRedirectURL: cfg.PostLogoutRedirectURL,
		IssuerValidator:       validator,
		SkipUserInfo:          true,
		APIHosts:              hosts,
		HTTPClient:            cfg.HTTPClient,
		Timeout:               cfg.Timeout,
		Now:                   cfg.Now,
		Logger:                cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("entra: %w", err)
	}
	p.Provider = op
	return p, nil
}

// WithRedirectURL returns a copy of the provider with Config.RedirectURL
// set to redirectURL; the receiver is not changed. The copy is a
// *Provider with the same tenant checks and email rule as the receiver.
// middleware.New calls it (its RedirectURLSetter) for a provider without
// a RedirectURL, with the URL it serves the callback at.
func (p *Provider) WithRedirectURL(redirectURL string) (provider.Provider, error) {
	op, err := p.Provider.CopyWithRedirectURL(redirectURL)
	if err != nil {
		return nil, fmt.Errorf("entra: %w", err)
	}
	c := *p
	c.Provider = op // its IssuerValidator is the receiver's checkTenant: same authority, tenant and allowed tenants
	return &c, nil
}

// Tenant returns the configured tenant (lower case).
func (p *Provider) Tenant() string { return p.tenant }

// AllowedTenants returns the admitted tenant IDs of a multi-tenant
// configuration, or nil for any.
func (p *Provider) AllowedTenants() []string { return slices.Clone(p.allowed) }

func (p *Provider) multi() bool {
	return p.tenant == TenantCommon || p.tenant == TenantOrganizations
}

// checkTenant is the multi-tenant issuer validation Microsoft documents:
// tid is a tenant ID, iss is the issuer template with that tid, and the
// tenant is admitted by the configuration. The oidc layer runs it on
// every ID token (login and refresh) and logout token, so no iss — not
// even the literal template — skips it. A tenant the configuration does
// not admit also matches provider.ErrRejected (a policy refusal: the user
// sees "login failed", not "the provider answered something unexpected");
// a token whose tid and iss do not fit is a bad token.
func (p *Provider) checkTenant(iss string, claims map[string]any) error {
	tid, _ := claims["tid"].(string)
	switch {
	case !isGUID(tid):
		return fmt.Errorf("%w: the token carries no tenant ID (tid)", ErrTenant)
	case iss != IssuerFor(p.authority, tid):
		return fmt.Errorf("%w: iss %q is not the issuer of the token's tenant %s", ErrTenant, iss, tid)
	case p.tenant == TenantOrganizations && tid == ConsumersTenantID:
		return fmt.Errorf("%w: %w: personal Microsoft accounts are not admitted (Tenant organizations)", ErrTenant, provider.ErrRejected)
	case len(p.allowed) > 0 && !slices.Contains(p.allowed, tid):
		return fmt.Errorf("%w: %w: tenant %s is not in AllowedTenants", ErrTenant, provider.ErrRejected, tid)
	}
	return nil
}

// Identity implements provider.Provider: the claims of the verified ID
// token, with Email kept only when Microsoft vouches for it (see the
// package documentation).
func (p *Provider) Identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	id, err := p.Provider.Identity(ctx, t)
	if err != nil {
		return nil, err
	}
	tid, _ := id.Raw["tid"].(string)
	trusted := !p.multi() && p.tenant != TenantConsumers || // the app's own directory
		tid == ConsumersTenantID || // a personal account's sign-in address
		truthy(id.Raw["xms_edov"]) // email domain owner verified
	if !trusted {
		id.Email = ""
	}
	return id, nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true" || x == "1"
	case float64:
		return x == 1
	}
	return false
}

// ObjectID returns the tenant ID (tid) and object ID (oid) of an identity
// from this provider: together, the user's stable id across app
// registrations, and the id Microsoft Graph knows the user by. ok is false
// when either claim is missing (the profile scope brings oid).
func ObjectID(id *provider.Identity) (tenantID, objectID string, ok bool) {
	if id == nil {
		return "", "", false
	}
	tenantID, _ = id.Raw["tid"].(string)
	objectID, _ = id.Raw["oid"].(string)
	return tenantID, objectID, tenantID != "" && objectID != ""
}
