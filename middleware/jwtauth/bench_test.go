package jwtauth

import (
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkVerify measures Verify per request for each algorithm, each next
// to parse-<alg>: a plain jwt.Parse of the same token with a keyfunc that
// just returns the key. The target is Verify ≤ 1.2 × plain jwt.Parse.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []Algorithm{EdDSA, ES256, HS256} {
		a := newTestAuthority(b, alg, func(c *Config) { c.Now = nil }) // real clock
		tok, _, err := a.Mint("user-1", "session-1", "whisk", []string{"read", "write"})
		if err != nil {
			b.Fatal(err)
		}
		key := a.keys[0].key
		authz := "Bearer " + tok // as the middleware passes it
		name := strings.ToLower(string(alg))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(authz); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parse-"+name, func(b *testing.B) {
			b.ReportAllocs()
			keyFunc := func(*jwt.Token) (any, error) { return key, nil }
			for b.Loop() {
				if _, err := jwt.Parse(tok, keyFunc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyReject measures the cheap rejection paths.
func BenchmarkVerifyReject(b *testing.B) {
	a := newTestAuthority(b, EdDSA, nil)
	tok, _, err := a.Mint("user-1", "session-1", "whisk", nil)
	if err != nil {
		b.Fatal(err)
	}
	for name, in := range map[string]string{
		"oversized":     strings.Repeat(".", 1<<20),
		"malformed":     "Bearer " + strings.Repeat("a.", 100),
		"bad-signature": flipSig(tok),
		"unknown-kid":   craft(b, jwt.SigningMethodEdDSA, edPriv, with(header(EdDSA), "kid", "nope"), claims()),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(in); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// BenchmarkMint measures minting for each algorithm.
func BenchmarkMint(b *testing.B) {
	for _, alg := range []Algorithm{EdDSA, ES256, HS256} {
		a := newTestAuthority(b, alg, nil)
		b.Run(strings.ToLower(string(alg)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := a.Mint("user-1", "session-1", "whisk", []string{"read"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
