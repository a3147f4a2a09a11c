package jwtauth

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// flipSig changes a character in the middle of the signature segment.
func flipSig(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func TestVerifyEdDSA(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, EdDSA, nil)
	edPub := edPriv.Public().(ed25519PublicKey)
	pkix, err := x509.MarshalPKIXPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	other := newTestAuthority(t, EdDSA, func(c *Config) {
		c.Keys = []Key{{ID: "other-k", Private: edPriv2}}
	})
	minted, _, err := a.Mint("user-1", "session-1", "whisk", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	ed := jwt.SigningMethodEdDSA
	H, C := header(EdDSA), claims()
	exp := t0.Add(-time.Hour)

	tests := []struct {
		name         string
		givenToken   func(t *testing.T) string
		expectOK     bool
		expectReason string // checked when non-empty
	}{
		{name: "valid minted", givenToken: func(*testing.T) string { return minted }, expectOK: true},
		{name: "valid minted with Bearer", givenToken: func(*testing.T) string { return "Bearer " + minted }, expectOK: true},
		{name: "valid minted with lower-case bearer", givenToken: func(*testing.T) string { return "bearer " + minted }, expectOK: true},
		{name: "valid minted with extra spaces", givenToken: func(*testing.T) string { return " BEARER   " + minted + " " }, expectOK: true},
		{name: "valid crafted", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, C) }, expectOK: true},

		// Signature.
		{name: "tampered signature", givenToken: func(*testing.T) string { return flipSig(minted) }, expectReason: "bad signature or algorithm"},
		{name: "tampered payload", givenToken: func(t *testing.T) string {
			good := craft(t, ed, edPriv, H, C)
			forged := craft(t, ed, edPriv, H, with(C, "sub", "admin"))
			p := strings.Split(good, ".")
			f := strings.Split(forged, ".")
			return p[0] + "." + f[1] + "." + p[2]
		}, expectReason: "bad signature or algorithm"},
		{name: "signature removed", givenToken: func(*testing.T) string { return minted[:strings.LastIndexByte(minted, '.')+1] }, expectReason: "malformed"},
		{name: "non-canonical base64 signature", givenToken: func(*testing.T) string {
			// 64 bytes → 86 chars with 4 unused low bits in the last char;
			// flipping one of them decodes to the same bytes unless strict.
			last := minted[len(minted)-1]
			idx := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last)
			alt := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[idx^1]
			return minted[:len(minted)-1] + string(alt)
		}, expectReason: "malformed"},
		{name: "same kid, different key (checklist 55)", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv2, H, C) }, expectReason: "bad signature or algorithm"},
		{name: "token of another Authority", givenToken: func(t *testing.T) string {
			tok, _, err := other.Mint("user-1", "session-1", "whisk", nil)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, expectReason: "unknown kid"},

		// kid.
		{name: "unknown kid", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, with(H, "kid", "k2"), C) }, expectReason: "unknown kid"},
		{name: "kid path traversal", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, with(H, "kid", "../../x"), C) }, expectReason: "unknown kid"},
		{name: "missing kid", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, with(H, "kid", nil), C) }, expectReason: "missing kid"},
		{name: "numeric kid", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, with(H, "kid", 1), C) }, expectReason: "missing kid"},

		// Algorithm.
		{name: "alg none without signature", givenToken: func(t *testing.T) string {
			return b64json(t, with(H, "alg", "none")) + "." + b64json(t, C) + "."
		}, expectReason: "malformed"},
		{name: "alg none with a signature", givenToken: func(t *testing.T) string {
			return b64json(t, with(H, "alg", "none")) + "." + b64json(t, C) + "." + b64([]byte("sig"))
		}, expectReason: "bad signature or algorithm"},
		{name: "alg nOnE", givenToken: func(t *testing.T) string {
			return b64json(t, with(H, "alg", "nOnE")) + "." + b64json(t, C) + "." + b64([]byte("sig"))
		}},
		{name: "alg missing", givenToken: func(t *testing.T) string {
			return b64json(t, with(H, "alg", nil)) + "." + b64json(t, C) + "." + b64([]byte("sig"))
		}},
		{name: "HS256 signed with the Ed25519 public key bytes", givenToken: func(t *testing.T) string {
			return craft(t, jwt.SigningMethodHS256, []byte(edPub), with(H, "alg", "HS256"), C)
		}, expectReason: "bad signature or algorithm"},
		{name: "HS256 signed with the Ed25519 public key PEM", givenToken: func(t *testing.T) string {
			return craft(t, jwt.SigningMethodHS256, pubPEM, with(H, "alg", "HS256"), C)
		}, expectReason: "bad signature or algorithm"},
		{name: "HS256 signed with the published JWK x", givenToken: func(t *testing.T) string {
			return craft(t, jwt.SigningMethodHS256, []byte(b64(edPub)), with(H, "alg", "HS256"), C)
		}, expectReason: "bad signature or algorithm"},
		{name: "ES256 token to an EdDSA authority", givenToken: func(t *testing.T) string {
			return craft(t, jwt.SigningMethodES256, ecPriv, with(H, "alg", "ES256"), C)
		}, expectReason: "bad signature or algorithm"},
		{name: "EdDSA signature labelled ES256", givenToken: func(t *testing.T) string {
			tok := craft(t, ed, edPriv, H, C)
			p := strings.Split(tok, ".")
			return b64json(t, with(H, "alg", "ES256")) + "." + p[1] + "." + p[2]
		}, expectReason: "bad signature or algorithm"},

		// typ and other headers.
		{name: "missing typ", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, with(H, "typ", nil), C) }, expectReason: "wrong typ header"},
		{name: "typ JWT (an ID token shape)", givenToken: func(t *testing.T) string {
			idTok := with(with(C, "nonce", "n"), "aud", testAud)
			return craft(t, ed, edPriv, with(H, "typ", "JWT"), idTok)
		}, expectReason: "wrong typ header"},
		{name: "upstream RS256 ID token with our kid", givenToken: func(t *testing.T) string {
			return craft(t, jwt.SigningMethodRS256, rsaKey(), with(with(H, "alg", "RS256"), "typ", "JWT"), with(C, "nonce", "n"))
		}, expectReason: "bad signature or algorithm"},
		{name: "typ application/jwt", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, with(H, "typ", "application/jwt"), C) }, expectReason: "wrong typ header"},
		{name: "crit header", givenToken: func(t *testing.T) string {
			return craft(t, ed, edPriv, with(with(H, "crit", []string{"exp"}), "exp", 1), C)
		}, expectReason: "unsupported crit header"},

		// Time.
		{name: "expired", givenToken: func(t *testing.T) string {
			return craft(t, ed, edPriv, H, with(with(with(C, "exp", exp.Unix()), "iat", exp.Add(-time.Minute).Unix()), "nbf", exp.Add(-time.Minute).Unix()))
		}, expectReason: "expired"},
		{name: "expired and badly signed (CVE-2024-51744)", givenToken: func(t *testing.T) string {
			return flipSig(craft(t, ed, edPriv, H, with(C, "exp", exp.Unix())))
		}, expectReason: "bad signature or algorithm"},
		{name: "expired and signed by another key", givenToken: func(t *testing.T) string {
			return craft(t, ed, edPriv2, H, with(C, "exp", exp.Unix()))
		}, expectReason: "bad signature or algorithm"},
		{name: "missing exp", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "exp", nil)) }, expectReason: "missing claim"},
		{name: "missing iat", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "iat", nil)) }, expectReason: "missing claim"},
		{name: "missing nbf", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "nbf", nil)) }, expectReason: "missing claim"},
		{name: "iat in the future", givenToken: func(t *testing.T) string {
			return craft(t, ed, edPriv, H, with(C, "iat", t0.Add(5*time.Minute).Unix()))
		}, expectReason: "issued in the future"},
		{name: "nbf in the future", givenToken: func(t *testing.T) string {
			return craft(t, ed, edPriv, H, with(C, "nbf", t0.Add(5*time.Minute).Unix()))
		}, expectReason: "not yet valid"},
		{name: "exp as a string", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "exp", "never")) }, expectReason: "malformed"},

		// Audience (checklist 57).
		{name: "aud missing", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "aud", nil)) }, expectReason: "missing claim"},
		{name: "aud []", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "aud", []string{})) }, expectReason: "missing claim"},
		{name: `aud [""]`, givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "aud", []string{""})) }, expectReason: "missing claim"},
		{name: `aud ["other"]`, givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "aud", []string{"other"})) }, expectReason: "wrong audience"},
		{name: `aud "other"`, givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "aud", "other")) }, expectReason: "wrong audience"},
		{name: `aud "US" (case matters)`, givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "aud", "US")) }, expectReason: "wrong audience"},
		{name: "aud as a number", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "aud", 42)) }, expectReason: "malformed"},
		{name: `aud ["other","us"]`, givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "aud", []string{"other", testAud})) }, expectOK: true},
		{name: `aud "us" as a string`, givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "aud", testAud)) }, expectOK: true},

		// Issuer and our own required claims.
		{name: "wrong iss", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "iss", "https://evil.example")) }, expectReason: "wrong issuer"},
		{name: "missing iss", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "iss", nil)) }, expectReason: "missing claim"},
		{name: "missing sub", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "sub", nil)) }, expectReason: "missing claim"},
		{name: "missing sid", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "sid", nil)) }, expectReason: "missing claim"},
		{name: "missing jti", givenToken: func(t *testing.T) string { return craft(t, ed, edPriv, H, with(C, "jti", nil)) }, expectReason: "missing claim"},

		// Framing.
		{name: "empty", givenToken: func(*testing.T) string { return "" }, expectReason: "malformed"},
		{name: "Bearer only", givenToken: func(*testing.T) string { return "Bearer " }, expectReason: "malformed"},
		{name: "Basic scheme", givenToken: func(*testing.T) string { return "Basic " + minted }, expectReason: "malformed"},
		{name: "two tokens", givenToken: func(*testing.T) string { return "Bearer " + minted + " " + minted }, expectReason: "malformed"},
		{name: "two segments", givenToken: func(*testing.T) string { return minted[:strings.LastIndexByte(minted, '.')] }, expectReason: "malformed"},
		{name: "four segments", givenToken: func(*testing.T) string { return minted + ".x" }, expectReason: "malformed"},
		{name: "padding", givenToken: func(*testing.T) string { return minted + "==" }, expectReason: "malformed"},
		{name: "standard base64 alphabet", givenToken: func(*testing.T) string { return "a+b.c/d.e" }, expectReason: "malformed"},
		{name: "JWE-like five segments", givenToken: func(*testing.T) string { return "a.b.c.d.e" }, expectReason: "malformed"},
		{name: "header not JSON", givenToken: func(*testing.T) string { return b64([]byte("nope")) + "." + b64([]byte("{}")) + ".c2ln" }, expectReason: "malformed"},
		{name: "just over the size cap", givenToken: func(*testing.T) string { return minted + strings.Repeat("A", MaxAuthorizationSize+1-len(minted)) }, expectReason: "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := tc.givenToken(t)
			c, err := a.Verify(tok)
			if tc.expectOK {
				if err != nil {
					t.Fatalf("Verify: %v (reason %q), want success", err, reasonOf(err))
				}
				if c.Subject != "user-1" || c.SessionID != "session-1" || c.Provider != "whisk" {
					t.Fatalf("claims = %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", c)
			}
			if c != nil {
				t.Errorf("claims returned with an error: %+v", c)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("error %v does not match ErrInvalidToken", err)
			}
			if tc.expectReason != "" && reasonOf(err) != tc.expectReason {
				t.Errorf("reason = %q, want %q", reasonOf(err), tc.expectReason)
			}
			assertRedacted(t, err, tok)
		})
	}
}

