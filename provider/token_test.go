package provider_test

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

const (
	plantedAccess  = "AT-planted-9f8e7d6c5b4a"
	plantedRefresh = "RT-planted-1a2b3c4d5e6f"
)

func plantedToken() *provider.Token {
	return &provider.Token{
		AccessToken:  plantedAccess,
		TokenType:    "Bearer",
		RefreshToken: plantedRefresh,
		Expiry:       time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		Scopes:       []string{"read", "write"},
		Extra:        map[string]any{"tenant": "t1"},
	}
}

func TestTokenRedaction(t *testing.T) {
	t.Parallel()
	tok := plantedToken()
	type holder struct {
		Tok  provider.Token
		Ptr  *provider.Token
		Name string
	}
	slogOut := func(handler func(*bytes.Buffer) slog.Handler, v any) string {
		var buf bytes.Buffer
		slog.New(handler(&buf)).Info("msg", "token", v)
		return buf.String()
	}
	text := func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }
	jsonH := func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }
	marshal := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name string
		got  string
	}{
		{"String", tok.String()},
		{"GoString", tok.GoString()},
		{"%v", fmt.Sprintf("%v", tok)},
		{"%+v", fmt.Sprintf("%+v", tok)},
		{"%#v", fmt.Sprintf("%#v", tok)},
		{"%s", fmt.Sprintf("%s", tok)},
		{"%q", fmt.Sprintf("%q", tok)},
		{"%x", fmt.Sprintf("%x", tok)},
		{"%v of a value", fmt.Sprintf("%v", *tok)},
		{"%+v of a value", fmt.Sprintf("%+v", *tok)},
		{"%#v of a value", fmt.Sprintf("%#v", *tok)},
		{"%+v of a struct holding one", fmt.Sprintf("%+v", holder{Tok: *tok, Ptr: tok})},
		{"%#v of a struct holding one", fmt.Sprintf("%#v", holder{Tok: *tok, Ptr: tok})},
		{"Println", fmt.Sprintln(tok, *tok)},
		{"error wrapping", fmt.Errorf("refresh %v: %w", tok, errors.New("x")).Error()},
		{"slog text", slogOut(text, tok)},
		{"slog json", slogOut(jsonH, tok)},
		{"slog text value", slogOut(text, *tok)},
		{"slog json struct", slogOut(jsonH, holder{Tok: *tok, Ptr: tok})},
		{"json pointer", marshal(tok)},
		{"json value", marshal(*tok)},
		{"json struct", marshal(holder{Tok: *tok, Ptr: tok})},
		{"json slice", marshal([]*provider.Token{tok})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.got, plantedAccess) || strings.Contains(tc.got, plantedRefresh) {
				t.Fatalf("secret leaked: %s", tc.got)
			}
			if tc.name != "%x" && !strings.Contains(tc.got, "REDACTED") && !strings.Contains(tc.got, "has_access_token") {
				t.Errorf("no redaction marker in %s", tc.got)
			}
		})
	}
	// Non-secret fields stay visible where useful.
	if s := tok.String(); !strings.Contains(s, "Bearer") || !strings.Contains(s, "2030-01-02T03:04:05Z") || !strings.Contains(s, "read write") {
		t.Errorf("String lost non-secret fields: %s", s)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(marshal(tok)), &m); err != nil || m["access_token"] != "[REDACTED]" || m["token_type"] != "Bearer" {
		t.Errorf("json form: %v %v", m, err)
	}
}

func TestTokenNilAndEmpty(t *testing.T) {
	t.Parallel()
	var nilTok *provider.Token
	if s := fmt.Sprintf("%v|%+v|%s", nilTok, nilTok, nilTok); strings.Count(s, "<nil>") != 3 {
		t.Errorf("nil token prints %q", s)
	}
	if b, err := json.Marshal(nilTok); err != nil || string(b) != "null" {
		t.Errorf("json nil: %s %v", b, err)
	}
	if _, err := nilTok.MarshalBinary(); !errors.Is(err, provider.ErrBadEncoding) {
		t.Errorf("MarshalBinary(nil) = %v", err)
	}
	empty := provider.Token{}
	if s := empty.String(); strings.Contains(s, "REDACTED") || !strings.Contains(s, "Expiry:none") {
		t.Errorf("empty token: %s", s)
	}
	if nilTok.Valid() || nilTok.HasScope("x") || nilTok.ExpiresWithin(time.Hour) || nilTok.Clone() != nil {
		t.Error("nil token methods")
	}
}

func TestTokenValidity(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		tok            *provider.Token
		valid          bool
		expiresIn1Min  bool
		expiresIn2Mins bool
	}{
		{"no expiry", &provider.Token{AccessToken: "a"}, true, false, false},
		{"no access token", &provider.Token{Expiry: now.Add(time.Hour)}, false, false, false},
		{"expired", &provider.Token{AccessToken: "a", Expiry: now.Add(-time.Second)}, false, true, true},
		{"expires exactly now", &provider.Token{AccessToken: "a", Expiry: now}, false, true, true},
		{"90 s left", &provider.Token{AccessToken: "a", Expiry: now.Add(90 * time.Second)}, true, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.tok.ValidAt(now); got != tc.valid {
				t.Errorf("ValidAt = %v", got)
			}
			if got := tc.tok.ExpiresWithinAt(now, time.Minute); got != tc.expiresIn1Min {
				t.Errorf("ExpiresWithinAt(1m) = %v", got)
			}
			if got := tc.tok.ExpiresWithinAt(now, 2*time.Minute); got != tc.expiresIn2Mins {
				t.Errorf("ExpiresWithinAt(2m) = %v", got)
			}
		})
	}
	live := &provider.Token{AccessToken: "a", Expiry: time.Now().Add(time.Hour)}
	if !live.Valid() || live.ExpiresWithin(time.Minute) || !live.ExpiresWithin(2*time.Hour) {
		t.Error("Valid/ExpiresWithin on the wall clock")
	}
}

