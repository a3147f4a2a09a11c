package middleware_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestNewChecksPostLogoutRedirectURL: an OpenID Connect provider's
// post_logout_redirect_uri must be the URL Gatehouse serves the return from
// RP-initiated logout at; a typo fails New with the URL it expected instead
// of every sign-out ending on an error page.
func TestNewChecksPostLogoutRedirectURL(t *testing.T) {
	t.Parallel()
	op := oidctest.NewServer(oidctest.Config{})
	t.Cleanup(op.Close)
	for _, tc := range []struct {
		name        string
		whenURL     string // oidc.Config.PostLogoutRedirectURL
		expectErr   string // "" means New succeeds
		givenPublic string
	}{
		{"matches", "http://127.0.0.1:8080/auth/sso/logged-out", "", "http://127.0.0.1:8080"},
		{"unset: logout ends at the app", "", "", "http://127.0.0.1:8080"},
		{"wrong path", "http://127.0.0.1:8080/logged-out", `provider sso: PostLogoutRedirectURL is "http://127.0.0.1:8080/logged-out", expected "http://127.0.0.1:8080/auth/sso/logged-out"`, "http://127.0.0.1:8080"},
		{"wrong port", "http://127.0.0.1:9090/auth/sso/logged-out", `expected "http://127.0.0.1:8080/auth/sso/logged-out"`, "http://127.0.0.1:8080"},
		{"no PublicURL, wrong path", "http://127.0.0.1:8080/auth/other/logged-out", `expected a URL with path "/auth/sso/logged-out"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := oidc.New(context.Background(), oidc.Config{Name: "sso", Issuer: op.Issuer, ClientID: "app",
				ClientSecret: "app-secret", RedirectURL: "http://127.0.0.1:8080/auth/sso/callback",
				PostLogoutRedirectURL: tc.whenURL, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			a, err := middleware.New(middleware.Config{Providers: []provider.Provider{p}, PublicURL: tc.givenPublic,
				DevMode: tc.givenPublic != "", Logger: discardLogger()})
			if tc.expectErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				_ = a.Close()
				return
			}
			if err == nil {
				_ = a.Close()
				t.Fatalf("New succeeded, want an error containing %q", tc.expectErr)
			}
			if !strings.Contains(err.Error(), tc.expectErr) {
				t.Fatalf("New: %v\nwant it to contain %q", err, tc.expectErr)
			}
		})
	}
}