// assertRedacted checks that err says nothing but "invalid token" and none of
// the token.
func assertRedacted(t *testing.T, err error, tok string) {
	t.Helper()
	if err.Error() != "jwtauth: invalid token" {
		t.Errorf("error text %q says more than 'invalid token'", err.Error())
	}
	for _, seg := range strings.Split(strings.TrimPrefix(tok, "Bearer "), ".") {
		if len(seg) >= 8 && strings.Contains(err.Error(), seg) {
			t.Errorf("error text contains a token segment")
		}
	}
}

func TestVerifyEachAlgorithm(t *testing.T) {
	t.Parallel()
	algs := []Algorithm{EdDSA, ES256, HS256}
	others := map[Algorithm]any{EdDSA: edPriv2, ES256: ecPriv2, HS256: hsKey2}
	for _, alg := range algs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			a := newTestAuthority(t, alg, nil)
			tok, expiresIn, err := a.Mint("user-1", "session-1", "whisk", []string{"read", "write"})
			if err != nil {
				t.Fatal(err)
			}
			if expiresIn != 15*time.Minute {
				t.Errorf("expiresIn = %v, want 15m", expiresIn)
			}
			c, err := a.Verify("Bearer " + tok)
			if err != nil {
				t.Fatalf("Verify own token: %v (%s)", err, reasonOf(err))
			}
			if c.Scope != "read write" || c.Issuer != testIss || !c.ExpiresAt.Equal(t0.Add(15*time.Minute)) {
				t.Errorf("claims = %+v", c)
			}
			// Same kid, different key of the same algorithm.
			if _, err := a.Verify(craft(t, methodFor(alg), others[alg], header(alg), claims())); reasonOf(err) != "bad signature or algorithm" {
				t.Errorf("other key, same kid: err = %v (%s)", err, reasonOf(err))
			}
			if _, err := a.Verify(flipSig(tok)); err == nil {
				t.Error("tampered signature accepted")
			}
			// Every other algorithm is refused, even signed with a real key
			// of that algorithm under our kid.
			for _, o := range algs {
				if o == alg {
					continue
				}
				forged := craft(t, methodFor(o), privFor(o), header(o), claims())
				if _, err := a.Verify(forged); !errors.Is(err, ErrInvalidToken) {
					t.Errorf("%s token accepted by %s authority: %v", o, alg, err)
				}
			}
		})
	}
}

