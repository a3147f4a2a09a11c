package provider

import (
	"crypto/rand"
	"encoding/base64"

	"golang.org/x/oauth2"
)

// NewState returns a fresh state (or nonce) value: 256 bits from
// crypto/rand, base64url without padding (43 characters).
func NewState() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewVerifier returns a fresh PKCE code verifier (RFC 7636 §4.1): 32 random
// octets, base64url, 43 characters.
func NewVerifier() string { return oauth2.GenerateVerifier() }

// S256Challenge returns the RFC 7636 S256 code challenge for verifier.
// Gatehouse offers no "plain" method.
func S256Challenge(verifier string) string { return oauth2.S256ChallengeFromVerifier(verifier) }
