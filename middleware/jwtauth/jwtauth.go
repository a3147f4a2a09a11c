package jwtauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithm is a JWS signing algorithm name (RFC 7518 §3.1, RFC 8037).
type Algorithm string

// The supported algorithms. An [Authority] accepts exactly one of them.
const (
	// EdDSA is Ed25519 (RFC 8037). It is the default: small keys, fast,
	// deterministic signatures, no parameter choices to get wrong.
	EdDSA Algorithm = "EdDSA"
	// ES256 is ECDSA on P-256 with SHA-256.
	ES256 Algorithm = "ES256"
	// HS256 is HMAC-SHA256 with a shared secret of at least 32 bytes. Only
	// use it when the same party mints and verifies; it publishes no keys.
	HS256 Algorithm = "HS256"
)

// TokenType is the "typ" header of every token this package mints and the
// only one it accepts (RFC 9068 §2.1).
const TokenType = "at+jwt"

// Limits enforced by [New] and [Authority.Verify].
const (
	// MaxAuthorizationSize is the largest Authorization value (or bare
	// token) Verify looks at; anything longer is rejected unread.
	MaxAuthorizationSize = 8 << 10
	// MaxLifetime is the longest token lifetime New accepts.
	MaxLifetime = 15 * time.Minute
	// MaxLeeway is the largest clock-skew allowance New accepts.
	MaxLeeway = 60 * time.Second
	// MinHMACKeySize is the shortest HS256 secret New accepts (256 bits,
	// RFC 7518 §3.2).
	MinHMACKeySize = 32
	// MaxKeyIDSize is the longest kid New accepts.
	MaxKeyIDSize = 128
)

// Defaults applied by [New] to zero [Config] fields.
const (
	DefaultAlgorithm = EdDSA
	DefaultLifetime  = 15 * time.Minute
	DefaultLeeway    = 30 * time.Second
)

// jwksMaxAge is the Cache-Control max-age of the JWKS document. Short enough
// that a prepended key reaches verifiers well before the old key retires.
const jwksMaxAge = 300

// Key is one signing key of the set.
type Key struct {
	// ID is the key's "kid". Required, unique within the set, 1 to
	// MaxKeyIDSize printable ASCII characters. It is published in the
	// JWKS, so it must not be secret.
	ID string
	// Private is an ed25519.PrivateKey (EdDSA), a *ecdsa.PrivateKey on
	// P-256 (ES256) or a []byte secret of at least MinHMACKeySize bytes
	// (HS256). It must match [Config.Algorithm].
	Private any
}

// String returns the key's ID and type, never its material.
func (k Key) String() string {
	return fmt.Sprintf("jwtauth.Key{ID: %q, Private: %T}", k.ID, k.Private)
}

// GoString is String, so %#v does not print key material either.
func (k Key) GoString() string { return k.String() }

// LogValue implements slog.LogValuer: the key's ID and type, never its
// material.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.ID), slog.String("type", fmt.Sprintf("%T", k.Private)))
}

// GenerateKey returns a fresh random key for alg with a random 128-bit kid.
// An empty alg means [DefaultAlgorithm].
func GenerateKey(alg Algorithm) (Key, error) {
	if alg == "" {
		alg = DefaultAlgorithm
	}
	var k Key
	switch alg {
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return Key{}, fmt.Errorf("jwtauth: generate key: %w", err)
		}
		k.Private = priv
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return Key{}, fmt.Errorf("jwtauth: generate key: %w", err)
		}
		k.Private = priv
	case HS256:
		secret := make([]byte, MinHMACKeySize)
		rand.Read(secret)
		k.Private = secret
	default:
		return Key{}, fmt.Errorf("%w: unsupported algorithm %q", ErrInvalidConfig, alg)
	}
	k.ID = randomID()
	return k, nil
}

