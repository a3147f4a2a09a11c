package oidc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Negative tests named after the OpenID Foundation's RP certification
// modules (oidcc-client-test-*). Each login must fail at the code exchange
// itself — so UserInfo is never called — with an error matching
// oidc.ErrIDToken and provider.ErrBadResponse.

func expectBadIDToken(t *testing.T, op *oidctest.Server, p *oidc.Provider) {
	t.Helper()
	before := op.Calls(oidctest.EndpointUserInfo)
	a := newAttempt()
	_, err := p.ExchangeNonce(context.Background(), authorize(t, p, op, a), a.verifier, a.nonce)
	if err == nil {
		t.Fatal("the code exchange accepted the ID token")
	}
	if !errors.Is(err, oidc.ErrIDToken) || !errors.Is(err, provider.ErrBadResponse) {
		t.Fatalf("error %v; want oidc.ErrIDToken and provider.ErrBadResponse", err)
	}
	if n := op.Calls(oidctest.EndpointUserInfo) - before; n != 0 {
		t.Fatalf("UserInfo called %d times after a bad ID token", n)
	}
}

func misbehaving(t *testing.T, m oidctest.Misbehaviour) {
	t.Helper()
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	p := newRP(t, op, nil)
	op.Misbehave(m)
	expectBadIDToken(t, op, p)
}

func TestOIDCClientTestInvalidIss(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{IDTokenIss: "https://op.evil.example"})
}

func TestOIDCClientTestInvalidAud(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{IDTokenAud: []string{"another-client"}})
}

func TestOIDCClientTestMissingAud(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{IDTokenAud: []string{}})
}

func TestOIDCClientTestMultipleAudNoAzp(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{IDTokenAud: []string{testClientID, "another-client"}})
}

func TestOIDCClientTestInvalidAzp(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{IDTokenAud: []string{testClientID, "another-client"}, Azp: "another-client"})
}

func TestOIDCClientTestMissingSub(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{OmitSub: true})
}

func TestOIDCClientTestMissingIat(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{OmitIat: true})
}

func TestOIDCClientTestMissingExp(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{OmitExp: true})
}

func TestOIDCClientTestExpired(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{Expired: true})
}

func TestOIDCClientTestNonceInvalid(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{WrongNonce: true})
}

func TestOIDCClientTestNonceMissing(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{OmitNonce: true})
}

func TestOIDCClientTestInvalidAtHash(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{WrongAtHash: true})
}

func TestOIDCClientTestIdtokenSigNone(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{AlgNone: true})
}

func TestOIDCClientTestInvalidSigRS256(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{BadSignature: true})
}

// A token correct in every respect (kid, alg, claims) but signed with
// another key: an RP accepting any signature passed the whole OpenID plan
// once (conformance-suite issue #1375).
func TestOIDCClientTestWrongSigningKey(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{WrongKey: true})
}

func TestOIDCClientTestInvalidSigES256(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{Alg: "ES256"})
	p := newRP(t, op, nil)
	mustLogin(t, p, op) // ES256 is accepted when advertised
	op.Misbehave(oidctest.Misbehaviour{BadSignature: true})
	expectBadIDToken(t, op, p)
}

func TestOIDCClientTestInvalidSigHS256(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{HS256PublicKey: true})
}

func TestOIDCClientTestKidAbsentSingleJwks(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	p := newRP(t, op, nil)
	op.Misbehave(oidctest.Misbehaviour{OmitKid: true})
	if _, _, err := login(t, p, op); err != nil {
		t.Fatalf("a token without kid against a JWKS of one key must verify: %v", err)
	}
}

func TestOIDCClientTestKidAbsentMultipleJwks(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	op.AddKey()
	p := newRP(t, op, nil)
	op.Misbehave(oidctest.Misbehaviour{OmitKid: true})
	expectBadIDToken(t, op, p)
}

func TestOIDCClientTestUserinfoInvalidSub(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	p := newRP(t, op, nil)
	op.Misbehave(oidctest.Misbehaviour{UserInfoSub: "someone-else"})
	_, id, err := login(t, p, op)
	if err == nil || id != nil {
		t.Fatalf("login with a UserInfo sub differing from the ID token's: id %v, err %v; want a failure", id, err)
	}
	if !errors.Is(err, provider.ErrBadResponse) {
		t.Fatalf("error %v; want provider.ErrBadResponse", err)
	}
	if n := op.Calls(oidctest.EndpointUserInfo); n != 1 {
		t.Fatalf("UserInfo calls %d, want 1", n)
	}
}

