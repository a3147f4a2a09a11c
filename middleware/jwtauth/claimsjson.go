package jwtauth

import (
	"errors"
	"math"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"
)

// claimsJSON is the claims set as Claims.UnmarshalJSON reads it: the
// members of jwt.RegisteredClaims and Claims, with the three times as the
// JSON numbers they are.
type claimsJSON struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	ExpiresAt *float64 `json:"exp"`
	NotBefore *float64 `json:"nbf"`
	IssuedAt  *float64 `json:"iat"`
	ID        string   `json:"jti"`
	SessionID string   `json:"sid"`
	Provider  string   `json:"provider"`
	Scope     string   `json:"scope"`
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
	var w claimsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    w.Issuer,
			Subject:   w.Subject,
			Audience:  jwt.ClaimStrings(w.Audience),
			ExpiresAt: numericDate(w.ExpiresAt),
			NotBefore: numericDate(w.NotBefore),
			IssuedAt:  numericDate(w.IssuedAt),
			ID:        w.ID,
		},
		SessionID: w.SessionID,
		Provider:  w.Provider,
		Scope:     w.Scope,
	}
	return nil
}

// numericDate is jwt.NumericDate's reading of a number of seconds since
// the epoch: nil when absent, else the time at jwt.TimePrecision.
func numericDate(f *float64) *jwt.NumericDate {
	if f == nil {
		return nil
	}
	sec, frac := math.Modf(*f)
	return jwt.NewNumericDate(time.Unix(int64(sec), int64(frac*1e9)))
}

// audience is aud: one string or an array of strings.
type audience []string

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
		*a = audience{t.String()}
		return nil
	case 'n':
		_, err := d.ReadToken()
		*a = nil
		return err
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return err
		}
		var out audience
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
		*a = out
		return nil
	default:
		return errAudienceType
	}
}
