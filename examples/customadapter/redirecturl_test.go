package customadapter_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/examples/customadapter"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestWithRedirectURL: built without a RedirectURL and passed to
// middleware.New with a PublicURL, the adapter is replaced by its own
// copy: a *customadapter.GitHub (the embedded engine's method would return
// an *oauth2.Adapter without GitHub's grant revocation) with the callback
// URL New serves, while the adapter passed in is not changed.
func TestWithRedirectURL(t *testing.T) {
	t.Parallel()
	g, err := customadapter.New(customadapter.Config{ClientID: clientID, ClientSecret: secret})
	if err != nil {
		t.Fatalf("New without RedirectURL: %v", err)
	}
	cp, err := g.WithRedirectURL(redirect)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := cp.(*customadapter.GitHub)
	if !ok {
		t.Fatalf("WithRedirectURL returned %T, want *customadapter.GitHub", cp)
	}
	if _, revoker := cp.(provider.Revoker); !revoker || g.RedirectURL() != "" || c.RedirectURL() != redirect {
		t.Fatalf("copy: Revoker %t, RedirectURL %q (receiver %q)", revoker, c.RedirectURL(), g.RedirectURL())
	}
	a, err := middleware.New(middleware.Config{Providers: []provider.Provider{g}, PublicURL: "https://app.example"})
	if err != nil {
		t.Fatalf("middleware.New: %v", err)
	}
	_ = a.Close()
	if g.RedirectURL() != "" {
		t.Errorf("middleware.New changed the adapter: RedirectURL %q", g.RedirectURL())
	}
}
