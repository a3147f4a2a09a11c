package jwtauth

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// golangJWTClaims is Claims as golang-jwt decodes it on its own (without
// Claims.UnmarshalJSON): the reference of the tests below.
type golangJWTClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Provider  string `json:"provider"`
	Scope     string `json:"scope,omitempty"`
}

func (g golangJWTClaims) claims() Claims {
	return Claims{RegisteredClaims: g.RegisteredClaims, SessionID: g.SessionID, Provider: g.Provider, Scope: g.Scope}
}

// decodeBoth decodes in as golang-jwt's parser does (encoding/json into
// the claims interface) with Claims and with the reference.
func decodeBoth(in []byte) (ours Claims, oursErr error, ref Claims, refErr error) {
	var c jwt.Claims = &ours
	oursErr = json.Unmarshal(in, &c)
	var g golangJWTClaims
	var gc jwt.Claims = &g
	refErr = json.Unmarshal(in, &gc)
	return ours, oursErr, g.claims(), refErr
}

// TestClaimsDecodeLikeGolangJWT: claims sets golang-jwt reads are read the
// same, member for member, times to the nanosecond.
func TestClaimsDecodeLikeGolangJWT(t *testing.T) {
	for _, in := range []string{
		`{"iss":"https://gatehouse.example","sub":"user-1","aud":["us"],"exp":1750000900,"nbf":1750000000,"iat":1750000000,"jti":"j","sid":"s","provider":"whisk","scope":"read write"}`,
		`{"aud":"us","exp":1750000900.75,"nbf":-1.5,"iat":0}`,
		`{"aud":["a","b","c"],"exp":1.7500009e9,"iat":null,"nbf":null,"sub":null}`,
		`{"aud":[],"exp":1750000900,"extra":{"x":[1,2,{"y":null}]},"sid":"s\u00e9\ud83d\ude00\n"}`,
		`{"aud":null}`,
		`{}`,
	} {
		t.Run(in, func(t *testing.T) {
			ours, oerr, ref, rerr := decodeBoth([]byte(in))
			if oerr != nil || rerr != nil {
				t.Fatalf("ours: %v, golang-jwt: %v", oerr, rerr)
			}
			if !reflect.DeepEqual(ours, ref) {
				t.Fatalf("ours %+v\ngolang-jwt %+v", ours, ref)
			}
		})
	}
}

// TestClaimsDecodeStricter: what Claims refuses, with whether golang-jwt's
// own decoding accepts it. A member named twice, a time in a string,
// invalid UTF-8 and an audience of anything but strings are refused; a
// member name in another case is not a claim (iss is not ISS).
func TestClaimsDecodeStricter(t *testing.T) {
	for _, tc := range []struct {
		in          string
		golangJWTOK bool
	}{
		{`{"sid":"a","sid":"b"}`, true},
		{`{"exp":1,"exp":2}`, true},
		{`{"exp":"1750000900"}`, true},
		{`{"iat":"x"}`, false},
		{"{\"sub\":\"\xff\"}", true},
		{`{"aud":["us",null]}`, false},
		{`{"aud":["us",1]}`, false},
		{`{"aud":[["us"]]}`, false},
		{`{"aud":{"us":true}}`, false},
		{`{"aud":1}`, false},
		{`{"exp":1e999}`, false},
		{`{"sid":1}`, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, oerr, _, rerr := decodeBoth([]byte(tc.in))
			if oerr == nil {
				t.Fatal("accepted")
			}
			if (rerr == nil) != tc.golangJWTOK {
				t.Fatalf("golang-jwt's own decoding: %v (the table says accepted=%v)", rerr, tc.golangJWTOK)
			}
		})
	}
	ours, oerr, ref, rerr := decodeBoth([]byte(`{"ISS":"https://gatehouse.example","Sid":"s"}`))
	if oerr != nil || rerr != nil {
		t.Fatal(oerr, rerr)
	}
	if ours.Issuer != "" || ours.SessionID != "" || ref.Issuer == "" || ref.SessionID == "" {
		t.Fatalf("names in another case: ours %+v, golang-jwt %+v", ours, ref)
	}
}

// craftRaw signs a token whose claims segment is exactly cl.
func craftRaw(t testing.TB, alg Algorithm, cl []byte) string {
	t.Helper()
	signing := b64json(t, header(alg)) + "." + b64(cl)
	sig, err := methodFor(alg).Sign(signing, privFor(alg))
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64(sig)
}

// TestVerifyStricterClaims: correctly signed tokens whose claims set is
// ambiguous or mistyped are refused by Verify.
func TestVerifyStricterClaims(t *testing.T) {
	a := newTestAuthority(t, HS256, nil)
	good, err := json.Marshal(claims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(craftRaw(t, HS256, good)); err != nil {
		t.Fatalf("the untouched claims set: %v", err)
	}
	exp := t0.Add(15 * time.Minute).Unix()
	body := strings.TrimSuffix(string(good), "}")
	for name, cl := range map[string]string{
		"sid twice":     body + `,"sid":"session-2"}`,
		"exp in string": strings.Replace(string(good), fmt.Sprintf(`"exp":%d`, exp), fmt.Sprintf(`"exp":"%d"`, exp), 1),
		"EXP for exp":   strings.Replace(string(good), `"exp":`, `"EXP":`, 1),
		"bad UTF-8":     strings.Replace(string(good), `"user-1"`, "\"user-1\xff\"", 1),
	} {
		if cl == string(good) {
			t.Fatalf("%s: the claims set did not change", name)
		}
		_, err := a.Verify(craftRaw(t, HS256, []byte(cl)))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if name == "EXP for exp" {
			if r := reasonOf(err); r == "malformed" {
				t.Errorf("%s: reason %q, want a missing exp", name, r)
			}
		} else if r := reasonOf(err); r != "malformed" {
			t.Errorf("%s: reason %q, want malformed", name, r)
		}
	}
}

// FuzzClaimsDecode compares Claims' decoding with golang-jwt's own on any
// input: whatever Claims accepts, golang-jwt accepts too, with the same
// result. Inputs with a member name that differs from a claim's only in
// case are left out: golang-jwt, through encoding/json, takes it for the
// claim, Claims does not.
func FuzzClaimsDecode(f *testing.F) {
	good, _ := json.Marshal(claims())
	f.Add(good)
	for _, s := range []string{`{"aud":"us","exp":1.5}`, `{"aud":["a",null]}`, `{"sid":"a","sid":"b"}`, `{"Exp":1,"exp":2}`, `{"exp":"1"}`, `[]`, `null`, `{"aud":[]}`} {
		f.Add([]byte(s))
	}
	known := []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "provider", "scope"}
	f.Fuzz(func(t *testing.T, in []byte) {
		var members map[string]json.RawMessage
		if json.Unmarshal(in, &members) == nil {
			for k := range members {
				for _, name := range known {
					if k != name && strings.EqualFold(k, name) {
						return // a claim for golang-jwt, not for Claims
					}
				}
			}
		}
		ours, oerr, ref, rerr := decodeBoth(in)
		if oerr != nil {
			return
		}
		if rerr != nil {
			t.Fatalf("Claims accepted what golang-jwt refuses (%v): %q", rerr, in)
		}
		if !reflect.DeepEqual(ours, ref) {
			t.Fatalf("%q:\nours %+v\ngolang-jwt %+v", in, ours, ref)
		}
	})
}
