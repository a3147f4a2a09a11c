package oidc

import (
	"encoding/json"
	"math"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Claims is a typed view of the verified claims of an OpenID Connect login
// (see [ClaimsOf]). Raw holds all of them.
type Claims struct {
	// Issuer, Subject, Audience and AuthorizedParty are iss, sub, aud and
	// azp of the ID token.
	Issuer          string
	Subject         string
	Audience        []string
	AuthorizedParty string
	// SessionID is the OP's session id (sid), when it sent one.
	SessionID string
	// IssuedAt, Expiry and AuthTime are iat, exp and auth_time (zero when
	// absent).
	IssuedAt, Expiry, AuthTime time.Time
	// ACR and AMR are acr and amr, when present.
	ACR string
	AMR []string
	// Email and EmailVerified are email and email_verified, Name is name,
	// PreferredUsername is preferred_username (ID token or UserInfo).
	Email             string
	EmailVerified     bool
	Name              string
	PreferredUsername string
	// Raw is every claim: the ID token's plus UserInfo's (see
	// Provider.Identity). Shared with the Identity: do not modify it.
	Raw map[string]any
}

// ClaimsOf returns the verified claims of id, an identity from a login with
// this package's Provider: in a handler, the *provider.Identity of
// middleware.IdentityFrom(ctx) (or of the login in the OnLogin hook's
// context). ok is false when id does not come from an OpenID Connect login
// (no iss, or a sub that differs from id.Subject).
func ClaimsOf(id *provider.Identity) (c Claims, ok bool) {
	if id == nil || id.Raw == nil {
		return Claims{}, false
	}
	r := id.Raw
	c = Claims{
		Issuer:            oauth2.ClaimString(r, "iss"),
		Subject:           oauth2.ClaimString(r, "sub"),
		Audience:          audienceOf(r),
		AuthorizedParty:   oauth2.ClaimString(r, "azp"),
		SessionID:         oauth2.ClaimString(r, "sid"),
		IssuedAt:          claimTime(r["iat"]),
		Expiry:            claimTime(r["exp"]),
		AuthTime:          claimTime(r["auth_time"]),
		ACR:               oauth2.ClaimString(r, "acr"),
		Email:             oauth2.ClaimString(r, "email"),
		Name:              oauth2.ClaimString(r, "name"),
		PreferredUsername: oauth2.ClaimString(r, "preferred_username"),
		Raw:               r,
	}
	if c.Issuer == "" || c.Subject == "" || c.Subject != id.Subject {
		return Claims{}, false
	}
	switch v := r["email_verified"].(type) {
	case bool:
		c.EmailVerified = v
	case string: // some OPs send "true"
		c.EmailVerified = v == "true"
	}
	if amr, ok := r["amr"].([]any); ok {
		for _, m := range amr {
			if s, ok := m.(string); ok {
				c.AMR = append(c.AMR, s)
			}
		}
	}
	return c, true
}

// claimTime reads a NumericDate (seconds since the epoch).
func claimTime(v any) time.Time {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return time.Time{}
		}
	case int64:
		f = float64(x)
	default:
		return time.Time{}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e12 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}
