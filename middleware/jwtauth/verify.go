package jwtauth

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is matched (errors.Is) by every error [Authority.Verify]
// returns. Answer it with 401 and `WWW-Authenticate: Bearer
// error="invalid_token"`, and nothing more specific.
var ErrInvalidToken = errors.New("jwtauth: invalid token")

// InvalidTokenError is the concrete error [Authority.Verify] returns. Its
// Error text is always "jwtauth: invalid token", so it can be shown to a
// client without helping an attacker; Reason says why, for server-side logs
// only.
type InvalidTokenError struct {
	// Reason is one of a fixed set of short phrases ("too large",
	// "malformed", "unknown kid", "bad signature or algorithm",
	// "expired", ...). It never contains any part of the token.
	Reason string
}

// Error returns "jwtauth: invalid token", whatever the reason.
func (e InvalidTokenError) Error() string { return ErrInvalidToken.Error() }

// Is makes errors.Is(err, ErrInvalidToken) true.
func (e InvalidTokenError) Is(target error) bool { return target == ErrInvalidToken }

// The reasons, boxed once so that rejecting costs no allocation here.
var (
	errTooLarge      error = InvalidTokenError{"too large"}
	errMalformed     error = InvalidTokenError{"malformed"}
	errAlgorithm     error = InvalidTokenError{"wrong algorithm"}
	errType          error = InvalidTokenError{"wrong typ header"}
	errCrit          error = InvalidTokenError{"unsupported crit header"}
	errNoKid         error = InvalidTokenError{"missing kid"}
	errUnknownKid    error = InvalidTokenError{"unknown kid"}
	errSignature     error = InvalidTokenError{"bad signature or algorithm"}
	errUnverifiable  error = InvalidTokenError{"unverifiable"}
	errExpired       error = InvalidTokenError{"expired"}
	errNotYetValid   error = InvalidTokenError{"not yet valid"}
	errIssuedFuture  error = InvalidTokenError{"issued in the future"}
	errIssuer        error = InvalidTokenError{"wrong issuer"}
	errAudience      error = InvalidTokenError{"wrong audience"}
	errMissingClaim  error = InvalidTokenError{"missing claim"}
	errInvalidClaims error = InvalidTokenError{"invalid claims"}
)

// Verify checks an access token and returns its claims. authorization is an
// Authorization header value ("Bearer <jwt>", scheme case-insensitive) or a
// bare token.
//
// In order, and stopping at the first failure: the value is refused unread
// when longer than MaxAuthorizationSize; the compact form must be three
// non-empty segments of canonical base64url (one encoding per byte
// string, no padding); golang-jwt then decodes it with the one
// configured algorithm; the header must carry typ "at+jwt", no "crit" and a
// kid of the configured set (the signing method must be golang-jwt's own
// for the algorithm, not one registered under its name by other code);
// the signature must verify with that kid's key; exp, iat and nbf must be
// present and valid within the leeway; iss and aud must match; sub, sid and
// jti must be present. Any error from the parser is a rejection.
//
// A header that is byte for byte one Mint writes ({"alg","kid","typ"} for
// one of the keys) passes those header checks by being those bytes, and is
// not decoded again; the claims, the signature and the claim checks are
// the same golang-jwt parts either way.
//
// A token that verified a second time is remembered (the last 1,024, by
// their exact text; a token sent only once is not kept): when it comes
// again only its times (exp, nbf, iat, with the leeway) are checked
// again, since nothing else about it can change. The result is the
// caller's own copy either way.
//
// Every error matches [ErrInvalidToken] and is an [InvalidTokenError].
func (a *Authority) Verify(authorization string) (*Claims, error) {
	if len(authorization) > MaxAuthorizationSize {
		return nil, errTooLarge
	}
	tok, ok := bearerToken(authorization)
	if !ok || !compactJWS(tok) {
		return nil, errMalformed
	}
	if c, err := a.cachedClaims(tok); err != errNotCached {
		return c, err
	}
	var c *Claims
	var err error
	if key := a.mintedKey(tok); key != nil {
		c, err = a.verifyMinted(tok, key)
	} else {
		c, err = a.verifyParsed(tok)
	}
	if err != nil {
		return nil, err
	}
	// exp is required by the parser; RFC 9068 also requires iat, and we
	// always mint nbf, sub, sid and jti.
	if c.IssuedAt == nil || c.NotBefore == nil || c.Subject == "" || c.SessionID == "" || c.ID == "" {
		return nil, errMissingClaim
	}
	a.verified.put(tok, c)
	return c, nil
}

// verifyParsed is golang-jwt's ParseWithClaims with lookupKey: the
// header decoded and checked, then the claims, the signature and the
// claim checks.
func (a *Authority) verifyParsed(tok string) (*Claims, error) {
	c := new(Claims)
	t, err := a.parser.ParseWithClaims(tok, c, a.keyFunc)
	if err != nil {
		return nil, reasonFor(err)
	}
	if t == nil || !t.Valid {
		return nil, errUnverifiable
	}
	return c, nil
}

// mintedKey returns the verification key when tok's header segment is,
// byte for byte, one that Mint writes (a key's header), else nil.
func (a *Authority) mintedKey(tok string) any {
	for i := range a.keys {
		h := a.keys[i].header
		if h != "" && len(tok) > len(h) && tok[len(h)] == '.' && tok[:len(h)] == h {
			return a.keys[i].key
		}
	}
	return nil
}

