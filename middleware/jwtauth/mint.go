package jwtauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// maxClaimSize bounds sub, sid and provider at Mint, so that every minted
// token fits well inside MaxAuthorizationSize.
const maxClaimSize = 1024

// wireClaims is the exact JSON Mint signs. It does not depend on
// golang-jwt's package-level MarshalSingleStringAsArray: aud is always a
// one-element array.
type wireClaims struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      []string `json:"aud"`
	Exp      int64    `json:"exp"`
	Nbf      int64    `json:"nbf"`
	Iat      int64    `json:"iat"`
	Jti      string   `json:"jti"`
	Sid      string   `json:"sid"`
	Provider string   `json:"provider"`
	Scope    string   `json:"scope,omitempty"`
}

// Mint signs a new access token for subject sub bound to session sid. It
// carries iss, aud (a one-element array), sub, sid, provider, scope (the
// scopes joined by spaces, omitted when empty), iat = nbf = now, exp = now +
// Lifetime and a random 128-bit jti; the header carries alg, kid (Keys[0])
// and typ "at+jwt". expiresIn is the lifetime, for the "expires_in" field of
// a token response.
//
// sub and sid are required; each scope must be a non-empty RFC 6749 §3.3
// scope-token (printable ASCII, no space, '"' or '\').
func (a *Authority) Mint(sub, sid, provider string, scopes []string) (token string, expiresIn time.Duration, err error) {
	switch {
	case sub == "":
		return "", 0, errors.New("jwtauth: mint: empty subject")
	case sid == "":
		return "", 0, errors.New("jwtauth: mint: empty session id")
	case len(sub) > maxClaimSize || len(sid) > maxClaimSize || len(provider) > maxClaimSize:
		return "", 0, fmt.Errorf("jwtauth: mint: sub, sid or provider longer than %d bytes", maxClaimSize)
	}
	for _, s := range scopes {
		if !validScopeToken(s) {
			return "", 0, errors.New("jwtauth: mint: invalid scope token")
		}
	}
	now := a.now().Unix()
	c := wireClaims{
		Iss:      a.issuer,
		Sub:      sub,
		Aud:      []string{a.audience},
		Iat:      now,
		Nbf:      now,
		Exp:      now + int64(a.lifetime/time.Second),
		Jti:      randomID(),
		Sid:      sid,
		Provider: provider,
		Scope:    strings.Join(scopes, " "),
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", 0, fmt.Errorf("jwtauth: mint: %w", err)
	}
	var b strings.Builder
	b.Grow(len(a.headerPart) + base64.RawURLEncoding.EncodedLen(len(payload)) + 1 + 128)
	b.WriteString(a.headerPart)
	b.WriteString(base64.RawURLEncoding.EncodeToString(payload))
	sig, err := a.method.Sign(b.String(), a.signKey)
	if err != nil {
		return "", 0, fmt.Errorf("jwtauth: mint: sign: %w", err)
	}
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(sig))
	token = b.String()
	if len(token)+len("Bearer ") > MaxAuthorizationSize {
		return "", 0, fmt.Errorf("jwtauth: mint: token exceeds %d bytes", MaxAuthorizationSize)
	}
	return token, a.lifetime, nil
}

// validScopeToken reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" || len(s) > maxClaimSize {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