func TestVerifyAlgConfusionES256(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, ES256, nil)
	pkix, err := x509.MarshalPKIXPublicKey(&ecPriv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	for name, secret := range map[string][]byte{"PEM": pubPEM, "DER": pkix} {
		tok := craft(t, jwt.SigningMethodHS256, secret, header(HS256), claims())
		if _, err := a.Verify(tok); reasonOf(err) != "bad signature or algorithm" {
			t.Errorf("HS256 with ES256 public key %s: err = %v (%s)", name, err, reasonOf(err))
		}
	}
}

// TestVerifyTimeBoundaries is the boundary table of checklist 56: exp and
// nbf at ±leeway±1s, with a fake clock. golang-jwt accepts now < exp+leeway
// and now >= nbf-leeway.
func TestVerifyTimeBoundaries(t *testing.T) {
	t.Parallel()
	const leeway = 30 * time.Second
	exp := t0.Add(10 * time.Minute)
	nbf := t0.Add(10 * time.Minute)
	tests := []struct {
		name     string
		whenNow  time.Time
		givenExp time.Time // zero: far future
		givenNbf time.Time // zero: t0 - 1h
		expectOK bool
	}{
		{name: "exp-leeway-1s", whenNow: exp.Add(-leeway - time.Second), givenExp: exp, expectOK: true},
		{name: "exp-leeway", whenNow: exp.Add(-leeway), givenExp: exp, expectOK: true},
		{name: "exp-1s", whenNow: exp.Add(-time.Second), givenExp: exp, expectOK: true},
		{name: "exp", whenNow: exp, givenExp: exp, expectOK: true},
		{name: "exp+leeway-1s", whenNow: exp.Add(leeway - time.Second), givenExp: exp, expectOK: true},
		{name: "exp+leeway", whenNow: exp.Add(leeway), givenExp: exp, expectOK: false},
		{name: "exp+leeway+1s", whenNow: exp.Add(leeway + time.Second), givenExp: exp, expectOK: false},
		{name: "nbf-leeway-1s", whenNow: nbf.Add(-leeway - time.Second), givenNbf: nbf, expectOK: false},
		{name: "nbf-leeway", whenNow: nbf.Add(-leeway), givenNbf: nbf, expectOK: true},
		{name: "nbf-leeway+1s", whenNow: nbf.Add(-leeway + time.Second), givenNbf: nbf, expectOK: true},
		{name: "nbf", whenNow: nbf, givenNbf: nbf, expectOK: true},
		{name: "nbf+leeway+1s", whenNow: nbf.Add(leeway + time.Second), givenNbf: nbf, expectOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newTestAuthority(t, EdDSA, func(c *Config) {
				c.Leeway = leeway
				c.Now = fixedClock(tc.whenNow)
			})
			cl := with(claims(), "iat", t0.Add(-time.Hour).Unix())
			if tc.givenExp.IsZero() {
				cl["exp"] = t0.Add(time.Hour).Unix()
			} else {
				cl["exp"] = tc.givenExp.Unix()
			}
			if tc.givenNbf.IsZero() {
				cl["nbf"] = t0.Add(-time.Hour).Unix()
			} else {
				cl["nbf"] = tc.givenNbf.Unix()
			}
			_, err := a.Verify(craft(t, jwt.SigningMethodEdDSA, edPriv, header(EdDSA), cl))
			if tc.expectOK && err != nil {
				t.Fatalf("rejected: %s", reasonOf(err))
			}
			if !tc.expectOK && err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestVerifyNeverFetches: a token pointing at an attacker's key URL (jku,
// x5u) or embedding a key (jwk, x5c) is rejected and nothing is fetched
// (checklist 54).
func TestVerifyNeverFetches(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	a := newTestAuthority(t, EdDSA, nil)
	attackerPub := edPriv2.Public().(ed25519PublicKey)
	jwk := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(attackerPub), "kid": "attacker"}
	tests := []struct {
		name string
		kid  string
		add  map[string]any
	}{
		{name: "jku with attacker kid", kid: "attacker", add: map[string]any{"jku": srv.URL + "/jwks.json"}},
		{name: "jku with our kid", kid: "k1", add: map[string]any{"jku": srv.URL + "/jwks.json"}},
		{name: "x5u", kid: "k1", add: map[string]any{"x5u": srv.URL + "/cert.pem"}},
		{name: "embedded jwk", kid: "attacker", add: map[string]any{"jwk": jwk}},
		{name: "embedded jwk with our kid", kid: "k1", add: map[string]any{"jwk": jwk}},
		{name: "kid is a URL", kid: srv.URL + "/jwks.json", add: nil},
	}
	for _, tc := range tests {
		h := with(header(EdDSA), "kid", tc.kid)
		for k, v := range tc.add {
			h[k] = v
		}
		tok := craft(t, jwt.SigningMethodEdDSA, edPriv2, h, claims())
		if _, err := a.Verify(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: accepted (err = %v)", tc.name, err)
		}
	}
	// A legitimately signed token with a stray jku is judged on its own
	// signature only: accepted, still nothing fetched.
	tok := craft(t, jwt.SigningMethodEdDSA, edPriv, with(header(EdDSA), "jku", srv.URL), claims())
	if _, err := a.Verify(tok); err != nil {
		t.Errorf("our token with a jku header: %v (%s)", err, reasonOf(err))
	}
	// Checklist 54: a flood of unknown kids triggers no key fetch at all.
	for i := range 1000 {
		h := with(with(header(EdDSA), "kid", fmt.Sprintf("kid-%d", i)), "jku", srv.URL)
		if _, err := a.Verify(craft(t, jwt.SigningMethodEdDSA, edPriv, h, claims())); reasonOf(err) != "unknown kid" {
			t.Fatalf("unknown kid %d: err = %v (%s)", i, err, reasonOf(err))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d outbound requests, want 0", n)
	}
}

// TestVerifyOversized: 1 MiB of "." is refused before any parsing, fast and
// without allocating (checklist 60, CVE-2025-30204).
// Not parallel: testing.AllocsPerRun refuses to run in a parallel test.
func TestVerifyOversized(t *testing.T) {
	a := newTestAuthority(t, EdDSA, nil)
	dots := strings.Repeat(".", 1<<20)
	for name, in := range map[string]string{
		"bare":          dots,
		"bearer":        "Bearer " + dots,
		"at the cap":    strings.Repeat(".", MaxAuthorizationSize),
		"dots with b64": strings.Repeat("a.", MaxAuthorizationSize/2),
	} {
		best := time.Hour
		for range 5 {
			start := time.Now()
			_, err := a.Verify(in)
			if d := time.Since(start); d < best {
				best = d
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("%s: err = %v", name, err)
			}
		}
		if best > 5*time.Millisecond {
			t.Errorf("%s: rejection took %v, want < 5ms", name, best)
		}
		allocs := testing.AllocsPerRun(20, func() { a.Verify(in) })
		if allocs > 0 {
			t.Errorf("%s: %v allocations per rejection, want 0", name, allocs)
		}
	}
}

// TestKeyRotation: prepend a new key, keep the old one; tokens of both
// verify; once the old key is dropped its tokens are refused (checklist 61).
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	for _, alg := range []Algorithm{EdDSA, ES256, HS256} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			oldKey, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			newKey, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			mk := func(keys ...Key) *Authority {
				return newTestAuthority(t, alg, func(c *Config) { c.Keys = keys })
			}
			before, during, after := mk(oldKey), mk(newKey, oldKey), mk(newKey)
			oldTok, _, err := before.Mint("u", "s", "p", nil)
			if err != nil {
				t.Fatal(err)
			}
			newTok, _, err := during.Mint("u", "s", "p", nil)
			if err != nil {
				t.Fatal(err)
			}
			if kidOf(t, newTok) != newKey.ID || kidOf(t, oldTok) != oldKey.ID {
				t.Fatalf("kids: new %q old %q", kidOf(t, newTok), kidOf(t, oldTok))
			}
			for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
				if _, err := during.Verify(tok); err != nil {
					t.Errorf("during rotation, %s token: %s", name, reasonOf(err))
				}
			}
			if _, err := after.Verify(newTok); err != nil {
				t.Errorf("after rotation, new token: %s", reasonOf(err))
			}
			if _, err := after.Verify(oldTok); reasonOf(err) != "unknown kid" {
				t.Errorf("after rotation, old token: err = %v (%s)", err, reasonOf(err))
			}
		})
	}
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Kid string }
	if err := jsonUnmarshal(h, &v); err != nil {
		t.Fatal(err)
	}
	return v.Kid
}

