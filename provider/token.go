package provider

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Token is an upstream token set: what a token endpoint returned, normalised.
//
// A Token never prints its secrets: String, every fmt verb, slog and
// encoding/json all show a redacted form. Use [Token.MarshalBinary] and
// [Token.UnmarshalBinary] (the explicit storage encoding) to persist one.
type Token struct {
	// AccessToken is the credential sent to the upstream API. Secret.
	AccessToken string
	// TokenType is the scheme, usually "Bearer".
	TokenType string
	// RefreshToken obtains new access tokens. Secret. Empty when the
	// upstream issued none.
	RefreshToken string
	// Expiry is when AccessToken stops working, computed from the local
	// receipt time plus expires_in. Zero means unknown (treated as never).
	Expiry time.Time
	// Scopes are the scopes actually granted, when the upstream said so.
	Scopes []string
	// Extra holds non-secret provider-specific reply fields (for example
	// Wazo's metadata). Adapters must not put credentials here.
	Extra map[string]any
}

// Valid reports whether t has an access token that has not expired.
func (t *Token) Valid() bool { return t.ValidAt(time.Now()) }

// ValidAt is Valid evaluated at now.
func (t *Token) ValidAt(now time.Time) bool {
	return t != nil && t.AccessToken != "" && (t.Expiry.IsZero() || now.Before(t.Expiry))
}

// ExpiresWithin reports whether t expires within d from now. A token with
// no known expiry never does.
func (t *Token) ExpiresWithin(d time.Duration) bool { return t.ExpiresWithinAt(time.Now(), d) }

// ExpiresWithinAt is ExpiresWithin evaluated at now.
func (t *Token) ExpiresWithinAt(now time.Time, d time.Duration) bool {
	if t == nil || t.Expiry.IsZero() {
		return false
	}
	return !now.Add(d).Before(t.Expiry)
}

// HasScope reports whether s is among the granted scopes.
func (t *Token) HasScope(s string) bool {
	if t == nil {
		return false
	}
	for _, g := range t.Scopes {
		if g == s {
			return true
		}
	}
	return false
}

// Clone returns a deep copy of t (Extra is copied one level deep).
func (t *Token) Clone() *Token {
	if t == nil {
		return nil
	}
	var c *Token
	if n := len(t.Scopes); n > 0 && n <= len(tokenBox{}.scopes) {
		// One allocation for the token and its scopes (every
		// authenticated request copies a token set).
		b := &tokenBox{t: *t}
		copy(b.scopes[:], t.Scopes)
		b.t.Scopes = b.scopes[:n:n]
		c = &b.t
	} else {
		c = new(Token)
		*c = *t
		c.Scopes = append([]string(nil), t.Scopes...) // nil for none
	}
	if t.Extra != nil {
		c.Extra = make(map[string]any, len(t.Extra))
		for k, v := range t.Extra {
			c.Extra[k] = v
		}
	}
	return c
}

// tokenBox is a Token and room for its scopes in one allocation.
type tokenBox struct {
	t      Token
	scopes [4]string
}

const redacted = "[REDACTED]"

