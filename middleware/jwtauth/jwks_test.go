package jwtauth

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

type jwkDoc struct {
	Keys []map[string]any `json:"keys"`
}

func fetchJWKS(t *testing.T, a *Authority, method string) (*http.Response, []byte) {
	t.Helper()
	srv := httptest.NewServer(a.JWKS())
	defer srv.Close()
	req, err := http.NewRequest(method, srv.URL+"/auth/.well-known/jwks.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// pubFromJWK rebuilds the verification key from a published JWK, the way a
// third-party verifier would.
func pubFromJWK(t *testing.T, k map[string]any) any {
	t.Helper()
	dec := func(name string) []byte {
		s, _ := k[name].(string)
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			t.Fatalf("JWK member %s = %v", name, k[name])
		}
		return b
	}
	switch k["kty"] {
	case "OKP":
		return ed25519.PublicKey(dec("x"))
	case "EC":
		x, y := dec("x"), dec("y")
		if len(x) != 32 || len(y) != 32 {
			t.Fatalf("P-256 coordinates of %d and %d bytes", len(x), len(y))
		}
		raw := append(append([]byte{4}, x...), y...)
		if _, err := ecdh.P256().NewPublicKey(raw); err != nil {
			t.Fatalf("published point is not on P-256: %v", err)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			t.Fatal(err)
		}
		return pub
	}
	t.Fatalf("unexpected kty %v", k["kty"])
	return nil
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		alg        Algorithm
		keys       []Key
		expectKeys int
		expect     map[string]any
		secrets    []string // must never appear in the body
	}{
		{
			alg:        EdDSA,
			keys:       []Key{{ID: "new", Private: edPriv}, {ID: "old", Private: edPriv2}},
			expectKeys: 2,
			expect:     map[string]any{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig"},
			secrets:    []string{b64(edPriv.Seed()), b64(edPriv), b64(edPriv2.Seed())},
		},
		{
			alg:        ES256,
			keys:       []Key{{ID: "new", Private: ecPriv}, {ID: "old", Private: ecPriv2}},
			expectKeys: 2,
			expect:     map[string]any{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig"},
			secrets:    []string{b64(ecPriv.D.FillBytes(make([]byte, 32))), b64(ecPriv2.D.FillBytes(make([]byte, 32)))},
		},
		{
			alg:        HS256,
			keys:       []Key{{ID: "new", Private: hsKey}},
			expectKeys: 0,
			secrets:    []string{b64(hsKey), string(hsKey[:16])},
		},
	}
	for _, tc := range tests {
		t.Run(string(tc.alg), func(t *testing.T) {
			t.Parallel()
			a := newTestAuthority(t, tc.alg, func(c *Config) { c.Keys = tc.keys })
			resp, body := fetchJWKS(t, a, http.MethodGet)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
				t.Errorf("Cache-Control = %q", cc)
			}
			for _, s := range tc.secrets {
				if strings.Contains(string(body), s) {
					t.Fatalf("JWKS body contains private key material")
				}
			}
			var doc jwkDoc
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if doc.Keys == nil || len(doc.Keys) != tc.expectKeys {
				t.Fatalf("body %s: want %d keys (and a non-null array)", body, tc.expectKeys)
			}
			if tc.expectKeys == 0 {
				if string(body) != `{"keys":[]}` {
					t.Errorf("body = %s", body)
				}
				return
			}
			tok, _, err := a.Mint("u", "s", "p", nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range doc.Keys {
				if k["kid"] != tc.keys[i].ID {
					t.Errorf("key %d kid = %v, want %q (signing key first)", i, k["kid"], tc.keys[i].ID)
				}
				for name, v := range tc.expect {
					if k[name] != v {
						t.Errorf("key %d %s = %v, want %v", i, name, k[name], v)
					}
				}
				for name := range k {
					switch name {
					case "kty", "crv", "x", "y", "kid", "alg", "use":
					default:
						t.Errorf("key %d has member %q", i, name)
					}
				}
			}
			// A third party that knows only the JWKS verifies our token.
			pub := pubFromJWK(t, doc.Keys[0])
			parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil },
				jwt.WithValidMethods([]string{string(tc.alg)}), jwt.WithTimeFunc(fixedClock(t0)))
			if err != nil || !parsed.Valid {
				t.Errorf("token does not verify with the published key: %v", err)
			}
			// The retiring key's JWK is its real public key too.
			old := newTestAuthority(t, tc.alg, func(c *Config) { c.Keys = tc.keys[1:] })
			oldTok, _, err := old.Mint("u", "s", "p", nil)
			if err != nil {
				t.Fatal(err)
			}
			pubOld := pubFromJWK(t, doc.Keys[1])
			if _, err := jwt.Parse(oldTok, func(*jwt.Token) (any, error) { return pubOld, nil }, jwt.WithTimeFunc(fixedClock(t0))); err != nil {
				t.Errorf("old token does not verify with the published old key: %v", err)
			}
		})
	}
}

func TestJWKSMethods(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, EdDSA, nil)
	resp, body := fetchJWKS(t, a, http.MethodHead)
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD: status %d, %d body bytes", resp.StatusCode, len(body))
	}
	if resp.ContentLength <= 0 {
		t.Errorf("HEAD: Content-Length %d", resp.ContentLength)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		resp, _ := fetchJWKS(t, a, m)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: status %d Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}