func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, EdDSA, nil)
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for range 20 {
				var tok string
				if tok, _, err = a.Mint("u", "s", "p", []string{"x"}); err != nil {
					break
				}
				if _, err = a.Verify(tok); err != nil {
					break
				}
				if _, e := a.Verify(flipSig(tok)); e == nil {
					err = errors.New("tampered token accepted")
					break
				}
			}
			_ = i
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		given    string
		expect   string
		expectOK bool
	}{
		{"a.b.c", "a.b.c", true},
		{"Bearer a.b.c", "a.b.c", true},
		{"bEaReR   a.b.c", "a.b.c", true},
		{"\tBearer a.b.c\t", "a.b.c", true},
		{"Bearer", "Bearer", true},  // a bare "token" that compactJWS then refuses
		{"Bearer ", "Bearer", true}, // trimmed to a bare "Bearer", refused by compactJWS
		{" \t ", "", false},
		{"Token a.b.c", "", false},
		{"Bearer a.b.c d", "a.b.c d", true}, // compactJWS refuses the space
		{"", "", false},
	}
	for _, tc := range tests {
		got, ok := bearerToken(tc.given)
		if got != tc.expect || ok != tc.expectOK {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tc.given, got, ok, tc.expect, tc.expectOK)
		}
	}
	for s, want := range map[string]bool{
		"AA.AQ.eyJ0": true, "Ab-_9A.xw.yQ": true, "AA..AA": false, ".AA.AA": false, "AA.AA.": false,
		"AA.AA": false, "AA.AA.AA.AA": false, "AA.AA.AA=": false, "A A.AA.AA": false, "AA.AA.AA\n": false, "": false,
		"a.AA.AA": false, "AA.AAAAA.AA": false, // 4k+1 characters encode nothing
		"AB.AA.AA": false, "AA.AAB.AA": false, "AA.AA.AAAAAB": false, // unused bits set
	} {
		if compactJWS(s) != want {
			t.Errorf("compactJWS(%q) = %v, want %v", s, !want, want)
		}
	}
}

