// Package jwtauth mints and verifies Gatehouse's own short-lived bearer JWTs
// for API clients (mobile apps, CLIs, single-page apps on another origin) that
// cannot use the session cookie.
//
// An [Authority] holds one issuer, one audience, exactly one signing
// algorithm and a key set. [Authority.Mint] signs an RFC 9068 access token
// (header typ "at+jwt") with the first key; [Authority.Verify] accepts a token
// signed by any key of the set, and [Authority.JWKS] publishes the public
// keys as an RFC 7517 JSON Web Key Set.
//
// Verification follows RFC 8725 (JWT Best Current Practices):
//
//   - The Authorization value is capped at [MaxAuthorizationSize] bytes and
//     its compact form is checked (three non-empty base64url segments)
//     before any decoding.
//   - Exactly one algorithm is accepted (§3.1): "none", algorithm switching
//     and HMAC-with-a-public-key confusion are impossible, because the
//     parser allows one algorithm name and the key lookup also checks the
//     signing method's Go type.
//   - The "kid" header is looked up only in the configured key set (§3.10).
//     Nothing is ever fetched; "jku", "x5u", "jwk" and "x5c" are ignored and
//     "crit" is refused.
//   - The header "typ" must be "at+jwt" (§3.11), so provider ID tokens and
//     other JWTs signed with the same key are never accepted.
//   - "exp", "iat" and "nbf" are required and checked against an injected
//     clock with a small leeway; "iss" and "aud" must match (§3.8, §3.9).
//   - Any parse error means rejection (the lesson of CVE-2024-51744: an
//     "expired" error never proves the signature was checked).
//
// Every verification failure is reported as an error that matches
// [ErrInvalidToken]; its text never says why. The reason, a fixed phrase
// that is safe to log, is in [InvalidTokenError.Reason].
//
// Revocation is not this package's job: a token carries the server-side
// session id in "sid", and the middleware rejects a token whose session no
// longer exists, so logout revokes every token of that session at once.
package jwtauth
