package entra_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/entra"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/provider/providertest"
)

func newProvider(t *testing.T, f *fakeEntra, cfg entra.Config) *entra.Provider {
	t.Helper()
	cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL, cfg.HTTPClient = clientID, clientSecret, redirectURL, f.client()
	p, err := entra.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func exchange(t *testing.T, f *fakeEntra, p *entra.Provider) (*provider.Token, error) {
	t.Helper()
	verifier, nonce := provider.NewVerifier(), provider.NewState()
	authURL := p.AuthURL(provider.AuthRequest{State: provider.NewState(), Nonce: nonce, CodeChallenge: provider.S256Challenge(verifier)})
	code, _, err := f.op.AuthorizeCode(context.Background(), f.browserURL(t, authURL))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return p.ExchangeNonce(context.Background(), code, verifier, nonce)
}

// login is a whole login that must succeed.
func login(t *testing.T, f *fakeEntra, p *entra.Provider) (*provider.Token, *provider.Identity) {
	t.Helper()
	tok, err := exchange(t, f, p)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	id, err := p.Identity(context.Background(), tok)
	if err != nil {
		t.Fatalf("identity: %v", err)
	}
	return tok, id
}

// refusedTenant reports whether err is a tenant refusal for reason by the
// oidc layer's issuer check, which runs the preset's validator on every
// token.
func refusedTenant(err error, reason string) bool {
	return err != nil && strings.Contains(err.Error(), reason) && errors.Is(err, entra.ErrTenant) && errors.Is(err, oidc.ErrIDToken)
}

func TestSingleTenant(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		givenTID  string // the token's tenant
		givenIss  string // "" means the issuer of givenTID
		expectErr bool
	}{
		{"own tenant", tenantA, "", false},
		{"another tenant's token", tenantB, "", true},
		{"own tid, another tenant's iss", tenantA, entra.IssuerFor(entra.DefaultAuthority, tenantB), true},
		{"the v1.0 issuer form", tenantA, "https://sts.windows.net/" + tenantA + "/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEntra(t, tc.givenTID)
			f.set(tc.givenTID, tc.givenIss, nil)
			p := newProvider(t, f, entra.Config{Tenant: strings.ToUpper(tenantA)}) // GUIDs are compared in lower case
			if got, want := p.Config().Issuer, "https://login.microsoftonline.com/"+tenantA+"/v2.0"; got != want {
				t.Fatalf("issuer = %q, want %q", got, want)
			}
			_, err := exchange(t, f, p)
			if tc.expectErr != (err != nil) {
				t.Fatalf("err = %v, want error %t", err, tc.expectErr)
			}
			if err != nil && !errors.Is(err, oidc.ErrIDToken) {
				t.Fatalf("err = %v, want oidc.ErrIDToken", err)
			}
			if segs := f.tenantSegments(); !slices.Contains(segs, tenantA) || slices.ContainsFunc(segs, func(s string) bool { return s != tenantA }) {
				t.Fatalf("endpoints used tenant segments %v, want only %s", segs, tenantA)
			}
		})
	}
}