// verifyMinted verifies a compact token whose header is a key's header,
// as verifyParsed would, without decoding the header: lookupKey's answer
// for those exact bytes is known (the algorithm, typ at+jwt, no crit, a
// configured kid, whose key is key). The rest is verifyParsed's, in
// ParseWithClaims' order with golang-jwt's own parts: the claims decoded
// (Claims.UnmarshalJSON, which golang-jwt calls too), the signature
// checked by the algorithm's signing method, then the claim checks by the
// validator built with the parser's options. The signing method is the
// golang-jwt value New chose, never one looked up by name in golang-jwt's
// global registry, so a method registered under our algorithm's name by
// other code changes nothing here (verifyParsed refuses it through
// methodOK). TestVerifyPathsAgree and
// FuzzVerifyPathsAgree hold the two paths to the same answers.
func (a *Authority) verifyMinted(tok string, key any) (*Claims, error) {
	// compactJWS has checked: exactly two dots, canonical base64url.
	h, s := strings.IndexByte(tok, '.'), strings.LastIndexByte(tok, '.')
	payload, err := base64.RawURLEncoding.DecodeString(tok[h+1 : s])
	if err != nil {
		return nil, errMalformed
	}
	c := new(Claims)
	if err := c.UnmarshalJSON(payload); err != nil {
		return nil, errMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[s+1:])
	if err != nil {
		return nil, errMalformed
	}
	if err := a.method.Verify(tok[:s], sig, key); err != nil {
		return nil, errSignature
	}
	if err := a.validator.Validate(c); err != nil {
		return nil, reasonFor(err)
	}
	return c, nil
}

// lookupKey is the golang-jwt keyfunc. It runs after the header and claims
// are decoded and the alg name passed WithValidMethods, before the signature
// is checked. It never fetches anything: jku, x5u, jwk and x5c are ignored,
// and kid is only compared with the configured IDs.
func (a *Authority) lookupKey(t *jwt.Token) (any, error) {
	if !a.methodOK(t.Method) {
		return nil, errAlgorithm
	}
	if typ, _ := t.Header["typ"].(string); typ != TokenType {
		return nil, errType
	}
	// RFC 7515 §4.1.11: extensions listed in crit must be understood; we
	// understand none.
	if _, ok := t.Header["crit"]; ok {
		return nil, errCrit
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errNoKid
	}
	for i := range a.keys {
		if a.keys[i].id == kid {
			return a.keys[i].key, nil
		}
	}
	return nil, errUnknownKid
}

// methodOK reports whether m is the very golang-jwt signing method New
// chose (jwt.SigningMethodEdDSA, ES256 or HS256), not merely one of its
// name or Go type: a method registered under our algorithm's name by other
// code in the process (jwt.RegisterSigningMethod is global), even an HMAC
// with another hash, is refused by verifyParsed (verifyMinted does not
// look the method up at all).
func (a *Authority) methodOK(m jwt.SigningMethod) bool {
	return m != nil && m == a.method
}

// reasonFor maps a parser error to one of our fixed reasons. It only
// labels: every path through it is a rejection.
func reasonFor(err error) error {
	var ite InvalidTokenError
	switch {
	case errors.As(err, &ite): // from lookupKey
		for _, e := range keyfuncErrors {
			if e.(InvalidTokenError) == ite {
				return e
			}
		}
		return errUnverifiable
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errSignature
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return errUnverifiable
	case errors.Is(err, jwt.ErrTokenExpired):
		return errExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return errNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errIssuedFuture
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return errMissingClaim
	}
	return errInvalidClaims
}

var keyfuncErrors = [...]error{errAlgorithm, errType, errCrit, errNoKid, errUnknownKid}

// bearerToken extracts the token from "Bearer <token>" (RFC 6750 §2.1; the
// scheme is case-insensitive, RFC 9110 §11.1) or returns a bare token as is.
// Surrounding spaces and tabs are ignored.
func bearerToken(s string) (string, bool) {
	s = strings.Trim(s, " \t")
	if i := strings.IndexByte(s, ' '); i >= 0 {
		if !strings.EqualFold(s[:i], "Bearer") {
			return "", false
		}
		s = strings.TrimLeft(s[i+1:], " ")
	}
	return s, s != ""
}

// b64url maps each byte to its value in the base64url alphabet (RFC 4648
// §5), or to 0xff when it is not in it.
var b64url = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range t {
		t[i] = 0xff
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// compactJWS reports whether s is three non-empty segments in canonical
// unpadded base64url joined by exactly two dots: only alphabet characters,
// no segment of a length that no byte string encodes to (4n+1), and the
// unused low bits of a segment's last character zero (RFC 4648 §3.5), so
// that one byte string has exactly one encoding and a token cannot be
// re-encoded into another that verifies. It is a cheap, allocation-free
// filter run before golang-jwt splits and decodes anything, and it is the
// strict decoding: golang-jwt's own (WithStrictDecoding) copies the
// base64 encoding for each segment of each token.
func compactJWS(s string) bool {
	dots, segLen := 0, 0
	var last byte // the value of the segment's last character
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if !canonicalEnd(segLen, last) || dots == 2 {
				return false
			}
			dots++
			segLen = 0
			continue
		}
		if last = b64url[c]; last == 0xff {
			return false
		}
		segLen++
	}
	return dots == 2 && canonicalEnd(segLen, last)
}

// canonicalEnd reports whether a segment of n characters whose last one
// has value last is a whole canonical encoding: n is not 4k+1, and the
// bits of last that carry no data are zero (4 of them after 2 characters
// of a group, 2 after 3).
func canonicalEnd(n int, last byte) bool {
	switch n % 4 {
	case 1:
		return false
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return n > 0
}