func TestOIDCClientTestDiscoveryIssuerMismatch(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	op.Misbehave(oidctest.Misbehaviour{DiscoveryIssuer: "https://op.evil.example"})
	_, err := oidc.New(context.Background(), oidc.Config{Issuer: op.Issuer, ClientID: testClientID, RedirectURL: testRedirect})
	if !errors.Is(err, oidc.ErrDiscovery) {
		t.Fatalf("New: %v; want ErrDiscovery", err)
	}
	for _, want := range []string{op.Issuer, "https://op.evil.example"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// A trailing slash is a different issuer too.
	op2 := newOP(t, oidctest.Config{})
	if _, err := oidc.New(context.Background(), oidc.Config{Issuer: op2.Issuer + "/", ClientID: testClientID, RedirectURL: testRedirect}); !errors.Is(err, oidc.ErrDiscovery) {
		t.Fatalf("issuer with a trailing slash: %v; want ErrDiscovery", err)
	}
}

func TestOIDCClientTestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{})
	p := newRP(t, op, nil)
	mustLogin(t, p, op)
	// The OP publishes a new key and signs with it at once; the old one
	// is withdrawn.
	op.RotateKey()
	op.RetireKeys()
	mustLogin(t, p, op)
	if n := op.Calls(oidctest.EndpointJWKS); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (first use, then the unknown kid)", n)
	}
	// The ES256 flavour, and a second rotation right after a refetch
	// (within the refetch interval) still refused rather than hammering.
	op2 := newOP(t, oidctest.Config{Alg: "ES256"})
	p2 := newRP(t, op2, nil)
	mustLogin(t, p2, op2)
	op2.RotateKey()
	mustLogin(t, p2, op2)
}

// Refresh replies with an ID token: iss, sub and aud must stay those of
// the login (OpenID Connect Core §12.2); a failure ends the login
// (provider.ErrInvalidGrant).
func TestOIDCClientTestRefreshToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		given  oidctest.Misbehaviour
		expect bool // accepted
	}{
		{"valid", oidctest.Misbehaviour{}, true},
		{"RefreshTokenInvalidIssuer", oidctest.Misbehaviour{RefreshIss: "https://op.evil.example"}, false},
		{"RefreshTokenInvalidSub", oidctest.Misbehaviour{RefreshSub: "someone-else"}, false},
		{"RefreshTokenInvalidAud", oidctest.Misbehaviour{RefreshAud: []string{"another-client"}}, false},
		{"RefreshTokenExtraAud", oidctest.Misbehaviour{RefreshAud: []string{testClientID, "another-client"}, Azp: testClientID}, false},
		{"RefreshTokenBadSignature", oidctest.Misbehaviour{BadSignature: true}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, oidctest.Config{})
			p := newRP(t, op, nil)
			tok, _ := mustLogin(t, p, op)
			op.Misbehave(tc.given)
			fresh, err := p.Refresh(context.Background(), tok)
			if tc.expect {
				if err != nil {
					t.Fatalf("Refresh: %v", err)
				}
				if fresh.Extra[oidc.ExtraIDToken] == tok.Extra[oidc.ExtraIDToken] || fresh.Extra[oidc.ExtraIDToken] == "" {
					t.Fatal("refreshed token set does not hold the new ID token")
				}
				return
			}
			if !errors.Is(err, provider.ErrInvalidGrant) || !errors.Is(err, oidc.ErrIDToken) {
				t.Fatalf("Refresh: %v; want ErrInvalidGrant and ErrIDToken", err)
			}
		})
	}
}

func TestRefreshWithoutIDTokenKeepsTheLogins(t *testing.T) {
	t.Parallel()
	op := newOP(t, oidctest.Config{NoIDTokenOnRefresh: true})
	p := newRP(t, op, nil)
	tok, _ := mustLogin(t, p, op)
	fresh, err := p.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Extra[oidc.ExtraIDToken] != tok.Extra[oidc.ExtraIDToken] {
		t.Fatal("the login's ID token was not kept for id_token_hint")
	}
	if fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("rotated refresh token not taken")
	}
}

func TestExchangeWithoutIDTokenFails(t *testing.T) {
	misbehaving(t, oidctest.Misbehaviour{OmitIDToken: true})
}