func TestMultiTenant(t *testing.T) {
	t.Parallel()
	otherIss := entra.IssuerFor(entra.DefaultAuthority, tenantB)
	for _, tc := range []struct {
		name     string
		whenCfg  entra.Config
		givenTID string
		givenIss string // "" means the issuer of givenTID
		// expectErr is the reason of the refusal, "" for a login that works.
		expectErr string
		// expectKind is the refusal's provider error kind: ErrRejected for
		// a tenant the configuration does not admit (a policy refusal),
		// ErrBadResponse for a token whose iss and tid do not fit.
		expectKind error
	}{
		{"common: any organization", entra.Config{Tenant: "common"}, tenantB, "", "", nil},
		{"common: a personal account", entra.Config{Tenant: "common"}, entra.ConsumersTenantID, "", "", nil},
		{"organizations: an organization", entra.Config{Tenant: "organizations"}, tenantA, "", "", nil},
		{"organizations: a personal account is refused", entra.Config{Tenant: "organizations"}, entra.ConsumersTenantID, "", "personal Microsoft accounts are not admitted", provider.ErrRejected},
		{"iss of another tenant than tid", entra.Config{Tenant: "common"}, tenantA, otherIss, "is not the issuer of the token's tenant", provider.ErrBadResponse},
		{"no tid", entra.Config{Tenant: "common"}, "", otherIss, "carries no tenant ID", provider.ErrBadResponse},
		{"tid that is not a tenant ID", entra.Config{Tenant: "common"}, "contoso.onmicrosoft.com", "", "carries no tenant ID", provider.ErrBadResponse},
		{"the literal issuer template", entra.Config{Tenant: "common"}, tenantA, "https://login.microsoftonline.com/{tenantid}/v2.0", "is not the issuer of the token's tenant", provider.ErrBadResponse},
		{"iss from another cloud", entra.Config{Tenant: "common"}, tenantA, "https://login.microsoftonline.us/" + tenantA + "/v2.0", "is not the issuer of the token's tenant", provider.ErrBadResponse},
		{"allow-list: admitted tenant", entra.Config{Tenant: "organizations", AllowedTenants: []string{tenantA}}, tenantA, "", "", nil},
		{"allow-list: another tenant is refused", entra.Config{Tenant: "common", AllowedTenants: []string{tenantA}}, tenantB, "", "is not in AllowedTenants", provider.ErrRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEntra(t, tc.givenTID)
			f.set(tc.givenTID, tc.givenIss, nil)
			p := newProvider(t, f, tc.whenCfg)
			if got := p.Config().Issuer; got != "https://login.microsoftonline.com/{tenantid}/v2.0" {
				t.Fatalf("issuer = %q, want the template discovery publishes", got)
			}
			_, err := exchange(t, f, p)
			if tc.expectErr == "" {
				if err != nil {
					t.Fatalf("exchange: %v", err)
				}
			} else if !refusedTenant(err, tc.expectErr) {
				t.Fatalf("err = %v, want a tenant refusal: %s", err, tc.expectErr)
			} else if !errors.Is(err, tc.expectKind) || (tc.expectKind == provider.ErrRejected) == errors.Is(err, provider.ErrBadResponse) {
				t.Fatalf("err = %v, want kind %v only", err, tc.expectKind)
			}
			if segs := f.tenantSegments(); slices.ContainsFunc(segs, func(s string) bool { return s != tc.whenCfg.Tenant }) {
				t.Fatalf("endpoints used tenant segments %v, want only %s", segs, tc.whenCfg.Tenant)
			}
		})
	}
}

// A refresh reply whose new ID token comes from a tenant the allow-list
// does not admit ends the login.
func TestRefreshTenantChecked(t *testing.T) {
	t.Parallel()
	f := newFakeEntra(t, tenantA)
	p := newProvider(t, f, entra.Config{Tenant: "organizations", AllowedTenants: []string{tenantA}})
	tok, _ := login(t, f, p)
	tok, err := p.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	// Same iss as at login, but a tid the allow-list refuses: only the
	// tenant check can see it.
	f.set(tenantB, entra.IssuerFor(entra.DefaultAuthority, tenantA), nil)
	if _, err := p.Refresh(context.Background(), tok); !errors.Is(err, provider.ErrInvalidGrant) || !refusedTenant(err, "is not the issuer of the token's tenant") {
		t.Fatalf("err = %v, want ErrInvalidGrant and a tenant refusal", err)
	}
}

// Back-channel logout tokens go through the same tenant check as ID
// tokens: one carrying the literal issuer template, another tenant's iss,
// or a tenant the allow-list does not admit, ends nobody's session.
func TestLogoutTokenTenantChecked(t *testing.T) {
	t.Parallel()
	f := newFakeEntra(t, tenantA)
	p := newProvider(t, f, entra.Config{Tenant: "common", AllowedTenants: []string{tenantA}})
	login(t, f, p) // fetches the keys
	for _, tc := range []struct {
		name      string
		givenTID  string
		givenIss  string
		expectErr bool
	}{
		{"admitted tenant", tenantA, entra.IssuerFor(entra.DefaultAuthority, tenantA), false},
		{"the literal issuer template", tenantA, "https://login.microsoftonline.com/{tenantid}/v2.0", true},
		{"iss of another tenant than tid", tenantA, entra.IssuerFor(entra.DefaultAuthority, tenantB), true},
		{"tenant not in AllowedTenants", tenantB, entra.IssuerFor(entra.DefaultAuthority, tenantB), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := f.op.LogoutClaims(clientID, "pairwise-sub-for-this-app", "")
			claims["iss"], claims["tid"] = tc.givenIss, tc.givenTID
			_, err := p.VerifyLogoutToken(context.Background(), f.op.SignLogoutToken(claims))
			if tc.expectErr != (err != nil) {
				t.Fatalf("err = %v, want error %t", err, tc.expectErr)
			}
			if err != nil && !errors.Is(err, entra.ErrTenant) {
				t.Fatalf("err = %v, want entra.ErrTenant", err)
			}
		})
	}
}

