// Package oidc is Gatehouse's OpenID Connect relying party: a thin layer
// over the generic authorization-code engine of package
// [github.com/gatehouse-auth/gatehouse/adapters/oauth2].
//
// [New] reads the OpenID Provider's discovery document
// ({Issuer}/.well-known/openid-configuration, OpenID Connect Discovery 1.0
// §4, or Config.DiscoveryURL), whose "issuer" must equal Config.Issuer
// byte for byte, or takes static [Endpoints] for providers without
// discovery. Every login then
// uses PKCE S256, state and a nonce, and every ID token — at login and in
// any refresh reply carrying one — is verified as OpenID Connect Core 1.0
// §3.1.3.7 and §12.2 require:
//
//   - the signature first, with a key of the OP's JWKS (RS256 always; the
//     other asymmetric algorithms the OP advertises; never "none" or
//     HMAC), the JOSE work done by github.com/coreos/go-oidc/v3 and
//     github.com/go-jose/go-jose/v4;
//   - then iss (exact, or — for multi-tenant OPs — the
//     Config.IssuerValidator hook, which then decides for every token),
//     aud contains the client id, azp when there are several
//     audiences, exp, iat present, sub present, the login's nonce
//     (constant-time), at_hash when present;
//   - on refresh, iss and sub unchanged.
//
// The UserInfo response's sub must equal the ID token's; UserInfo is never
// called for a login whose ID token failed. The JWKS is cached; an unknown
// kid causes at most one refetch per Config.KeyRefetchInterval, and a
// token without kid verifies only against the single key matching its alg.
//
// The raw ID token is kept in the server-side token set
// (provider.Token.Extra[ExtraIDToken]) for RP-initiated logout's
// id_token_hint; it is never logged or sent to the browser. The verified
// claims become provider.Identity.Raw; [ClaimsOf] gives a typed view.
// Identity.Email is set only when the OP says the address is verified
// (email_verified true): apps that link accounts by email must not trust an
// address the user merely typed at the OP.
//
// Logout: [Provider.EndSessionURL] builds the RP-Initiated Logout 1.0
// redirect, and [Provider.VerifyLogoutToken] checks a Back-Channel Logout
// 1.0 logout token. The middleware package serves both.
package oidc