func mask(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String returns a redacted description of t.
//
// String, GoString, Format, LogValue and MarshalJSON have value receivers
// so that a Token printed, logged or marshalled by value (or inside a
// struct held by value) is redacted too. fmt, slog and encoding/json print
// a nil *Token as <nil> or null.
func (t Token) String() string {
	var b strings.Builder
	b.WriteString("provider.Token{AccessToken:")
	b.WriteString(mask(t.AccessToken))
	b.WriteString(" TokenType:")
	b.WriteString(t.TokenType)
	b.WriteString(" RefreshToken:")
	b.WriteString(mask(t.RefreshToken))
	b.WriteString(" Expiry:")
	if t.Expiry.IsZero() {
		b.WriteString("none")
	} else {
		b.WriteString(t.Expiry.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, " Scopes:%v}", t.Scopes)
	return b.String()
}

// GoString implements fmt.GoStringer (%#v) with the redacted form.
func (t Token) GoString() string { return t.String() }

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s, %q,
// %x, ...) prints the redacted form.
func (t Token) Format(f fmt.State, verb rune) {
	s := t.String()
	if verb == 'q' {
		s = fmt.Sprintf("%q", s)
	}
	_, _ = f.Write([]byte(s))
}

// LogValue implements slog.LogValuer: no secret values, only their presence.
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("type", t.TokenType),
		slog.Bool("has_access_token", t.AccessToken != ""),
		slog.Bool("has_refresh_token", t.RefreshToken != ""),
	}
	if !t.Expiry.IsZero() {
		attrs = append(attrs, slog.Time("expiry", t.Expiry))
	}
	if len(t.Scopes) > 0 {
		attrs = append(attrs, slog.String("scopes", strings.Join(t.Scopes, " ")))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON implements json.Marshaler with the redacted form, so a Token
// that ends up in a JSON log or API reply leaks nothing. It is not a storage
// encoding: use MarshalBinary for that.
func (t Token) MarshalJSON() ([]byte, error) {
	type redactedToken struct {
		AccessToken  string    `json:"access_token,omitempty"`
		TokenType    string    `json:"token_type,omitempty"`
		RefreshToken string    `json:"refresh_token,omitempty"`
		Expiry       time.Time `json:"expiry,omitzero"`
		Scopes       []string  `json:"scopes,omitempty"`
	}
	return json.Marshal(redactedToken{mask(t.AccessToken), t.TokenType, mask(t.RefreshToken), t.Expiry, t.Scopes})
}

// tokenEncodingV1 is the first byte of the binary storage encoding.
const tokenEncodingV1 = 1

// maxEncodedToken bounds what UnmarshalBinary accepts.
const maxEncodedToken = 64 << 10

// ErrBadEncoding is returned by UnmarshalBinary for data it cannot decode.
var ErrBadEncoding = errors.New("provider: bad token encoding")

// MarshalBinary is the explicit storage encoding of a Token: a version byte,
// then length-prefixed fields. It contains the secrets in clear; store it
// only where tokens may live (the server-side session store).
//
// encoding/gob uses it too, so a Token kept in an scs session round-trips.
func (t *Token) MarshalBinary() ([]byte, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil token", ErrBadEncoding)
	}
	var extra []byte
	if len(t.Extra) > 0 {
		var err error
		if extra, err = json.Marshal(t.Extra); err != nil {
			return nil, fmt.Errorf("provider: encode token extra: %w", err)
		}
	}
	b := make([]byte, 0, 32+len(t.AccessToken)+len(t.RefreshToken)+len(t.TokenType)+len(extra))
	b = append(b, tokenEncodingV1)
	b = appendString(b, t.AccessToken)
	b = appendString(b, t.TokenType)
	b = appendString(b, t.RefreshToken)
	var exp int64
	if !t.Expiry.IsZero() {
		exp = t.Expiry.UnixNano()
	}
	b = binary.AppendVarint(b, exp)
	b = binary.AppendUvarint(b, uint64(len(t.Scopes)))
	for _, s := range t.Scopes {
		b = appendString(b, s)
	}
	b = appendString(b, string(extra))
	return b, nil
}

// UnmarshalBinary decodes MarshalBinary's output. Truncated, oversized or
// unknown-version input returns an error wrapping ErrBadEncoding; it never
// panics.
func (t *Token) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || len(data) > maxEncodedToken {
		return ErrBadEncoding
	}
	if data[0] != tokenEncodingV1 {
		return fmt.Errorf("%w: unknown version %d", ErrBadEncoding, data[0])
	}
	// One allocation for all the strings: they are substrings of src.
	d := decoder{b: data[1:], src: string(data[1:])}
	var out Token
	out.AccessToken = d.string()
	out.TokenType = d.string()
	out.RefreshToken = d.string()
	if exp := d.varint(); exp != 0 {
		out.Expiry = time.Unix(0, exp)
	}
	n := d.uvarint()
	if n > uint64(len(d.b)) { // each scope takes at least one byte
		return ErrBadEncoding
	}
	if n > 0 {
		out.Scopes = make([]string, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		out.Scopes = append(out.Scopes, d.string())
	}
	extra := d.string()
	if d.err != nil || len(d.b) != 0 {
		return ErrBadEncoding
	}
	if extra != "" {
		if err := json.Unmarshal([]byte(extra), &out.Extra); err != nil {
			return fmt.Errorf("%w: extra: %v", ErrBadEncoding, err)
		}
	}
	*t = out
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type decoder struct {
	b   []byte
	err error
	// src, when set, holds the bytes b started as: string() returns
	// substrings of it instead of allocating each one.
	src string
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrBadEncoding
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrBadEncoding
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = ErrBadEncoding
		return ""
	}
	v := d.b[:n]
	d.b = d.b[n:]
	if d.src == "" || n == 0 {
		return string(v)
	}
	end := len(d.src) - len(d.b)
	return d.src[end-int(n) : end]
}
