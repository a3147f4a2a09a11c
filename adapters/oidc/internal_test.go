package oidc

import (
	"context"
	"crypto"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// fixture is a Provider wired to an oidctest OP, with one ID token
// obtained through a real login (its nonce and access token too).
type fixture struct {
	op                *oidctest.Server
	p                 *Provider
	raw, nonce, at    string
	pub               crypto.PublicKey
	authURL, verifier string
}

func newFixture(tb testing.TB, alg string) *fixture {
	tb.Helper()
	const redirect = "https://app.example/auth/oidc/callback"
	op := oidctest.NewServer(oidctest.Config{Alg: alg, Clients: []oidctest.Client{{ID: "rp", Secret: "rp-secret", RedirectURIs: []string{redirect}}}})
	tb.Cleanup(op.Close)
	p, err := New(context.Background(), Config{Issuer: op.Issuer, ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: redirect})
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{op: op, p: p}
	tok := f.login(tb)
	f.raw, f.at = tok.Extra[ExtraIDToken].(string), tok.AccessToken
	jws, err := jose.ParseSignedCompact(f.raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		tb.Fatal(err)
	}
	keys, _, err := p.keys.current(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for _, k := range keys {
		if k.KeyID == jws.Signatures[0].Protected.KeyID {
			f.pub = k.Key
		}
	}
	return f
}

// login runs one login and leaves its nonce in f.nonce.
func (f *fixture) login(tb testing.TB) *provider.Token {
	tb.Helper()
	code, verifier := f.authorize(tb)
	tok, err := f.p.ExchangeNonce(context.Background(), code, verifier, f.nonce)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func (f *fixture) authorize(tb testing.TB) (code, verifier string) {
	tb.Helper()
	verifier, f.nonce = provider.NewVerifier(), provider.NewState()
	u := f.p.AuthURL(provider.AuthRequest{State: provider.NewState(), CodeChallenge: provider.S256Challenge(verifier), Nonce: f.nonce})
	code, _, err := f.op.AuthorizeCode(context.Background(), u)
	if err != nil {
		tb.Fatal(err)
	}
	return code, verifier
}

// FuzzVerify feeds the ID token verifier arbitrary tokens: it must never
// panic, and whatever it accepts must satisfy every rule (signed by the
// OP, our issuer, audience, nonce and access token, sub and iat present).
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, "RS256")
	f.Add(fx.raw)
	f.Add(fx.raw[:len(fx.raw)-3] + "AAA")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("....")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := fx.p.verifyIDToken(context.Background(), raw, fx.at, nonceCheck, fx.nonce)
		if err != nil {
			return
		}
		if v.token.Issuer != fx.op.Issuer || v.token.Subject == "" || v.token.IssuedAt.IsZero() ||
			v.token.Nonce != fx.nonce || v.token.Expiry.Before(time.Now()) {
			t.Fatalf("accepted a token breaking the rules: %+v", v.token)
		}
		if _, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256}); err != nil {
			t.Fatalf("accepted a token go-jose cannot parse: %v", err)
		}
	})
}
