package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIss = "https://gatehouse.example"
	testAud = "us"
)

// t0 is the fake clock's "now" in every test.
var t0 = time.Unix(1_750_000_000, 0)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// fixed keys, generated once per test binary.
var (
	edPriv  = mustEd()
	edPriv2 = mustEd()
	ecPriv  = mustEC(elliptic.P256())
	ecPriv2 = mustEC(elliptic.P256())
	hsKey   = []byte("0123456789abcdef0123456789abcdef-gatehouse")
	hsKey2  = []byte("fedcba9876543210fedcba9876543210-gatehouse")
)

func mustEd() ed25519.PrivateKey {
	_, p, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return p
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	p, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return p
}

func privFor(alg Algorithm) any {
	switch alg {
	case ES256:
		return ecPriv
	case HS256:
		return hsKey
	}
	return edPriv
}

func methodFor(alg Algorithm) jwt.SigningMethod {
	switch alg {
	case ES256:
		return jwt.SigningMethodES256
	case HS256:
		return jwt.SigningMethodHS256
	}
	return jwt.SigningMethodEdDSA
}

// newTestAuthority builds an Authority for alg with kid "k1", the fixed
// clock t0, and cfg edits applied by mod.
func newTestAuthority(t testing.TB, alg Algorithm, mod func(*Config)) *Authority {
	t.Helper()
	cfg := Config{
		Issuer:    testIss,
		Audience:  testAud,
		Algorithm: alg,
		Keys:      []Key{{ID: "k1", Private: privFor(alg)}},
		Now:       fixedClock(t0),
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// header returns a good header for alg with kid k1.
func header(alg Algorithm) map[string]any {
	return map[string]any{"alg": string(alg), "typ": TokenType, "kid": "k1"}
}

// claims returns a good claim set at t0 (iat = nbf = t0, exp = t0+15m).
func claims() map[string]any {
	return map[string]any{
		"iss":      testIss,
		"aud":      []string{testAud},
		"sub":      "user-1",
		"sid":      "session-1",
		"provider": "whisk",
		"scope":    "read write",
		"iat":      t0.Unix(),
		"nbf":      t0.Unix(),
		"exp":      t0.Add(15 * time.Minute).Unix(),
		"jti":      "jti-1",
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64json(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// craft signs header.claims with method and key by hand, independently of
// Mint, so that any header or claim can be forged.
func craft(t testing.TB, method jwt.SigningMethod, key any, hdr, cl map[string]any) string {
	t.Helper()
	signing := b64json(t, hdr) + "." + b64json(t, cl)
	sig, err := method.Sign(signing, key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return signing + "." + b64(sig)
}

// with returns a copy of m with k set to v, or deleted when v is nil.
func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for kk, vv := range m {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// reasonOf returns the InvalidTokenError reason of err, or "" when err is
// not one.
func reasonOf(err error) string {
	if ite, ok := err.(InvalidTokenError); ok {
		return ite.Reason
	}
	return ""
}

type ed25519PublicKey = ed25519.PublicKey

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// rsaKey is an upstream's RS256 key (ID tokens), generated once.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})
