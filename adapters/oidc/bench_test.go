package oidc

import (
	"context"
	"crypto"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkIDTokenVerify compares, in one run, the cost of verifying one ID
// token as a login callback does (the code exchange's verification step:
// go-oidc's verifier over our key set plus the checks go-oidc leaves to the
// caller) with go-oidc's verifier alone (static key) and go-jose's
// signature check alone; "exchange" is the whole ExchangeNonce, including
// the token request to a loopback oidctest OP.
func BenchmarkIDTokenVerify(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		fx := newFixture(b, alg)
		ctx := context.Background()
		b.Run(alg+"/gatehouse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fx.p.verifyIDToken(ctx, fx.raw, fx.at, nonceCheck, fx.nonce); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/go-oidc", func(b *testing.B) {
			v := gooidc.NewVerifier(fx.op.Issuer, &gooidc.StaticKeySet{PublicKeys: []crypto.PublicKey{fx.pub}},
				&gooidc.Config{ClientID: "rp", SupportedSigningAlgs: []string{alg}})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, fx.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/go-jose", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				jws, err := jose.ParseSignedCompact(fx.raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jws.Verify(fx.pub); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/exchange", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				code, verifier := fx.authorize(b)
				b.StartTimer()
				if _, err := fx.p.ExchangeNonce(ctx, code, verifier, fx.nonce); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