// randomID returns 128 random bits, base64url without padding.
func randomID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Config configures an [Authority].
type Config struct {
	// Issuer is the "iss" claim minted and required on verify. Required.
	Issuer string
	// Audience is the "aud" claim minted and required on verify. Required.
	Audience string
	// Algorithm is the one signing algorithm minted and accepted.
	// Default: EdDSA.
	Algorithm Algorithm
	// Keys is the key set. Required, at least one. Keys[0] signs; every
	// key verifies. To rotate, prepend the new key and keep the old one
	// until the last token it signed has expired (Lifetime + Leeway).
	Keys []Key
	// Lifetime is how long a minted token is valid, in whole seconds.
	// Default: 15m. More than MaxLifetime (15m) is refused.
	Lifetime time.Duration
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Default: 30s. More than MaxLeeway (60s) is refused.
	Leeway time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Claims are the claims of a Gatehouse access token.
type Claims struct {
	jwt.RegisteredClaims // iss, sub, aud, exp, nbf, iat, jti

	// SessionID is the server-side session id (session.Login.ID). It binds
	// the token to the session, so ending the session revokes the token.
	SessionID string `json:"sid"`
	// Provider is the name of the provider the user logged in with.
	Provider string `json:"provider"`
	// Scope is the space-separated list of granted scopes.
	Scope string `json:"scope,omitempty"`
}

// ErrInvalidConfig is matched by every error [New] and [GenerateKey] return
// for a bad configuration or a weak or mismatched key.
var ErrInvalidConfig = errors.New("jwtauth: invalid config")

// verifyKey is one entry of the verification table; key is pre-boxed so the
// keyfunc returns it without allocating.
type verifyKey struct {
	id  string
	key any
	jwk map[string]string // public JWK, nil for HMAC
	// header is the header segment Mint writes with this key ({"alg",
	// "kid", "typ"} in that order, base64url): tokens that carry it are
	// verified without decoding it again (see verifyMinted).
	header string
}

// Authority mints and verifies tokens. It is safe for concurrent use; its
// configuration is fixed at New.
type Authority struct {
	issuer   string
	audience string
	alg      Algorithm
	method   jwt.SigningMethod
	lifetime time.Duration
	leeway   time.Duration
	now      func() time.Time

	signKey    any    // Keys[0].Private (a private copy)
	headerPart string // base64url(header) + "."

	keys      []verifyKey
	parser    *jwt.Parser
	validator *jwt.Validator // the parser's claim checks, for verifyMinted
	keyFunc   jwt.Keyfunc
	jwks      []byte

	verified *verifiedCache // tokens already verified in full
}

// New validates cfg, fills its defaults and returns an Authority. Weak keys
// (HMAC shorter than 32 bytes, a curve other than P-256), keys of the wrong
// type for the algorithm, and missing or duplicate kids are refused with an
// error matching [ErrInvalidConfig]. New never panics.
func New(cfg Config) (*Authority, error) {
	bad := func(format string, args ...any) (*Authority, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if cfg.Issuer == "" {
		return bad("Issuer is required")
	}
	if cfg.Audience == "" {
		return bad("Audience is required")
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = DefaultAlgorithm
	}
	var method jwt.SigningMethod
	switch cfg.Algorithm {
	case EdDSA:
		method = jwt.SigningMethodEdDSA
	case ES256:
		method = jwt.SigningMethodES256
	case HS256:
		method = jwt.SigningMethodHS256
	default:
		return bad("unsupported algorithm %q", cfg.Algorithm)
	}
	switch {
	case cfg.Lifetime == 0:
		cfg.Lifetime = DefaultLifetime
	case cfg.Lifetime < time.Second:
		return bad("Lifetime %v is shorter than 1s", cfg.Lifetime)
	case cfg.Lifetime > MaxLifetime:
		return bad("Lifetime %v exceeds %v", cfg.Lifetime, MaxLifetime)
	}
	cfg.Lifetime = cfg.Lifetime.Truncate(time.Second)
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		return bad("Leeway is negative")
	case cfg.Leeway > MaxLeeway:
		return bad("Leeway %v exceeds %v", cfg.Leeway, MaxLeeway)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Keys) == 0 {
		return bad("Keys is empty")
	}

	a := &Authority{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		alg:      cfg.Algorithm,
		method:   method,
		lifetime: cfg.Lifetime,
		leeway:   cfg.Leeway,
		now:      cfg.Now,
		verified: newVerifiedCache(verifiedCacheSize),
	}
	seen := make(map[string]bool, len(cfg.Keys))
	for i, k := range cfg.Keys {
		if err := checkKeyID(k.ID); err != nil {
			return bad("Keys[%d]: %v", i, err)
		}
		if seen[k.ID] {
			return bad("Keys[%d]: duplicate kid %q", i, k.ID)
		}
		seen[k.ID] = true
		priv, pub, jwk, err := checkKey(cfg.Algorithm, method, k)
		if err != nil {
			return bad("Keys[%d] (kid %q): %v", i, k.ID, err)
		}
		if i == 0 {
			a.signKey = priv
		}
		header, err := json.Marshal(struct {
			Alg string `json:"alg"`
			Kid string `json:"kid"`
			Typ string `json:"typ"`
		}{string(cfg.Algorithm), k.ID, TokenType})
		if err != nil {
			return bad("encode header: %v", err)
		}
		a.keys = append(a.keys, verifyKey{id: k.ID, key: pub, jwk: jwk, header: base64.RawURLEncoding.EncodeToString(header)})
	}
	a.headerPart = a.keys[0].header + "."

	var err error
	a.jwks, err = a.buildJWKS()
	if err != nil {
		return bad("encode JWKS: %v", err)
	}

	checks := []jwt.ParserOption{
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithTimeFunc(cfg.Now),
	}
	a.parser = jwt.NewParser(append(checks, jwt.WithValidMethods([]string{string(cfg.Algorithm)}))...)
	a.validator = jwt.NewValidator(checks...)
	a.keyFunc = a.lookupKey
	return a, nil
}

// checkKeyID accepts 1..MaxKeyIDSize printable ASCII characters.
func checkKeyID(id string) error {
	if id == "" {
		return errors.New("ID (kid) is required")
	}
	if len(id) > MaxKeyIDSize {
		return fmt.Errorf("ID (kid) longer than %d bytes", MaxKeyIDSize)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return errors.New("ID (kid) must be printable ASCII without spaces")
		}
	}
	return nil
}

