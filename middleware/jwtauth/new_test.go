package jwtauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	badEd := append(ed25519.PrivateKey(nil), edPriv...)
	badEd[40] ^= 1 // public half no longer matches the seed
	badEC := &ecdsa.PrivateKey{PublicKey: ecPriv2.PublicKey, D: ecPriv.D}
	tests := []struct {
		name       string
		whenConfig func(*Config)
		expectErr  string // substring of the error
	}{
		{name: "HMAC 16 bytes", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = HS256, []Key{{ID: "k", Private: []byte("0123456789abcdef")}}
		}, expectErr: "at least 32"},
		{name: "HMAC 31 bytes", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = HS256, []Key{{ID: "k", Private: hsKey[:31]}}
		}, expectErr: "at least 32"},
		{name: "HMAC one repeated byte", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = HS256, []Key{{ID: "k", Private: []byte(strings.Repeat("a", 64))}}
		}, expectErr: "repeated"},
		{name: "HMAC as a string", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = HS256, []Key{{ID: "k", Private: string(hsKey)}}
		}, expectErr: "[]byte"},
		{name: "P-384 key for ES256", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: mustEC(elliptic.P384())}}
		}, expectErr: "P-256"},
		{name: "P-521 key for ES256", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: mustEC(elliptic.P521())}}
		}, expectErr: "P-256"},
		{name: "ES256 key with a mismatched public half", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: badEC}}
		}, expectErr: "does not match"},
		{name: "ES256 key without a scalar", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: &ecdsa.PrivateKey{PublicKey: ecPriv.PublicKey}}}
		}, expectErr: "incomplete"},
		{name: "ES256 key with a zero scalar", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: &ecdsa.PrivateKey{PublicKey: ecPriv.PublicKey, D: big.NewInt(0)}}}
		}, expectErr: "invalid P-256 private key"},
		{name: "ES256 key with an unreduced scalar", whenConfig: func(c *Config) {
			d := new(big.Int).Add(ecPriv.D, elliptic.P256().Params().N)
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: &ecdsa.PrivateKey{PublicKey: ecPriv.PublicKey, D: d}}}
		}, expectErr: "invalid P-256 private key"},
		{name: "ES256 key with a point off the curve", whenConfig: func(c *Config) {
			k := &ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(2)}, D: ecPriv.D}
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: k}}
		}, expectErr: "invalid P-256"},
		{name: "zero ecdsa key", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: &ecdsa.PrivateKey{}}}
		}, expectErr: "P-256"},
		{name: "nil ecdsa key", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: (*ecdsa.PrivateKey)(nil)}}
		}, expectErr: "*ecdsa.PrivateKey"},
		{name: "Ed25519 key for ES256", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = ES256, []Key{{ID: "k", Private: edPriv}}
		}, expectErr: "*ecdsa.PrivateKey"},
		{name: "ECDSA key for EdDSA", whenConfig: func(c *Config) {
			c.Keys = []Key{{ID: "k", Private: ecPriv}}
		}, expectErr: "ed25519.PrivateKey"},
		{name: "RSA key for EdDSA", whenConfig: func(c *Config) {
			c.Keys = []Key{{ID: "k", Private: rsaKey()}}
		}, expectErr: "ed25519.PrivateKey"},
		{name: "Ed25519 public key instead of private", whenConfig: func(c *Config) {
			c.Keys = []Key{{ID: "k", Private: edPriv.Public()}}
		}, expectErr: "ed25519.PrivateKey"},
		{name: "Ed25519 key for HS256", whenConfig: func(c *Config) {
			c.Algorithm, c.Keys = HS256, []Key{{ID: "k", Private: edPriv}}
		}, expectErr: "[]byte"},
		{name: "truncated Ed25519 key", whenConfig: func(c *Config) {
			c.Keys = []Key{{ID: "k", Private: edPriv[:32]}}
		}, expectErr: "64"},
		{name: "Ed25519 key with a mismatched public half", whenConfig: func(c *Config) {
			c.Keys = []Key{{ID: "k", Private: badEd}}
		}, expectErr: "does not match"},
		{name: "a weak key among good ones", whenConfig: func(c *Config) {
			c.Algorithm = HS256
			c.Keys = []Key{{ID: "new", Private: hsKey}, {ID: "old", Private: []byte("short")}}
		}, expectErr: "Keys[1]"},
		{name: "no keys", whenConfig: func(c *Config) { c.Keys = nil }, expectErr: "Keys is empty"},
		{name: "missing kid", whenConfig: func(c *Config) { c.Keys = []Key{{Private: edPriv}} }, expectErr: "kid"},
		{name: "kid with a space", whenConfig: func(c *Config) { c.Keys = []Key{{ID: "a b", Private: edPriv}} }, expectErr: "kid"},
		{name: "kid too long", whenConfig: func(c *Config) { c.Keys = []Key{{ID: strings.Repeat("k", MaxKeyIDSize+1), Private: edPriv}} }, expectErr: "kid"},
		{name: "duplicate kid", whenConfig: func(c *Config) {
			c.Keys = []Key{{ID: "k", Private: edPriv}, {ID: "k", Private: edPriv2}}
		}, expectErr: "duplicate"},
		{name: "unknown algorithm", whenConfig: func(c *Config) { c.Algorithm = "RS256" }, expectErr: "unsupported"},
		{name: "alg none", whenConfig: func(c *Config) { c.Algorithm = "none" }, expectErr: "unsupported"},
		{name: "missing issuer", whenConfig: func(c *Config) { c.Issuer = "" }, expectErr: "Issuer"},
		{name: "missing audience", whenConfig: func(c *Config) { c.Audience = "" }, expectErr: "Audience"},
		{name: "lifetime over 15m", whenConfig: func(c *Config) { c.Lifetime = 15*time.Minute + time.Second }, expectErr: "Lifetime"},
		{name: "lifetime under 1s", whenConfig: func(c *Config) { c.Lifetime = time.Millisecond }, expectErr: "Lifetime"},
		{name: "negative lifetime", whenConfig: func(c *Config) { c.Lifetime = -time.Minute }, expectErr: "Lifetime"},
		{name: "leeway over 60s", whenConfig: func(c *Config) { c.Leeway = 61 * time.Second }, expectErr: "Leeway"},
		{name: "negative leeway", whenConfig: func(c *Config) { c.Leeway = -time.Second }, expectErr: "Leeway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Issuer: testIss, Audience: testAud, Keys: []Key{{ID: "k1", Private: edPriv}}}
			tc.whenConfig(&cfg)
			a, err := New(cfg)
			if err == nil {
				t.Fatalf("New accepted the config: %+v", a)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not match ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tc.expectErr) {
				t.Errorf("error %q does not mention %q", err, tc.expectErr)
			}
			// Key material never appears in the error.
			if hs, ok := keyBytes(cfg); ok && len(hs) >= 8 && strings.Contains(err.Error(), string(hs)) {
				t.Errorf("error text contains key material")
			}
		})
	}
}

