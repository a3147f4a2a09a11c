package startgg_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/startgg"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestWithRedirectURL: without a RedirectURL the adapter sends nothing
// (start.gg repeats redirect_uri on refresh too); the copy WithRedirectURL
// returns is a *startgg.Adapter, not the embedded engine's type, so it
// keeps start.gg's AuthURL (the configured scopes only) and API host.
func TestWithRedirectURL(t *testing.T) {
	t.Parallel()
	a, err := startgg.New(startgg.Config{ClientID: testClientID, ClientSecret: testSecret})
	if err != nil {
		t.Fatalf("New without RedirectURL: %v", err)
	}
	if got := a.AuthURL(provider.AuthRequest{State: "s", CodeChallenge: "c"}); got != "" {
		t.Errorf("AuthURL without RedirectURL = %q, want empty", got)
	}
	ctx := context.Background()
	if _, err := a.Exchange(ctx, "code", "verifier"); !errors.Is(err, oauth2.ErrNoRedirectURL) {
		t.Errorf("Exchange without RedirectURL: err = %v, want oauth2.ErrNoRedirectURL", err)
	}
	if _, err := a.Refresh(ctx, &provider.Token{AccessToken: "at", RefreshToken: "rt"}); !errors.Is(err, oauth2.ErrNoRedirectURL) {
		t.Errorf("Refresh without RedirectURL: err = %v, want oauth2.ErrNoRedirectURL", err)
	}
	cp, err := a.WithRedirectURL(testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := cp.(*startgg.Adapter)
	if !ok {
		t.Fatalf("WithRedirectURL returned %T, want *startgg.Adapter", cp)
	}
	if a.RedirectURL() != "" || c.RedirectURL() != testRedirect {
		t.Fatalf("RedirectURL: receiver %q (want empty), copy %q", a.RedirectURL(), c.RedirectURL())
	}
	u, err := url.Parse(c.AuthURL(provider.AuthRequest{State: "s", CodeChallenge: "c", Scopes: []string{"user.email"}}))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("redirect_uri") != testRedirect || q.Get("scope") != startgg.ScopeIdentity {
		t.Errorf("copy's authorize request: redirect_uri %q, scope %q (want only the configured scope)", q.Get("redirect_uri"), q.Get("scope"))
	}
	if !slices.Equal(c.APIHosts(), a.APIHosts()) {
		t.Errorf("copy's APIHosts = %v, want %v", c.APIHosts(), a.APIHosts())
	}
}
