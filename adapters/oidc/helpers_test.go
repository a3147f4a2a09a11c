package oidc_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

const (
	testClientID     = "rp-client"
	testClientSecret = "rp-secret-0123456789"
	testRedirect     = "https://app.example/auth/oidc/callback"
	testPostLogout   = "https://app.example/auth/oidc/logged-out"
)

// clock is a fake clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newOP(t *testing.T, cfg oidctest.Config) *oidctest.Server {
	t.Helper()
	if cfg.Clients == nil {
		cfg.Clients = []oidctest.Client{{ID: testClientID, Secret: testClientSecret,
			RedirectURIs: []string{testRedirect}, PostLogoutRedirectURIs: []string{testPostLogout}}}
	}
	op := oidctest.NewServer(cfg)
	t.Cleanup(op.Close)
	return op
}

func newRP(t *testing.T, op *oidctest.Server, edit func(*oidc.Config)) *oidc.Provider {
	t.Helper()
	cfg := oidc.Config{
		Issuer:                op.Issuer,
		ClientID:              testClientID,
		ClientSecret:          testClientSecret,
		RedirectURL:           testRedirect,
		PostLogoutRedirectURL: testPostLogout,
		Timeout:               2 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := oidc.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("oidc.New: %v", err)
	}
	return p
}

// attempt is one login attempt as the middleware makes it.
type attempt struct {
	state, verifier, nonce string
}

func newAttempt() attempt {
	return attempt{state: provider.NewState(), verifier: provider.NewVerifier(), nonce: provider.NewState()}
}

// authorize sends the attempt to the OP and returns the code.
func authorize(t *testing.T, p *oidc.Provider, op *oidctest.Server, a attempt) string {
	t.Helper()
	u := p.AuthURL(provider.AuthRequest{State: a.state, CodeChallenge: provider.S256Challenge(a.verifier), Nonce: a.nonce})
	code, state, err := op.AuthorizeCode(context.Background(), u)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if state != a.state {
		t.Fatalf("state %q, want %q", state, a.state)
	}
	return code
}

// login runs a whole login as the middleware does: exchange with the
// nonce, and only when that succeeds, Identity.
func login(t *testing.T, p *oidc.Provider, op *oidctest.Server) (*provider.Token, *provider.Identity, error) {
	t.Helper()
	a := newAttempt()
	code := authorize(t, p, op, a)
	tok, err := p.ExchangeNonce(context.Background(), code, a.verifier, a.nonce)
	if err != nil {
		return nil, nil, err
	}
	id, err := p.Identity(context.Background(), tok)
	return tok, id, err
}

// mustLogin is login that must succeed.
func mustLogin(t *testing.T, p *oidc.Provider, op *oidctest.Server) (*provider.Token, *provider.Identity) {
	t.Helper()
	tok, id, err := login(t, p, op)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return tok, id
}