func TestTokenCloneAndScopes(t *testing.T) {
	t.Parallel()
	tok := plantedToken()
	c := tok.Clone()
	c.Scopes[0] = "changed"
	c.Extra["tenant"] = "changed"
	if tok.Scopes[0] != "read" || tok.Extra["tenant"] != "t1" {
		t.Error("Clone shares Scopes or Extra")
	}
	if !tok.HasScope("write") || tok.HasScope("admin") {
		t.Error("HasScope")
	}
	if (&provider.Token{}).Clone().Scopes != nil {
		t.Error("Clone invented scopes")
	}
	if (&provider.Token{Scopes: []string{}}).Clone().Scopes != nil {
		t.Error("Clone of no scopes is not nil")
	}
}

// TestTokenCloneScopeCounts: for every number of scopes (a few are copied
// together with the token), the clone holds the same scopes, changing or
// appending to them leaves the original alone, and the clone of a clone
// is as independent.
func TestTokenCloneScopeCounts(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 7; n++ {
		orig := &provider.Token{AccessToken: "at", Scopes: make([]string, n)}
		for i := range orig.Scopes {
			orig.Scopes[i] = fmt.Sprint("s", i)
		}
		want := slices.Clone(orig.Scopes)
		c := orig.Clone()
		if !slices.Equal(c.Scopes, want) || c.AccessToken != "at" {
			t.Fatalf("%d scopes: clone %+v", n, c)
		}
		cc := c.Clone()
		c.Scopes[0] = "changed"
		grown := append(c.Scopes, "extra")
		grown[n-1] = "changed too"
		if !slices.Equal(orig.Scopes, want) || !slices.Equal(cc.Scopes, want) {
			t.Fatalf("%d scopes: original %v, clone of clone %v after changing the clone", n, orig.Scopes, cc.Scopes)
		}
	}
}

// Not parallel: testing.AllocsPerRun refuses to run in a parallel test.
func TestTokenCloneOneAllocation(t *testing.T) {
	tok := &provider.Token{AccessToken: "at", RefreshToken: "rt", Scopes: []string{"openid", "profile", "email"}}
	if n := testing.AllocsPerRun(50, func() { _ = tok.Clone() }); n != 1 {
		t.Fatalf("Clone of a token with 3 scopes: %v allocations, want 1 (token and scopes together)", n)
	}
}

func TestTokenBinaryRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []*provider.Token{
		plantedToken(),
		{},
		{AccessToken: "a"},
		{AccessToken: strings.Repeat("x", 5000), RefreshToken: "ünïcødé", Scopes: []string{"", "a b"}},
		{AccessToken: "a", Expiry: time.Unix(0, 1)},
		{AccessToken: "a", Expiry: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
		{AccessToken: "a", Extra: map[string]any{"n": 1.5, "nested": map[string]any{"k": []any{"v"}}}},
	}
	for i, tok := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			b, err := tok.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got provider.Token
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			assertSameToken(t, tok, &got)
		})
	}
	// gob uses the binary encoding (an scs session stores tokens so).
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(plantedToken()); err != nil {
		t.Fatal(err)
	}
	var viaGob provider.Token
	if err := gob.NewDecoder(&buf).Decode(&viaGob); err != nil {
		t.Fatal(err)
	}
	assertSameToken(t, plantedToken(), &viaGob)
}

func assertSameToken(t *testing.T, want, got *provider.Token) {
	t.Helper()
	if got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken || got.TokenType != want.TokenType ||
		!got.Expiry.Equal(want.Expiry) || fmt.Sprint(got.Scopes) != fmt.Sprint(want.Scopes) || fmt.Sprint(got.Extra) != fmt.Sprint(want.Extra) {
		t.Fatalf("round trip changed the token: got %#v, want %#v (secrets differ: %v)", got, want,
			got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken)
	}
}

func TestTokenUnmarshalBinaryRejects(t *testing.T) {
	t.Parallel()
	good, _ := plantedToken().MarshalBinary()
	tests := map[string][]byte{
		"empty":             nil,
		"unknown version":   append([]byte{9}, good[1:]...),
		"trailing byte":     append(append([]byte(nil), good...), 0),
		"huge length":       {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"overlong varint":   append([]byte{1}, bytes.Repeat([]byte{0x80}, 11)...),
		"huge scope count":  {1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f},
		"bad extra JSON":    {1, 0, 0, 0, 0, 0, 3, '{', 'x', '}'},
		"extra not object":  {1, 0, 0, 0, 0, 0, 2, '[', ']'},
		"too large":         append([]byte{1}, make([]byte, 64<<10)...),
		"only version byte": {1},
	}
	for i := 1; i < len(good); i++ {
		tests[fmt.Sprintf("truncated at %d", i)] = good[:i]
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			tok := provider.Token{AccessToken: "keep"}
			err := tok.UnmarshalBinary(data)
			if !errors.Is(err, provider.ErrBadEncoding) {
				t.Fatalf("got %v, want ErrBadEncoding", err)
			}
			if tok.AccessToken != "keep" {
				t.Error("a failed UnmarshalBinary modified the token")
			}
			if strings.Contains(err.Error(), plantedAccess) {
				t.Error("error leaks the token")
			}
		})
	}
}
