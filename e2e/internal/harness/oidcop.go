package harness

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
)

// Environment variables of the test OpenID Provider (panva's oidc-provider,
// e2e/oidcop, started by scripts/services.sh).
const (
	// EnvOIDCIssuer is the OP's issuer, http://127.0.0.1:PORT.
	EnvOIDCIssuer = "GATEHOUSE_OIDC_ISSUER"
	// EnvOIDCClientID and EnvOIDCClientSecret are its static client
	// (client_secret_basic; redirect URIs
	// http://127.0.0.1:ANY/auth/oidc/callback and post-logout
	// http://127.0.0.1:ANY/auth/oidc/logged-out).
	EnvOIDCClientID     = "GATEHOUSE_OIDC_CLIENT_ID"
	EnvOIDCClientSecret = "GATEHOUSE_OIDC_CLIENT_SECRET"
	// EnvOIDCRegistrationToken is the initial access token of the OP's
	// dynamic client registration endpoint; it also reads the OP's test
	// event log.
	EnvOIDCRegistrationToken = "GATEHOUSE_OIDC_REGISTRATION_TOKEN"
)

// OIDCOP is the test OpenID Provider the environment names.
type OIDCOP struct {
	Issuer            string
	ClientID          string
	ClientSecret      string
	RegistrationToken string
}

// OIDCProvider returns the test OpenID Provider from GATEHOUSE_OIDC_ISSUER,
// GATEHOUSE_OIDC_CLIENT_ID, GATEHOUSE_OIDC_CLIENT_SECRET and
// GATEHOUSE_OIDC_REGISTRATION_TOKEN. When the issuer is unset the test is
// skipped (failed under CI=true); when it is set, the other three must be
// too, and something must answer at the issuer's host, or the test fails.
func OIDCProvider(t testing.TB) OIDCOP {
	t.Helper()
	op := OIDCOP{
		Issuer:            strings.TrimSpace(os.Getenv(EnvOIDCIssuer)),
		ClientID:          strings.TrimSpace(os.Getenv(EnvOIDCClientID)),
		ClientSecret:      strings.TrimSpace(os.Getenv(EnvOIDCClientSecret)),
		RegistrationToken: strings.TrimSpace(os.Getenv(EnvOIDCRegistrationToken)),
	}
	if op.Issuer == "" {
		missing(t, EnvOIDCIssuer+" is not set (issuer of the test OpenID Provider; `bash scripts/services.sh start` runs panva's oidc-provider and prints it)")
		return OIDCOP{}
	}
	for _, v := range []struct{ name, val string }{
		{EnvOIDCClientID, op.ClientID}, {EnvOIDCClientSecret, op.ClientSecret}, {EnvOIDCRegistrationToken, op.RegistrationToken},
	} {
		if v.val == "" {
			t.Fatalf("%s is set but %s is not (source .gatehouse-services/env)", EnvOIDCIssuer, v.name)
		}
	}
	u, err := url.Parse(op.Issuer)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		t.Fatalf("%s=%q is not an http(s) URL", EnvOIDCIssuer, op.Issuer)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	dialCheck(t, EnvOIDCIssuer, net.JoinHostPort(u.Hostname(), port))
	return op
}
