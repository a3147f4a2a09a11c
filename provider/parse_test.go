package provider_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

var received = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestParseTokenAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		ctype  string
		opt    provider.ParseOptions
		expiry time.Time
		scopes []string
		rt     string
		ttype  string
	}{
		{name: "minimal", body: `{"access_token":"a","token_type":"Bearer"}`, ttype: "Bearer"},
		{name: "type case-insensitive", body: `{"access_token":"a","token_type":"bearer"}`, ttype: "Bearer"},
		{name: "full", body: `{"access_token":"a","token_type":"Bearer","expires_in":3600,"refresh_token":"r","scope":"x y"}`,
			expiry: received.Add(time.Hour), scopes: []string{"x", "y"}, rt: "r", ttype: "Bearer"},
		{name: "expires_in string", body: `{"access_token":"a","token_type":"Bearer","expires_in":"60"}`, expiry: received.Add(time.Minute), ttype: "Bearer"},
		{name: "expires_in fraction", body: `{"access_token":"a","token_type":"Bearer","expires_in":1.5}`, expiry: received.Add(1500 * time.Millisecond), ttype: "Bearer"},
		{name: "expires_in huge is clamped", body: `{"access_token":"a","token_type":"Bearer","expires_in":1e300}`,
			expiry: received.Add(math.MaxInt32 * time.Second), ttype: "Bearer"},
		{name: "expires_in clamped by option", body: `{"access_token":"a","token_type":"Bearer","expires_in":999999}`,
			opt: provider.ParseOptions{MaxExpiresIn: time.Hour}, expiry: received.Add(time.Hour), ttype: "Bearer"},
		{name: "huge MaxExpiresIn does not overflow", body: `{"access_token":"a","token_type":"Bearer","expires_in":1e300}`,
			opt: provider.ParseOptions{MaxExpiresIn: time.Duration(math.MaxInt64)}, expiry: received.Add(time.Duration(math.MaxInt64)), ttype: "Bearer"},
		{name: "expires_in null", body: `{"access_token":"a","token_type":"Bearer","expires_in":null}`, ttype: "Bearer"},
		{name: "scope array", body: `{"access_token":"a","token_type":"Bearer","scope":["a","b c"]}`, scopes: []string{"a", "b", "c"}, ttype: "Bearer"},
		{name: "scope comma", body: `{"access_token":"a","token_type":"Bearer","scope":"a,b, c"}`, scopes: []string{"a", "b", "c"}, ttype: "Bearer"},
		{name: "scope empty string", body: `{"access_token":"a","token_type":"Bearer","scope":""}`, scopes: []string{}, ttype: "Bearer"},
		{name: "unknown fields ignored", body: `{"access_token":"a","token_type":"Bearer","id_token":"x","new_user":false}`, ttype: "Bearer"},
		{name: "refresh_token null", body: `{"access_token":"a","token_type":"Bearer","refresh_token":null}`, ttype: "Bearer"},
		{name: "form encoded", body: `access_token=a&token_type=bearer&expires_in=10&scope=x%2Cy`, ctype: "application/x-www-form-urlencoded; charset=utf-8",
			expiry: received.Add(10 * time.Second), scopes: []string{"x", "y"}, ttype: "Bearer"},
		{name: "text/plain as form (GitHub legacy)", body: `access_token=a&token_type=bearer`, ctype: "text/plain", ttype: "Bearer"},
		{name: "envelope", body: `{"data":{"access_token":"a","token_type":"Bearer"}}`, opt: provider.ParseOptions{Envelope: "data"}, ttype: "Bearer"},
		{name: "custom token type", body: `{"access_token":"a","token_type":"token"}`, opt: provider.ParseOptions{TokenTypes: []string{"Token"}}, ttype: "Token"},
		{name: "JSON with charset", body: `{"access_token":"a","token_type":"Bearer"}`, ctype: "application/json; charset=utf-8", ttype: "Bearer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, err := provider.ParseToken([]byte(tc.body), tc.ctype, received, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "a" || tok.TokenType != tc.ttype || tok.RefreshToken != tc.rt || !tok.Expiry.Equal(tc.expiry) {
				t.Errorf("got %#v (expiry %v)", tok, tok.Expiry)
			}
			if tc.scopes != nil && strings.Join(tok.Scopes, "|") != strings.Join(tc.scopes, "|") {
				t.Errorf("scopes %q, want %q", tok.Scopes, tc.scopes)
			}
		})
	}
}

func TestParseTokenRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, ctype string
		opt               provider.ParseOptions
	}{
		{name: "empty body", body: ``},
		{name: "not JSON", body: `<html>oops</html>`},
		{name: "truncated JSON", body: `{"access_token":"a","token_type":`},
		{name: "trailing garbage", body: `{"access_token":"a","token_type":"Bearer"}xyz`},
		{name: "two objects", body: `{"access_token":"a","token_type":"Bearer"}{}`},
		{name: "array", body: `[{"access_token":"a"}]`},
		{name: "string", body: `"a"`},
		{name: "null", body: `null`},
		{name: "number", body: `42`},
		{name: "missing access_token", body: `{"token_type":"Bearer"}`},
		{name: "empty access_token", body: `{"access_token":"","token_type":"Bearer"}`},
		{name: "access_token number", body: `{"access_token":123,"token_type":"Bearer"}`},
		{name: "access_token object", body: `{"access_token":{"v":"a"},"token_type":"Bearer"}`},
		{name: "access_token with CRLF", body: `{"access_token":"a\r\nX-Evil: 1","token_type":"Bearer"}`},
		{name: "access_token with space", body: `{"access_token":"a b","token_type":"Bearer"}`},
		{name: "token_type mac", body: `{"access_token":"a","token_type":"mac"}`},
		{name: "missing token_type", body: `{"access_token":"a"}`},
		{name: "token_type number", body: `{"access_token":"a","token_type":1}`},
		{name: "expires_in abc", body: `{"access_token":"a","token_type":"Bearer","expires_in":"abc"}`},
		{name: "expires_in -1", body: `{"access_token":"a","token_type":"Bearer","expires_in":-1}`},
		{name: "expires_in 0", body: `{"access_token":"a","token_type":"Bearer","expires_in":0}`},
		{name: "expires_in NaN string", body: `{"access_token":"a","token_type":"Bearer","expires_in":"NaN"}`},
		{name: "expires_in Inf string", body: `{"access_token":"a","token_type":"Bearer","expires_in":"+Inf"}`},
		{name: "expires_in bool", body: `{"access_token":"a","token_type":"Bearer","expires_in":true}`},
		{name: "expires_in object", body: `{"access_token":"a","token_type":"Bearer","expires_in":{}}`},
		{name: "refresh_token number", body: `{"access_token":"a","token_type":"Bearer","refresh_token":7}`},
		{name: "scope number", body: `{"access_token":"a","token_type":"Bearer","scope":7}`},
		{name: "scope array of numbers", body: `{"access_token":"a","token_type":"Bearer","scope":[1,2]}`},
		{name: "error reply with 200", body: `{"error":"invalid_grant"}`},
		{name: "envelope missing", body: `{"access_token":"a","token_type":"Bearer"}`, opt: provider.ParseOptions{Envelope: "data"}},
		{name: "envelope not an object", body: `{"data":"x"}`, opt: provider.ParseOptions{Envelope: "data"}},
		{name: "envelope null", body: `{"data":null}`, opt: provider.ParseOptions{Envelope: "data"}},
		{name: "form without access_token", body: `token_type=bearer`, ctype: "application/x-www-form-urlencoded"},
		{name: "malformed form", body: `access_token=%zz`, ctype: "application/x-www-form-urlencoded"},
		{name: "form expires_in abc", body: `access_token=a&token_type=bearer&expires_in=abc`, ctype: "application/x-www-form-urlencoded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, err := provider.ParseToken([]byte(tc.body), tc.ctype, received, tc.opt)
			if tok != nil {
				t.Errorf("got a token %v", tok)
			}
			if !errors.Is(err, provider.ErrBadResponse) {
				t.Fatalf("got %v, want ErrBadResponse", err)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("%T is not *provider.Error", err)
			}
			if strings.Contains(err.Error(), "X-Evil") {
				t.Errorf("error echoes reply content: %v", err)
			}
		})
	}
}

func TestExpiresInAndScopeHelpers(t *testing.T) {
	t.Parallel()
	if f, err := provider.ExpiresIn(float64(5)); err != nil || f != 5 {
		t.Errorf("float64: %v %v", f, err)
	}
	if f, err := provider.ExpiresIn(" 7 "); err != nil || f != 7 {
		t.Errorf("padded string: %v %v", f, err)
	}
	if _, err := provider.ExpiresIn(nil); err == nil {
		t.Error("nil accepted")
	}
	if got := provider.SplitScopes(" a,,b\tc\nd "); strings.Join(got, "|") != "a|b|c|d" {
		t.Errorf("SplitScopes = %q", got)
	}
	if _, err := provider.ScopeList(map[string]any{}); err == nil {
		t.Error("ScopeList accepted an object")
	}
}

func TestDecodeJSONObject(t *testing.T) {
	t.Parallel()
	obj, err := provider.DecodeJSONObject([]byte(`{"data":{"n":12345678901234567890}}`), "data")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := obj["n"].(interface{ String() string }); !ok || n.String() != "12345678901234567890" {
		t.Errorf("numbers must stay exact json.Number: %#v", obj["n"])
	}
}