// selfTest is signed and verified with each key at New, so a key whose
// public half does not match its private half is refused up front.
const selfTest = "gatehouse.jwtauth.selftest"

// checkKey validates k for alg and returns a private copy of the signing
// key, the verification key (pre-boxed) and its public JWK. A key so broken
// that the crypto packages panic on it is reported as an error.
func checkKey(alg Algorithm, method jwt.SigningMethod, k Key) (priv, pub any, jwk map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			priv, pub, jwk, err = nil, nil, nil, errors.New("malformed key")
		}
	}()
	switch alg {
	case EdDSA:
		p, ok := k.Private.(ed25519.PrivateKey)
		if !ok {
			return nil, nil, nil, fmt.Errorf("EdDSA needs an ed25519.PrivateKey, not %T", k.Private)
		}
		if len(p) != ed25519.PrivateKeySize {
			return nil, nil, nil, fmt.Errorf("ed25519 private key is %d bytes, want %d", len(p), ed25519.PrivateKeySize)
		}
		p = ed25519.NewKeyFromSeed(p.Seed()) // private copy, public half recomputed
		if !bytes.Equal(p, k.Private.(ed25519.PrivateKey)) {
			return nil, nil, nil, errors.New("ed25519 private key's public half does not match its seed")
		}
		pk := p.Public().(ed25519.PublicKey)
		priv, pub = p, pk
		jwk = map[string]string{
			"kty": "OKP", "crv": "Ed25519",
			"x": base64.RawURLEncoding.EncodeToString(pk),
		}
	case ES256:
		p, ok := k.Private.(*ecdsa.PrivateKey)
		if !ok || p == nil {
			return nil, nil, nil, fmt.Errorf("ES256 needs a *ecdsa.PrivateKey, not %T", k.Private)
		}
		if p.Curve != elliptic.P256() {
			return nil, nil, nil, errors.New("ES256 needs a P-256 key")
		}
		if p.D == nil || p.X == nil || p.Y == nil {
			return nil, nil, nil, errors.New("incomplete P-256 key")
		}
		// Rebuild the key from its scalar: this validates the scalar,
		// gives us a private copy, and lets us check the public half.
		rawPriv, err := p.Bytes()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("invalid P-256 private key: %v", err)
		}
		canon, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), rawPriv)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("invalid P-256 private key: %v", err)
		}
		if !canon.PublicKey.Equal(&p.PublicKey) {
			return nil, nil, nil, errors.New("P-256 key's public half does not match its private scalar")
		}
		p = canon
		ecdhPub, err := p.PublicKey.ECDH()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("invalid P-256 public key: %v", err)
		}
		raw := ecdhPub.Bytes() // 0x04 || X (32) || Y (32)
		priv, pub = p, &p.PublicKey
		jwk = map[string]string{
			"kty": "EC", "crv": "P-256",
			"x": base64.RawURLEncoding.EncodeToString(raw[1:33]),
			"y": base64.RawURLEncoding.EncodeToString(raw[33:65]),
		}
	case HS256:
		s, ok := k.Private.([]byte)
		if !ok {
			return nil, nil, nil, fmt.Errorf("HS256 needs a []byte secret, not %T", k.Private)
		}
		if len(s) < MinHMACKeySize {
			return nil, nil, nil, fmt.Errorf("HS256 secret is %d bytes, want at least %d", len(s), MinHMACKeySize)
		}
		if bytes.Count(s, s[:1]) == len(s) {
			return nil, nil, nil, errors.New("HS256 secret is one repeated byte")
		}
		s = bytes.Clone(s)
		priv, pub = s, s
	default:
		return nil, nil, nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
	sig, err := method.Sign(selfTest, priv)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("self-test sign: %v", err)
	}
	if err := method.Verify(selfTest, sig, pub); err != nil {
		return nil, nil, nil, errors.New("self-test: public key does not verify the private key's signature")
	}
	if jwk != nil {
		jwk["kid"] = k.ID
		jwk["alg"] = string(alg)
		jwk["use"] = "sig"
	}
	return priv, pub, jwk, nil
}

// Algorithm returns the one algorithm a mints and accepts.
func (a *Authority) Algorithm() Algorithm { return a.alg }

// Lifetime returns the lifetime of minted tokens.
func (a *Authority) Lifetime() time.Duration { return a.lifetime }
