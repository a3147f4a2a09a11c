package jwtauth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func decodeSeg(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMintShape(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, EdDSA, func(c *Config) { c.Lifetime = 10 * time.Minute })
	tok, expiresIn, err := a.Mint("user-1", "session-1", "whisk", []string{"read", "write"})
	if err != nil {
		t.Fatal(err)
	}
	if expiresIn != 10*time.Minute {
		t.Errorf("expiresIn = %v", expiresIn)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments", len(parts))
	}
	h := decodeSeg(t, parts[0])
	if len(h) != 3 || h["alg"] != "EdDSA" || h["kid"] != "k1" || h["typ"] != "at+jwt" {
		t.Errorf("header = %v, want exactly alg, kid, typ", h)
	}
	c := decodeSeg(t, parts[1])
	want := map[string]any{
		"iss": testIss, "sub": "user-1", "sid": "session-1", "provider": "whisk", "scope": "read write",
		"iat": float64(t0.Unix()), "nbf": float64(t0.Unix()), "exp": float64(t0.Add(10 * time.Minute).Unix()),
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	// aud is always a one-element array.
	if aud, ok := c["aud"].([]any); !ok || len(aud) != 1 || aud[0] != testAud {
		t.Errorf("aud = %#v, want [%q]", c["aud"], testAud)
	}
	jti, _ := c["jti"].(string)
	if raw, err := base64.RawURLEncoding.DecodeString(jti); err != nil || len(raw) != 16 {
		t.Errorf("jti %q is not 128 random bits", jti)
	}
	if len(c) != 10 {
		t.Errorf("claims have %d members, want 10: %v", len(c), c)
	}
}

func TestMintJTIUnique(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, HS256, nil)
	seen := map[string]bool{}
	for range 200 {
		tok, _, err := a.Mint("u", "s", "p", nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Verify(tok)
		if err != nil {
			t.Fatal(reasonOf(err))
		}
		if seen[c.ID] {
			t.Fatalf("jti %q repeated", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestMintRefusesBadInput(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, EdDSA, nil)
	long := strings.Repeat("x", maxClaimSize+1)
	tests := []struct {
		name               string
		sub, sid, provider string
		scopes             []string
	}{
		{name: "empty subject", sid: "s"},
		{name: "empty session id", sub: "u"},
		{name: "subject too long", sub: long, sid: "s"},
		{name: "session id too long", sub: "u", sid: long},
		{name: "provider too long", sub: "u", sid: "s", provider: long},
		{name: "empty scope", sub: "u", sid: "s", scopes: []string{""}},
		{name: "scope with a space", sub: "u", sid: "s", scopes: []string{"read write"}},
		{name: "scope with a quote", sub: "u", sid: "s", scopes: []string{`a"b`}},
		{name: "scope with a backslash", sub: "u", sid: "s", scopes: []string{`a\b`}},
		{name: "scope with a control char", sub: "u", sid: "s", scopes: []string{"a\nb"}},
		{name: "scope with non-ASCII", sub: "u", sid: "s", scopes: []string{"lecture-é"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, _, err := a.Mint(tc.sub, tc.sid, tc.provider, tc.scopes)
			if err == nil {
				t.Fatalf("Mint accepted it: %s", tok)
			}
			if tok != "" {
				t.Errorf("token returned with an error")
			}
		})
	}
}

func TestMintOmitsEmptyScope(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, EdDSA, nil)
	tok, _, err := a.Mint("u", "s", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := decodeSeg(t, strings.Split(tok, ".")[1])
	if _, ok := c["scope"]; ok {
		t.Errorf("scope present: %v", c)
	}
	if c["provider"] != "" {
		t.Errorf("provider = %v", c["provider"])
	}
	// The largest allowed claims still give a token Verify accepts.
	big := strings.Repeat("x", maxClaimSize)
	tok, _, err = a.Mint(big, big, big, []string{big, big})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify("Bearer " + tok); err != nil {
		t.Errorf("largest token rejected: %s", reasonOf(err))
	}
}
