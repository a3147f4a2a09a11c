package jwtauth

import (
	"crypto"
	_ "crypto/sha1" // HMAC-SHA1 in TestRegisteredMethodIgnored
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
		// The validator's options at their edges (leeway 30 s).
		with(good, "exp", t0.Unix()),
		with(good, "exp", t0.Add(-DefaultLeeway-time.Second).Unix()),
		with(good, "exp", t0.Add(-DefaultLeeway+time.Second).Unix()),
		with(good, "exp", float64(t0.Add(-DefaultLeeway).Unix())-0.25),
		with(good, "nbf", t0.Add(DefaultLeeway+time.Second).Unix()),
		with(good, "nbf", t0.Add(DefaultLeeway-time.Second).Unix()),
		with(good, "iat", t0.Add(DefaultLeeway+time.Second).Unix()),
		with(good, "iat", t0.Add(DefaultLeeway-time.Second).Unix()),
		with(good, "exp", 1e19),
		with(good, "exp", -1e19),
		with(good, "iat", -1e19),
	}
	raw := []string{
		`null`, `[]`, `"x"`, `1`, `{}`, ` {"exp":1} `, `{"exp":"1"}`, `{"exp":null,"iss":null}`,
		`{"exp":1e999}`, `{"aud":{}}`, `{"aud":[1]}`, `{"sub":"a","sub":"b"}`, `{"SUB":"a"}`,
		"{\"sub\":\"\xff\"}", `{"exp":1}x`, `{"exp":1`, `{"iss":"` + testIss + `","aud":"us","exp":` + strings.Repeat("9", 400) + `}`,
		`{"sub":"\ud800"}`, "\ufeff{}", `{"aud":["us",null]}`, `{"exp":1e19}`, `{"exp":-1e19}`,
		"\t\r\n{\"exp\":1}\t\r\n", `{"exp":null}`, `{"iat":null}`, strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
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
// of its own kid (the retiring key's tokens too), for every algorithm and
// for kids that JSON escapes.
func TestMintedKey(t *testing.T) {
	oddKid := `o<&>"\ld`
	twoKeys := map[Algorithm][2]any{
		EdDSA: {edPriv, edPriv2},
		ES256: {ecPriv, ecPriv2},
		HS256: {hsKey, hsKey2},
	}
	for alg, keys := range twoKeys {
		a := newTestAuthority(t, alg, func(c *Config) {
			c.Keys = []Key{{ID: "new", Private: keys[0]}, {ID: oddKid, Private: keys[1]}}
		})
		if len(a.keys) != 2 || a.keys[0].header == "" || a.keys[1].header == "" {
			t.Fatalf("%s: %+v, want two keys with their minted headers", alg, a.keys)
		}
		newH, oldH := a.keys[0].header, a.keys[1].header
		for _, tc := range []struct {
			tok  string
			want any
		}{
			{newH + ".e30.c2ln", a.keys[0].key},
			{oldH + ".e30.c2ln", a.keys[1].key},
			{newH + "A.e30.c2ln", nil},
			{newH[:len(newH)-1] + ".e30.c2ln", nil},
			{newH, nil},
			{b64json(t, header(alg)) + ".e30.c2ln", nil}, // kid k1: not configured here
		} {
			if got := a.mintedKey(tc.tok); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: mintedKey(%q) = %v, want %v", alg, tc.tok, got, tc.want)
			}
		}
		// A token of the retiring key (minted while it was the current
		// one) verifies with that key only, on both paths.
		old := newTestAuthority(t, alg, func(c *Config) { c.Keys = []Key{{ID: oddKid, Private: keys[1]}} })
		tok, _, err := old.Mint("user-1", "session-1", "whisk", nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.mintedKey(tok) == nil {
			t.Fatalf("%s: the retiring key's token does not take the minted path", alg)
		}
		agree(t, a, tok)
		if _, err := a.Verify(tok); err != nil {
			t.Fatalf("%s: token of the retiring key: %v", alg, err)
		}
		forged := newTestAuthority(t, alg, func(c *Config) { c.Keys = []Key{{ID: oddKid, Private: keys[0]}} })
		tok, _, err = forged.Mint("user-1", "session-1", "whisk", nil)
		if err != nil {
			t.Fatal(err)
		}
		agree(t, a, tok)
		if _, err := a.Verify(tok); err != errSignature {
			t.Fatalf("%s: kid %q signed with the other key: %v, want %v", alg, oddKid, err, errSignature)
		}
	}
}

// TestRegisteredMethodIgnored: a signing method registered under our
// algorithm's name by other code in the process (golang-jwt's registry
// is global) is never used: a minted token is still checked with
// HMAC-SHA256 (a SHA-1 HMAC of it is refused), and a token whose header
// goes through golang-jwt's parser is refused, since the parser hands
// over the registered method.
func TestRegisteredMethodIgnored(t *testing.T) {
	a := newTestAuthority(t, HS256, nil)
	tok, _, err := a.Mint("user-1", "session-1", "whisk", nil)
	if err != nil {
		t.Fatal(err)
	}
	sha1HS256 := &jwt.SigningMethodHMAC{Name: "HS256", Hash: crypto.SHA1}
	jwt.RegisterSigningMethod("HS256", func() jwt.SigningMethod { return sha1HS256 })
	t.Cleanup(func() { jwt.RegisterSigningMethod("HS256", func() jwt.SigningMethod { return jwt.SigningMethodHS256 }) })

	if _, err := a.Verify(tok); err != nil {
		t.Fatalf("minted token: %v", err)
	}
	h := strings.IndexByte(tok, '.')
	s := strings.LastIndexByte(tok, '.')
	sig, err := sha1HS256.Sign(tok[:s], hsKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tok[:s] + "." + b64(sig)); err != errSignature {
		t.Fatalf("minted header, HMAC-SHA1 signature: %v, want %v", err, errSignature)
	}
	// The same claims under a header Mint does not write (members in
	// another order) go through the parser, which returns sha1HS256.
	hdr := b64([]byte(`{"typ":"at+jwt","kid":"k1","alg":"HS256"}`))
	signing := hdr + tok[h:s]
	sig, err = sha1HS256.Sign(signing, hsKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(signing + "." + b64(sig)); err != errAlgorithm {
		t.Fatalf("parsed header, registered SHA-1 method: %v, want %v", err, errAlgorithm)
	}
}

// parserOnly is an Authority like a whose Verify always takes golang-jwt's
// full parse (verifyParsed), for comparison.
func parserOnly(t testing.TB, alg Algorithm, mod func(*Config)) (*Authority, *Authority) {
	a := newTestAuthority(t, alg, mod)
	ref := newTestAuthority(t, alg, mod)
	for i := range ref.keys {
		ref.keys[i].header = "" // no minted path
	}
	return a, ref
}

// FuzzVerifyAgainstParser sends whole token strings (headers, kids and
// signatures included) to Verify on Authorities with two keys, for every
// algorithm, and to the same Authorities without the minted path: the
// answers (reason, claims) must be the same.
func FuzzVerifyAgainstParser(f *testing.F) {
	type pair struct{ a, ref *Authority }
	var pairs []pair
	keys := map[Algorithm][2]any{EdDSA: {edPriv, edPriv2}, ES256: {ecPriv, ecPriv2}, HS256: {hsKey, hsKey2}}
	for _, alg := range []Algorithm{EdDSA, ES256, HS256} {
		k := keys[alg]
		mod := func(c *Config) { c.Keys = []Key{{ID: "k1", Private: k[0]}, {ID: `o<&>"\ld`, Private: k[1]}} }
		a, ref := parserOnly(f, alg, mod)
		pairs = append(pairs, pair{a, ref})
		for _, kid := range []string{"k1", `o<&>"\ld`} {
			m := newTestAuthority(f, alg, func(c *Config) {
				c.Keys = []Key{{ID: kid, Private: k[0]}}
			})
			tok, _, err := m.Mint("user-1", "session-1", "whisk", []string{"read"})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(tok)
			f.Add(tok[:len(tok)-2])
			f.Add(flipSig(tok))
		}
		for _, cl := range []map[string]any{claims(), with(claims(), "exp", t0.Add(-time.Hour).Unix()), with(claims(), "aud", "them")} {
			f.Add(craft(f, methodFor(alg), k[0], header(alg), cl))
			f.Add(craft(f, methodFor(alg), k[1], header(alg), cl))
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, p := range pairs {
			c, err := p.a.Verify(in)
			rc, rerr := p.ref.Verify(in)
			if err != rerr || !reflect.DeepEqual(c, rc) {
				t.Fatalf("%s: Verify %v (%s) %+v, parser only %v (%s) %+v, token %q",
					p.a.Algorithm(), err, reasonOf(err), c, rerr, reasonOf(rerr), rc, in)
			}
		}
	})
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
