package github_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/github"
	"github.com/gatehouse-auth/gatehouse/adapters/github/githubtest"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestWithRedirectURL: without a RedirectURL the adapter sends no
// authorization request and no code exchange; the copy WithRedirectURL
// returns (what middleware.New uses) is a *github.Provider whose login
// works against GitHub's token endpoint (which compares redirect_uri with
// the authorization request's byte for byte), and the receiver is not
// changed.
func TestWithRedirectURL(t *testing.T) {
	t.Parallel()
	s := newServer(t, githubtest.Config{})
	p := newProvider(t, s, func(c *github.Config) { c.RedirectURL = "" })
	if got := p.AuthURL(provider.AuthRequest{State: "st", CodeChallenge: "c"}); got != "" {
		t.Errorf("AuthURL without RedirectURL = %q, want empty", got)
	}
	if _, err := p.Exchange(context.Background(), "code", "verifier"); !errors.Is(err, oauth2.ErrNoRedirectURL) {
		t.Errorf("Exchange without RedirectURL: err = %v, want oauth2.ErrNoRedirectURL", err)
	}
	cp, err := p.WithRedirectURL(redirectURL)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := cp.(*github.Provider)
	if !ok {
		t.Fatalf("WithRedirectURL returned %T, want *github.Provider", cp)
	}
	if p.RedirectURL() != "" || c.RedirectURL() != redirectURL || c.Config().RedirectURL != redirectURL {
		t.Fatalf("RedirectURL: receiver %q (want empty), copy %q (want %q)", p.RedirectURL(), c.RedirectURL(), redirectURL)
	}
	code, verifier := authorize(t, s, c)
	tok, err := c.Exchange(context.Background(), code, verifier)
	if err != nil {
		t.Fatalf("copy: Exchange: %v", err)
	}
	if _, err := c.Identity(context.Background(), tok); err != nil {
		t.Fatalf("copy: Identity: %v", err)
	}
	if _, err := p.WithRedirectURL("http://app.example/auth/github/callback"); !errors.Is(err, github.ErrConfig) {
		t.Errorf("WithRedirectURL(http off loopback): err = %v, want github.ErrConfig", err)
	}
}
