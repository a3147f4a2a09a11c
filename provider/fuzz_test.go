package provider_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// FuzzParseToken: any reply parses into a usable token or an
// ErrBadResponse, never a panic, and never a token without an access token.
func FuzzParseToken(f *testing.F) {
	for _, seed := range []struct{ body, ctype, env string }{
		{`{"access_token":"a","token_type":"Bearer","expires_in":3600,"refresh_token":"r","scope":"x y"}`, "application/json", ""},
		{`{"access_token":"a","token_type":"bearer","expires_in":"60","scope":["a","b"]}`, "", ""},
		{`{"data":{"access_token":"a","token_type":"Bearer"}}`, "application/json", "data"},
		{`access_token=a&token_type=bearer&expires_in=10`, "application/x-www-form-urlencoded", ""},
		{`{"access_token":"a","token_type":"mac"}`, "", ""},
		{`{"access_token":"a","token_type":"Bearer","expires_in":1e400}`, "", ""},
		{`{"access_token":"a","token_type":"Bearer","expires_in":-0.0}`, "", ""},
		{`{"access_token":"a\u0000","token_type":"Bearer"}`, "", ""},
		{`[]`, "", ""},
		{`{"a":`, "", ""},
		{`{}{}`, "", ""},
		{`%zz`, "text/plain", ""},
	} {
		f.Add([]byte(seed.body), seed.ctype, seed.env)
	}
	received := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, body []byte, ctype, envelope string) {
		tok, err := provider.ParseToken(body, ctype, received, provider.ParseOptions{Envelope: envelope})
		if err != nil {
			if tok != nil || !errors.Is(err, provider.ErrBadResponse) {
				t.Fatalf("error %v with token %v", err, tok)
			}
			return
		}
		if tok.AccessToken == "" || tok.TokenType != "Bearer" {
			t.Fatalf("accepted a token without access token or with type %q", tok.TokenType)
		}
		if !tok.Expiry.IsZero() && !tok.Expiry.After(received) {
			t.Fatalf("expiry %v not after receipt", tok.Expiry)
		}
	})
}

// FuzzUnmarshalBinary: the storage decoder never panics, and whatever it
// accepts re-encodes to something that decodes to the same token.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, tok := range []*provider.Token{
		{},
		{AccessToken: "a", TokenType: "Bearer", RefreshToken: "r", Expiry: time.Unix(1_700_000_000, 5), Scopes: []string{"x", "y"}},
		{AccessToken: "a", Extra: map[string]any{"k": "v", "n": 1.0}},
	} {
		b, err := tok.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		var tok provider.Token
		if err := tok.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, provider.ErrBadEncoding) {
				t.Fatalf("error %v does not match ErrBadEncoding", err)
			}
			return
		}
		again, err := tok.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var tok2 provider.Token
		if err := tok2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if tok2.AccessToken != tok.AccessToken || tok2.RefreshToken != tok.RefreshToken || tok2.TokenType != tok.TokenType ||
			!tok2.Expiry.Equal(tok.Expiry) || len(tok2.Scopes) != len(tok.Scopes) || len(tok2.Extra) != len(tok.Extra) {
			t.Fatal("decode/encode/decode changed the token")
		}
	})
}
