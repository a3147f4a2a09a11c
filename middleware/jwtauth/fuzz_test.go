package jwtauth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// isOurMint reports whether tok is, byte for byte, what Mint would produce
// for the seed inputs: the exact header, canonical base64url segments, and
// the seed claims. Under -fuzz each worker process mints its own tokens
// (random jti), so a valid HS256 seed minted by another process (same fixed
// secret) is accepted legitimately and recognised here.
func isOurMint(a *Authority, tok string, c *Claims) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0]+"." != a.headerPart {
		return false
	}
	for _, p := range parts[1:] {
		raw, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil || base64.RawURLEncoding.EncodeToString(raw) != p {
			return false
		}
	}
	return c.Subject == "user-1" && c.SessionID == "session-1" && c.Provider == "whisk" &&
		(c.Scope == "" || c.Scope == "read write") && c.IssuedAt.Equal(t0) && c.Issuer == testIss
}

// FuzzVerify feeds arbitrary Authorization values to Verify on an EdDSA and
// an HS256 Authority. Verify must never panic, must always return exactly
// one of claims or an ErrInvalidToken error whose text reveals nothing, and
// must never accept a token it did not mint (a fuzzer cannot forge a
// signature; Ed25519 and HMAC signatures are not malleable, and strict
// base64 decoding rules out re-encodings of the same signature).
func FuzzVerify(f *testing.F) {
	type target struct {
		a      *Authority
		minted map[string]bool
	}
	var targets []target
	for _, alg := range []Algorithm{EdDSA, HS256} {
		a := newTestAuthority(f, alg, nil)
		minted := map[string]bool{}
		for _, scopes := range [][]string{nil, {"read", "write"}} {
			tok, _, err := a.Mint("user-1", "session-1", "whisk", scopes)
			if err != nil {
				f.Fatal(err)
			}
			minted[tok] = true
			f.Add(tok)
			f.Add("Bearer " + tok)
			f.Add(flipSig(tok))
			f.Add(strings.ToUpper(tok))
			f.Add(tok + "." + tok)
		}
		targets = append(targets, target{a, minted})
	}
	H, C := header(EdDSA), claims()
	f.Add(b64json(f, with(H, "alg", "none")) + "." + b64json(f, C) + ".")
	f.Add(b64json(f, with(H, "alg", "nOnE")) + "." + b64json(f, C) + ".c2ln")
	f.Add(craft(f, jwt.SigningMethodHS256, []byte(edPriv.Public().(ed25519PublicKey)), with(H, "alg", "HS256"), C))
	f.Add(craft(f, jwt.SigningMethodEdDSA, edPriv2, H, C))
	f.Add(craft(f, jwt.SigningMethodEdDSA, edPriv, with(H, "kid", "../../x"), C))
	f.Add(b64json(f, H) + "." + b64([]byte(`{"exp":1e999,"aud":{}}`)) + ".c2ln")
	f.Add(b64([]byte(`{"alg":"EdDSA","typ":"at+jwt","kid":"k1","crit":["b64"],"b64":false}`)) + ".e30.c2ln")
	f.Add(strings.Repeat(".", 4096))
	f.Add("Bearer ")
	f.Add("")
	f.Add("a.b.c")
	f.Add("Bearer\ta.b.c")
	f.Add("bearer  eyJ.eyJ.x")

	f.Fuzz(func(t *testing.T, in string) {
		for _, tg := range targets {
			c, err := tg.a.Verify(in)
			if err == nil {
				tok, _ := bearerToken(in)
				if c == nil {
					t.Fatal("nil claims and nil error")
				}
				if !tg.minted[tok] && !isOurMint(tg.a, tok, c) {
					t.Fatalf("%s authority accepted a token it never minted: %q", tg.a.Algorithm(), in)
				}
				continue
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			if !errors.Is(err, ErrInvalidToken) || err.Error() != "jwtauth: invalid token" {
				t.Fatalf("error %v", err)
			}
		}
	})
}
