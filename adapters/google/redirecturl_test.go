package google_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/google"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestWithRedirectURLKeepsHostedDomain: a provider built without a
// RedirectURL sends no authorization request and no code exchange; the
// copy WithRedirectURL returns (what middleware.New uses) is a
// *google.Provider that still refuses an account outside the hosted
// domains. The embedded oidc provider's own copy would not: that is why
// google.Provider implements WithRedirectURL itself.
func TestWithRedirectURLKeepsHostedDomain(t *testing.T) {
	t.Parallel()
	user := workspaceUser
	user.Claims = map[string]any{"hd": "evil.example"}
	f := newFakeGoogle(t, user)
	f.set(google.Issuer, "evil.example")
	p, err := google.New(context.Background(), google.Config{ClientID: clientID, ClientSecret: clientSecret,
		HostedDomains: []string{"example.com"}, HTTPClient: f.client()})
	if err != nil {
		t.Fatalf("New without RedirectURL: %v", err)
	}
	if got := p.AuthURL(provider.AuthRequest{State: "s", Nonce: "n", CodeChallenge: "c"}); got != "" {
		t.Errorf("AuthURL without RedirectURL = %q, want empty", got)
	}
	if _, err := p.ExchangeNonce(context.Background(), "code", "verifier", "n"); !errors.Is(err, oauth2.ErrNoRedirectURL) {
		t.Errorf("ExchangeNonce without RedirectURL: err = %v, want oauth2.ErrNoRedirectURL", err)
	}

	cp, err := p.WithRedirectURL(redirectURL)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := cp.(*google.Provider)
	if !ok {
		t.Fatalf("WithRedirectURL returned %T, want *google.Provider", cp)
	}
	if p.RedirectURL() != "" || g.RedirectURL() != redirectURL {
		t.Fatalf("RedirectURL: receiver %q (want empty), copy %q (want %q)", p.RedirectURL(), g.RedirectURL(), redirectURL)
	}
	if _, err := exchange(t, f, g); !errors.Is(err, google.ErrHostedDomain) || !errors.Is(err, provider.ErrRejected) {
		t.Fatalf("copy: err = %v, want ErrHostedDomain and provider.ErrRejected", err)
	}

	// The hazard the method avoids: the embedded provider's copy has no
	// hosted-domain check, so the same account gets in.
	bare, err := p.Provider.WithRedirectURL(redirectURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := bare.(provider.NonceExchanger)
	verifier, nonce := provider.NewVerifier(), provider.NewState()
	code, _, err := f.op.AuthorizeCode(context.Background(),
		rp.AuthURL(provider.AuthRequest{State: provider.NewState(), Nonce: nonce, CodeChallenge: provider.S256Challenge(verifier)}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.ExchangeNonce(context.Background(), code, verifier, nonce); err != nil {
		t.Fatalf("embedded oidc copy: %v (expected it to lack the hosted-domain check)", err)
	}
}