func TestConsumers(t *testing.T) {
	t.Parallel()
	f := newFakeEntra(t, entra.ConsumersTenantID)
	p := newProvider(t, f, entra.Config{Tenant: "consumers"})
	if got, want := p.Config().Issuer, "https://login.microsoftonline.com/"+entra.ConsumersTenantID+"/v2.0"; got != want {
		t.Fatalf("issuer = %q, want %q", got, want)
	}
	_, id := login(t, f, p)
	if id.Email != "casey@contoso.example" {
		t.Fatalf("a personal account's email = %q", id.Email)
	}
	if segs := f.tenantSegments(); slices.ContainsFunc(segs, func(s string) bool { return s != "consumers" }) {
		t.Fatalf("tenant segments %v", segs)
	}
	f.set(tenantA, "", nil)
	if _, err := exchange(t, f, p); !errors.Is(err, oidc.ErrIDToken) {
		t.Fatalf("an organization's token: err = %v, want oidc.ErrIDToken", err)
	}
}

// The email claim identifies nobody in a multi-tenant app unless the
// token says its domain owner verified it (nOAuth).
func TestEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		whenTenant  string
		givenTID    string
		givenClaims map[string]any
		expectEmail bool
	}{
		{"single tenant", tenantA, tenantA, nil, true},
		{"multi-tenant, unverified domain", "common", tenantB, nil, false},
		{"multi-tenant, xms_edov false", "organizations", tenantB, map[string]any{"xms_edov": false}, false},
		{"multi-tenant, xms_edov true", "organizations", tenantB, map[string]any{"xms_edov": true}, true},
		{"multi-tenant, personal account", "common", entra.ConsumersTenantID, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEntra(t, tc.givenTID)
			f.set(tc.givenTID, "", tc.givenClaims)
			p := newProvider(t, f, entra.Config{Tenant: tc.whenTenant})
			_, id := login(t, f, p)
			if (id.Email != "") != tc.expectEmail || id.Raw["email"] != "casey@contoso.example" {
				t.Fatalf("Email = %q (Raw %v), want set: %t", id.Email, id.Raw["email"], tc.expectEmail)
			}
			if id.Subject != "pairwise-sub-for-this-app" {
				t.Fatalf("Subject = %q, want the sub claim", id.Subject)
			}
			tid, oid, ok := entra.ObjectID(id)
			if !ok || tid != tc.givenTID || oid != oidUser {
				t.Fatalf("ObjectID = %q, %q, %t", tid, oid, ok)
			}
		})
	}
}

