package jwtauth

import (
	"errors"
	"math"
	"strconv"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"
)

// claimsJSON is the claims set as Claims.UnmarshalJSON reads it: the
// members of jwt.RegisteredClaims and Claims, with the three times as the
// JSON numbers they are. It also holds what the decoded Claims point to
// (times, a single audience), so that decoding allocates it and the
// strings, nothing more.
type claimsJSON struct {
	Issuer    string     `json:"iss"`
	Subject   string     `json:"sub"`
	Audience  audience   `json:"aud"`
	ExpiresAt numberDate `json:"exp"`
	NotBefore numberDate `json:"nbf"`
	IssuedAt  numberDate `json:"iat"`
	ID        string     `json:"jti"`
	SessionID string     `json:"sid"`
	Provider  string     `json:"provider"`
	Scope     string     `json:"scope"`

	dates [3]jwt.NumericDate // what exp, nbf and iat point to
}

// UnmarshalJSON decodes a claims set with encoding/json/v2 semantics
// (github.com/go-json-experiment/json, the standard library's from Go
// 1.27), which are stricter than golang-jwt's own decoding and about
// twice as fast:
//
//   - member names match exactly (not case-insensitively), and a member
//     named twice is refused (RFC 7519 §4 allows either);
//   - strings must be valid UTF-8;
//   - exp, nbf and iat must be JSON numbers (RFC 7519 §2 NumericDate),
//     not numbers in strings; null is the same as absent;
//   - aud is a string or an array of strings (RFC 7519 §4.1.3).
//
// Times keep their fraction up to jwt.TimePrecision, as jwt.NumericDate
// does. Members it does not know are ignored.
func (c *Claims) UnmarshalJSON(b []byte) error {
	w := new(claimsJSON)
	if err := json.Unmarshal(b, w); err != nil {
		return err
	}
	*c = Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    w.Issuer,
			Subject:   w.Subject,
			Audience:  w.Audience.list,
			ExpiresAt: w.ExpiresAt.at(&w.dates[0]),
			NotBefore: w.NotBefore.at(&w.dates[1]),
			IssuedAt:  w.IssuedAt.at(&w.dates[2]),
			ID:        w.ID,
		},
		SessionID: w.SessionID,
		Provider:  w.Provider,
		Scope:     w.Scope,
	}
	return nil
}

// numberDate is a NumericDate member as read: its number of seconds since
// the epoch, and whether it was there (null counts as absent).
type numberDate struct {
	sec float64
	set bool
}

var errDateType = errors.New("exp, nbf and iat must be numbers")

// UnmarshalJSONFrom implements json.UnmarshalerFrom: a JSON number (one
// that overflows a float64 is refused, as encoding/json/v2 refuses it for
// a float64), or null.
func (n *numberDate) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	switch d.PeekKind() {
	case 'n':
		_, err := d.ReadToken()
		*n = numberDate{}
		return err
	case '0':
		v, err := d.ReadValue()
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return err
		}
		*n = numberDate{sec: f, set: true}
		return nil
	default:
		return errDateType
	}
}

// at is jwt.NumericDate's reading of n, stored in *dst: nil when absent,
// else the time at jwt.TimePrecision.
func (n numberDate) at(dst *jwt.NumericDate) *jwt.NumericDate {
	if !n.set {
		return nil
	}
	sec, frac := math.Modf(n.sec)
	*dst = *jwt.NewNumericDate(time.Unix(int64(sec), int64(frac*1e9)))
	return dst
}

// audience is aud: one string or an array of strings. A single audience
// (the usual case) is kept in one, without a slice of its own.
type audience struct {
	list jwt.ClaimStrings
	one  [1]string
}

var errAudienceType = errors.New("aud is neither a string nor an array of strings")

// UnmarshalJSONFrom implements json.UnmarshalerFrom. Like
// jwt.ClaimStrings it refuses an array holding anything but strings, and
// reads null as absent.
func (a *audience) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	switch d.PeekKind() {
	case '"':
		t, err := d.ReadToken()
		if err != nil {
			return err
		}
		a.one[0] = t.String()
		a.list = a.one[:1:1]
		return nil
	case 'n':
		_, err := d.ReadToken()
		a.list = nil
		return err
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return err
		}
		out := a.one[:0:1] // a second element moves them to a slice of their own
		for d.PeekKind() == '"' {
			t, err := d.ReadToken()
			if err != nil {
				return err
			}
			out = append(out, t.String())
		}
		if d.PeekKind() != ']' {
			return errAudienceType
		}
		if _, err := d.ReadToken(); err != nil {
			return err
		}
		a.list = nil // [] is no audience, as for jwt.ClaimStrings
		if len(out) > 0 {
			a.list = out
		}
		return nil
	default:
		return errAudienceType
	}
}