func keyBytes(cfg Config) ([]byte, bool) {
	for _, k := range cfg.Keys {
		if b, ok := k.Private.([]byte); ok {
			return b, true
		}
	}
	return nil, false
}

func TestNewDefaultsAndLimits(t *testing.T) {
	t.Parallel()
	a, err := New(Config{Issuer: testIss, Audience: testAud, Keys: []Key{{ID: "k1", Private: edPriv}}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Algorithm() != EdDSA || a.Lifetime() != 15*time.Minute {
		t.Errorf("defaults: alg %s lifetime %v", a.Algorithm(), a.Lifetime())
	}
	// Real clock by default: a fresh token verifies.
	tok, _, err := a.Mint("u", "s", "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tok); err != nil {
		t.Errorf("Verify with the default clock: %s", reasonOf(err))
	}
	// The limits themselves are accepted.
	if _, err := New(Config{Issuer: testIss, Audience: testAud, Keys: []Key{{ID: "k1", Private: edPriv}},
		Lifetime: MaxLifetime, Leeway: MaxLeeway}); err != nil {
		t.Errorf("Lifetime=15m, Leeway=60s: %v", err)
	}
	// Lifetime is kept in whole seconds.
	b, err := New(Config{Issuer: testIss, Audience: testAud, Keys: []Key{{ID: "k1", Private: edPriv}},
		Lifetime: 90*time.Second + 500*time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if b.Lifetime() != 90*time.Second {
		t.Errorf("Lifetime = %v, want 1m30s", b.Lifetime())
	}
}

// TestNewCopiesKeys: changing the caller's key slice after New changes
// nothing.
func TestNewCopiesKeys(t *testing.T) {
	t.Parallel()
	secret := append([]byte(nil), hsKey...)
	keys := []Key{{ID: "k1", Private: secret}}
	a := newTestAuthority(t, HS256, func(c *Config) { c.Keys = keys })
	tok, _, err := a.Mint("u", "s", "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range secret {
		secret[i] = 'x'
	}
	keys[0].ID = "changed"
	if _, err := a.Verify(tok); err != nil {
		t.Errorf("Verify after mutating the caller's key: %s", reasonOf(err))
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	for _, alg := range []Algorithm{"", EdDSA, ES256, HS256} {
		k1, err := GenerateKey(alg)
		if err != nil {
			t.Fatalf("%q: %v", alg, err)
		}
		k2, err := GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		if len(k1.ID) != 22 || k1.ID == k2.ID {
			t.Errorf("%q: kids %q, %q: want distinct 128-bit ids", alg, k1.ID, k2.ID)
		}
		want := alg
		if want == "" {
			want = EdDSA
		}
		if _, err := New(Config{Issuer: testIss, Audience: testAud, Algorithm: want, Keys: []Key{k1, k2}}); err != nil {
			t.Errorf("%q: New with generated keys: %v", alg, err)
		}
		if s := k1.String(); !strings.Contains(s, k1.ID) {
			t.Errorf("String() = %q lacks the kid", s)
		}
	}
	if _, err := GenerateKey("RS256"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("GenerateKey(RS256) err = %v", err)
	}
	// String never prints key material.
	k := Key{ID: "k", Private: hsKey}
	if strings.Contains(k.String(), string(hsKey[:8])) {
		t.Errorf("Key.String() = %q leaks material", k.String())
	}
}

// TestKeyRedacted: logging or printing a Key never shows its material.
func TestKeyRedacted(t *testing.T) {
	t.Parallel()
	for _, k := range []Key{{ID: "ed", Private: edPriv}, {ID: "hs", Private: hsKey}, {ID: "ec", Private: ecPriv}} {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("key", "key", k)
		for name, out := range map[string]string{"slog": buf.String(), "String": k.String(), "%v": fmt.Sprintf("%v", k), "%#v": fmt.Sprintf("%#v", k),
			"%+v config": fmt.Sprintf("%+v", Config{Keys: []Key{k}})} {
			if !strings.Contains(out, k.ID) {
				t.Errorf("%s: %s output %q lacks the kid", k.ID, name, out)
			}
			for _, secret := range []string{b64(edPriv.Seed()), b64(hsKey), string(hsKey[:16]), ecPriv.D.String(), b64(ecPriv.D.Bytes())} {
				if strings.Contains(out, secret) {
					t.Errorf("%s: %s output leaks key material", k.ID, name)
				}
			}
		}
	}
}