func TestEndpointsAndScopes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		when        entra.Config
		expectBase  string
		expectHosts []string
	}{
		{"global cloud", entra.Config{Tenant: tenantA}, "https://login.microsoftonline.com/" + tenantA, []string{"graph.microsoft.com"}},
		{"US Government cloud", entra.Config{Tenant: "organizations", Authority: "https://login.microsoftonline.us/"}, "https://login.microsoftonline.us/organizations", nil},
		{"own API hosts", entra.Config{Tenant: "common", APIHosts: []string{"api.example.com"}}, "https://login.microsoftonline.com/common", []string{"api.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.when.ClientID, tc.when.RedirectURL = clientID, redirectURL
			p, err := entra.New(context.Background(), tc.when)
			if err != nil {
				t.Fatal(err)
			}
			e := p.Endpoints()
			if e.Authorization != tc.expectBase+"/oauth2/v2.0/authorize" || e.Token != tc.expectBase+"/oauth2/v2.0/token" ||
				e.JWKS != tc.expectBase+"/discovery/v2.0/keys" || e.EndSession != tc.expectBase+"/oauth2/v2.0/logout" || e.UserInfo != "" || e.Revocation != "" {
				t.Fatalf("endpoints = %+v", e)
			}
			if !slices.Equal(p.APIHosts(), tc.expectHosts) {
				t.Fatalf("APIHosts = %v, want %v", p.APIHosts(), tc.expectHosts)
			}
			u, _ := url.Parse(p.AuthURL(provider.AuthRequest{State: "s"}))
			if got := u.Query().Get("scope"); got != "openid profile email offline_access" {
				t.Fatalf("scope = %q: offline_access is what brings a refresh token", got)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	valid := entra.Config{Tenant: tenantA, ClientID: clientID, RedirectURL: "https://app.example/auth/entra/callback"}
	for _, tc := range []struct {
		name   string
		when   func(*entra.Config)
		expect string
	}{
		{"no Tenant", func(c *entra.Config) { c.Tenant = "" }, "entra: invalid config: Tenant is required"},
		{"domain name as Tenant", func(c *entra.Config) { c.Tenant = "contoso.onmicrosoft.com" }, "entra: invalid config: Tenant must be the directory (tenant) ID"},
		{"allow-list with one tenant", func(c *entra.Config) { c.AllowedTenants = []string{tenantB} }, "entra: invalid config: AllowedTenants is only for Tenant"},
		{"allow-list with a domain", func(c *entra.Config) { c.Tenant, c.AllowedTenants = "common", []string{"contoso.com"} }, `entra: invalid config: AllowedTenants: entry "contoso.com" must be a tenant ID`},
		{"organizations allowing personal accounts", func(c *entra.Config) {
			c.Tenant, c.AllowedTenants = "organizations", []string{entra.ConsumersTenantID}
		}, "entra: invalid config: AllowedTenants must not name the personal-account tenant"},
		{"Authority with a path", func(c *entra.Config) { c.Authority = "https://login.microsoftonline.com/common" }, "entra: invalid config: Authority must be the cloud's login URL"},
		{"http Authority", func(c *entra.Config) { c.Authority = "http://login.example" }, "entra: invalid config: Authority must use https"},
		{"no ClientID", func(c *entra.Config) { c.ClientID = "" }, "entra: invalid config: ClientID is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tc.when(&cfg)
			_, err := entra.New(context.Background(), cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.expect) || !errors.Is(err, entra.ErrConfig) || !errors.Is(err, oauth2.ErrConfig) {
				t.Fatalf("err = %v, want prefix %q", err, tc.expect)
			}
		})
	}
}

// TestConformance runs the provider contract suite against the preset
// (whose Exchange, Refresh and Identity wrap the oidc provider's), as a
// multi-tenant app with an allow-list.
func TestConformance(t *testing.T) {
	providertest.RunRedirect(t, providertest.RedirectHarness{
		New: func(t *testing.T, env *providertest.Env) providertest.RedirectFixture {
			f := newFakeEntra(t, tenantA)
			f.set(tenantA, "", map[string]any{"xms_edov": true})
			p, err := entra.New(context.Background(), entra.Config{
				Tenant: "organizations", AllowedTenants: []string{tenantA},
				ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
				HTTPClient: env.Client(f.client()), Logger: env.Logger, Timeout: time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			return providertest.RedirectFixture{
				Provider: p,
				Authorize: func(ctx context.Context, authURL string) (string, string, error) {
					return f.op.AuthorizeCode(ctx, f.browserURL(t, authURL))
				},
				Fail: func(fl providertest.Failure) { f.op.FailNext(oidctest.EndpointToken, string(fl)) },
			}
		},
		RedirectURL:         redirectURL,
		Identity:            provider.Identity{Subject: "pairwise-sub-for-this-app", Name: "Casey Cook", Email: "casey@contoso.example"},
		Scopes:              entra.DefaultScopes(),
		ClientSecret:        clientSecret,
		RotatesRefreshToken: true,
		NoRevocation:        true,
	})
}