// TestCompactJWSIsStrictBase64 checks compactJWS's segment rule against
// the standard library's strict decoding, for every segment of up to three
// characters and for the lengths of real signatures: a segment passes
// exactly when base64.RawURLEncoding.Strict() decodes it.
func TestCompactJWSIsStrictBase64(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	strict := base64.RawURLEncoding.Strict()
	check := func(seg string) {
		_, err := strict.DecodeString(seg)
		want := err == nil && seg != ""
		if got := compactJWS("AA.AA." + seg); got != want {
			t.Fatalf("compactJWS of segment %q = %v, strict base64 says %v", seg, got, want)
		}
		if got := compactJWS(seg + ".AA.AA"); got != want {
			t.Fatalf("compactJWS of first segment %q = %v, strict base64 says %v", seg, got, want)
		}
	}
	buf := make([]byte, 0, 3)
	var walk func()
	walk = func() {
		check(string(buf))
		if len(buf) == cap(buf) {
			return
		}
		for i := range len(alphabet) {
			buf = append(buf, alphabet[i])
			walk()
			buf = buf[:len(buf)-1]
		}
	}
	walk()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{43, 86, 342} { // HS256, EdDSA and ES256, RS2048 signatures
		for range 2000 {
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			check(string(b))
		}
	}
}
