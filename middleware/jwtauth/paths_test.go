package jwtauth

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// signedPayload is a token with a's first minted header over payload (raw
// bytes, any content), signed with a's key, or with its signature altered
// when badSig.
func signedPayload(t testing.TB, a *Authority, payload []byte, badSig bool) string {
	t.Helper()
	signing := a.headerPart + b64(payload)
	sig, err := a.method.Sign(signing, a.signKey)
	if err != nil {
		t.Fatal(err)
	}
	if badSig {
		sig[len(sig)/2] ^= 0x01
	}
	return signing + "." + b64(sig)
}

// agree checks that verifyMinted and verifyParsed (golang-jwt's
// ParseWithClaims) give tok the same answer: both reject it for the same
// reason, or both accept it with equal claims.
func agree(t testing.TB, a *Authority, tok string) {
	t.Helper()
	key := a.mintedKey(tok)
	if key == nil {
		t.Fatalf("not a minted header: %q", tok)
	}
	fc, ferr := a.verifyMinted(tok, key)
	pc, perr := a.verifyParsed(tok)
	if ferr != perr {
		t.Fatalf("%s: verifyMinted says %v (%s), verifyParsed says %v (%s), token %q",
			a.Algorithm(), ferr, reasonOf(ferr), perr, reasonOf(perr), tok)
	}
	if !reflect.DeepEqual(fc, pc) {
		t.Fatalf("%s: claims differ:\nminted %+v\nparsed %+v", a.Algorithm(), fc, pc)
	}
}

// TestVerifyPathsAgree holds Verify's path for tokens with a header Mint
// writes (verifyMinted, which does not decode the header) to golang-jwt's
// ParseWithClaims, on claim sets that pass and fail each check, with good
// and bad signatures, for every algorithm.
func TestVerifyPathsAgree(t *testing.T) {
	exp := t0.Add(15 * time.Minute).Unix()
	good := claims()
	sets := []map[string]any{
		good,
		with(good, "exp", t0.Add(-time.Hour).Unix()),
		with(good, "exp", nil),
		with(good, "exp", float64(exp)+0.5),
		with(good, "nbf", t0.Add(time.Hour).Unix()),
		with(good, "iat", t0.Add(time.Hour).Unix()),
		with(good, "iat", nil),
		with(good, "iss", "https://evil.example"),
		with(good, "iss", nil),
		with(good, "aud", "us"),
		with(good, "aud", []string{"them"}),
		with(good, "aud", []string{"them", "us"}),
		with(good, "aud", nil),
		with(good, "sub", nil),
		with(good, "scope", nil),
		with(with(good, "extra", map[string]any{"x": []int{1, 2}}), "provider", "wazo"),
	}
	raw := []string{
		`null`, `[]`, `"x"`, `1`, `{}`, ` {"exp":1} `, `{"exp":"1"}`, `{"exp":null,"iss":null}`,
		`{"exp":1e999}`, `{"aud":{}}`, `{"aud":[1]}`, `{"sub":"a","sub":"b"}`, `{"SUB":"a"}`,
		"{\"sub\":\"\xff\"}", `{"exp":1}x`, `{"exp":1`, `{"iss":"` + testIss + `","aud":"us","exp":` + strings.Repeat("9", 400) + `}`,
	}
	for _, alg := range []Algorithm{EdDSA, ES256, HS256} {
		a := newTestAuthority(t, alg, nil)
		for _, badSig := range []bool{false, true} {
			for _, cl := range sets {
				payload, err := json.Marshal(cl)
				if err != nil {
					t.Fatal(err)
				}
				agree(t, a, signedPayload(t, a, payload, badSig))
			}
			for _, r := range raw {
				agree(t, a, signedPayload(t, a, []byte(r), badSig))
			}
		}
		// The minted token itself, and one accepted by both.
		tok, _, err := a.Mint("user-1", "session-1", "whisk", []string{"read"})
		if err != nil {
			t.Fatal(err)
		}
		agree(t, a, tok)
		if c, err := a.verifyMinted(tok, a.mintedKey(tok)); err != nil || c.Subject != "user-1" {
			t.Fatalf("%s: minted token: %v, %v", alg, c, err)
		}
	}
}

// TestMintedKey: only a header segment byte for byte equal to one Mint
// writes, followed by the dot, takes the minted path, and it gets the key
// of its own kid (the retiring key's tokens too).
func TestMintedKey(t *testing.T) {
	a := newTestAuthority(t, HS256, func(c *Config) {
		c.Keys = []Key{{ID: "new", Private: hsKey}, {ID: "old", Private: hsKey2}}
	})
	if len(a.minted) != 2 {
		t.Fatalf("%d minted headers, want 2", len(a.minted))
	}
	newH, oldH := a.minted[0].segment, a.minted[1].segment
	for _, tc := range []struct {
		tok  string
		want []byte
	}{
		{newH + ".e30.c2ln", hsKey},
		{oldH + ".e30.c2ln", hsKey2},
		{newH + "A.e30.c2ln", nil},
		{newH[:len(newH)-1] + ".e30.c2ln", nil},
		{newH, nil},
		{b64json(t, header(HS256)) + ".e30.c2ln", nil}, // kid k1: not configured here
	} {
		got, _ := a.mintedKey(tc.tok).([]byte)
		if string(got) != string(tc.want) {
			t.Errorf("mintedKey(%q) = %q, want %q", tc.tok, got, tc.want)
		}
	}
	// The retiring key's header verifies with the retiring key only.
	old := newTestAuthority(t, HS256, func(c *Config) { c.Keys = []Key{{ID: "old", Private: hsKey2}} })
	tok, _, err := old.Mint("user-1", "session-1", "whisk", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tok); err != nil {
		t.Fatalf("token of the retiring key: %v", err)
	}
	forged := newTestAuthority(t, HS256, func(c *Config) { c.Keys = []Key{{ID: "old", Private: hsKey}} })
	tok, _, err = forged.Mint("user-1", "session-1", "whisk", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tok); err != errSignature {
		t.Fatalf("kid old signed with the new key: %v, want %v", err, errSignature)
	}
}

// FuzzVerifyPathsAgree feeds arbitrary claim-set bytes, signed correctly
// or not, to both verification paths (see TestVerifyPathsAgree).
func FuzzVerifyPathsAgree(f *testing.F) {
	as := []*Authority{newTestAuthority(f, HS256, nil), newTestAuthority(f, EdDSA, nil)}
	good, err := json.Marshal(claims())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, false)
	f.Add(good, true)
	f.Add([]byte(`{"exp":1e999,"aud":{}}`), false)
	f.Add([]byte(`null`), false)
	f.Fuzz(func(t *testing.T, payload []byte, badSig bool) {
		for _, a := range as {
			agree(t, a, signedPayload(t, a, payload, badSig))
		}
	})
}
