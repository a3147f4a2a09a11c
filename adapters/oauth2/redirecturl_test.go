package oauth2_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestEmptyRedirectURLFailsClearly: an adapter built without a RedirectURL
// and used directly (no middleware to fill it in) returns no authorization
// URL and sends no token request: an authorization server would otherwise
// see a request without the redirect_uri it compares.
func TestEmptyRedirectURLFailsClearly(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: okReply}
	a := withRecorder(t, rec, func(c *oauth2.Config) { c.RedirectURL, c.RedirectURLOnRefresh = "", true })
	if got := a.RedirectURL(); got != "" {
		t.Fatalf("RedirectURL() = %q, want empty", got)
	}
	if got := a.AuthURL(provider.AuthRequest{State: "s", CodeChallenge: "c"}); got != "" {
		t.Errorf("AuthURL = %q, want empty (no authorization request without redirect_uri)", got)
	}
	cfg := a.Config()
	cfg.AllowImplicit = true
	ia, err := oauth2.NewImplicit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := ia.ImplicitAuthURL(provider.AuthRequest{State: "s"}); got != "" {
		t.Errorf("ImplicitAuthURL = %q, want empty", got)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		when func() error
	}{
		{"exchange", func() error { _, err := a.Exchange(ctx, "code", "verifier"); return err }},
		{"exchange reply", func() error { _, _, err := a.ExchangeReply(ctx, "code", "verifier"); return err }},
		{"refresh sending redirect_uri", func() error {
			_, err := a.Refresh(ctx, &provider.Token{AccessToken: "at", RefreshToken: "rt"})
			return err
		}},
	}
	for _, tc := range tests {
		err := tc.when()
		if !errors.Is(err, oauth2.ErrNoRedirectURL) || !errors.Is(err, oauth2.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrNoRedirectURL (matching ErrConfig)", tc.name, err)
		}
	}
	rec.mu.Lock()
	n := len(rec.reqs)
	rec.mu.Unlock()
	if n != 0 {
		t.Errorf("%d requests reached the token endpoint, want 0", n)
	}
}

// TestWithRedirectURL: the copy carries the URL into the authorize request
// and repeats it byte for byte in the token request; the receiver is not
// changed; a URL the adapter would refuse at New is refused.
func TestWithRedirectURL(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: okReply}
	a := withRecorder(t, rec, func(c *oauth2.Config) { c.RedirectURL = "" })
	const want = "https://app.example/auth/gen/callback?x=%2F"
	p, err := a.WithRedirectURL(want)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := p.(*oauth2.Adapter)
	if !ok {
		t.Fatalf("WithRedirectURL returned %T, want *oauth2.Adapter", p)
	}
	if a.RedirectURL() != "" || a.AuthURL(provider.AuthRequest{State: "s"}) != "" {
		t.Error("WithRedirectURL changed the receiver")
	}
	if got := c.RedirectURL(); got != want {
		t.Errorf("copy's RedirectURL() = %q, want %q", got, want)
	}
	if got := mustQuery(t, c.AuthURL(provider.AuthRequest{State: "s", CodeChallenge: "c"})).Get("redirect_uri"); got != want {
		t.Errorf("authorize redirect_uri = %q, want %q", got, want)
	}
	if _, err := c.Exchange(context.Background(), "code", "verifier"); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t).form.Get("redirect_uri"); got != want {
		t.Errorf("token request redirect_uri = %q, want %q byte for byte", got, want)
	}
	for _, bad := range []string{"", "http://app.example/auth/gen/callback", "/auth/gen/callback", "https://app.example/cb#f"} {
		if _, err := a.WithRedirectURL(bad); !errors.Is(err, oauth2.ErrConfig) {
			t.Errorf("WithRedirectURL(%q) err = %v, want ErrConfig", bad, err)
		}
	}

	cfg := a.Config()
	cfg.AllowImplicit = true
	ia, err := oauth2.NewImplicit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := ia.WithRedirectURL(want)
	if err != nil {
		t.Fatal(err)
	}
	ic, ok := ip.(*oauth2.ImplicitAdapter)
	if !ok {
		t.Fatalf("ImplicitAdapter.WithRedirectURL returned %T, want *oauth2.ImplicitAdapter", ip)
	}
	if got := mustQuery(t, ic.ImplicitAuthURL(provider.AuthRequest{State: "s"})).Get("redirect_uri"); got != want {
		t.Errorf("implicit redirect_uri = %q, want %q", got, want)
	}
}
