package whisk_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestWithRedirectURL: without a RedirectURL the adapter sends nothing;
// the copies WithRedirectURL returns are of the adapter's own type and keep
// what Whisk adds to the engine (scope normalisation with offline_access,
// the API host, the implicit grant), and the receiver is not changed.
func TestWithRedirectURL(t *testing.T) {
	t.Parallel()
	const want = "https://app.example/auth/whisk/callback"
	cfg := baseConfig()
	cfg.RedirectURL, cfg.Offline = "", true
	a := mustNew(t, cfg)
	if got := a.AuthURL(provider.AuthRequest{State: "s", CodeChallenge: "c"}); got != "" {
		t.Errorf("AuthURL without RedirectURL = %q, want empty", got)
	}
	if _, err := a.Exchange(context.Background(), "code", "verifier"); !errors.Is(err, oauth2.ErrNoRedirectURL) {
		t.Errorf("Exchange without RedirectURL: err = %v, want oauth2.ErrNoRedirectURL", err)
	}
	cp, err := a.WithRedirectURL(want)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := cp.(*whisk.Adapter)
	if !ok {
		t.Fatalf("WithRedirectURL returned %T, want *whisk.Adapter", cp)
	}
	if a.RedirectURL() != "" || c.RedirectURL() != want {
		t.Fatalf("RedirectURL: receiver %q (want empty), copy %q", a.RedirectURL(), c.RedirectURL())
	}
	_, q := parseAuthURL(t, c.AuthURL(provider.AuthRequest{State: "s", CodeChallenge: "c", Scopes: []string{"user.profile:read"}}))
	if q.Get("redirect_uri") != want || !slices.Contains(strings.Fields(q.Get("scope")), whisk.OfflineAccess) {
		t.Errorf("copy's authorize request: redirect_uri %q, scope %q (want offline_access added)", q.Get("redirect_uri"), q.Get("scope"))
	}
	if !slices.Equal(c.APIHosts(), a.APIHosts()) {
		t.Errorf("copy's APIHosts = %v, want %v", c.APIHosts(), a.APIHosts())
	}
	if _, err := a.WithRedirectURL("http://app.example/cb"); !errors.Is(err, whisk.ErrConfig) {
		t.Errorf("WithRedirectURL(http off loopback): err = %v, want whisk.ErrConfig", err)
	}

	cfg.AllowImplicit, cfg.Logger = true, slog.New(slog.DiscardHandler)
	ia, err := whisk.NewImplicit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	icp, err := ia.WithRedirectURL(want)
	if err != nil {
		t.Fatal(err)
	}
	ic, ok := icp.(*whisk.ImplicitAdapter)
	if !ok {
		t.Fatalf("ImplicitAdapter.WithRedirectURL returned %T, want *whisk.ImplicitAdapter", icp)
	}
	_, q = parseAuthURL(t, ic.ImplicitAuthURL(provider.AuthRequest{State: "s"}))
	if q.Get("response_type") != "token" || q.Get("redirect_uri") != want {
		t.Errorf("copy's implicit request: response_type %q, redirect_uri %q", q.Get("response_type"), q.Get("redirect_uri"))
	}
	if ia.RedirectURL() != "" || ia.ImplicitAuthURL(provider.AuthRequest{State: "s"}) != "" {
		t.Error("WithRedirectURL changed the implicit receiver")
	}
}
