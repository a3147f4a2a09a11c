// Package provider is the contract between Gatehouse and an upstream identity
// provider.
//
// It defines the values that cross that boundary ([Token], [Identity]), the
// small interfaces an adapter implements ([Provider], [RedirectProvider],
// [PasswordProvider], [ImplicitProvider], [Revoker]), the typed errors every
// adapter returns ([Error] and the sentinels such as [ErrInvalidGrant]), the
// PKCE and state helpers, and [Client], the HTTP helper all adapters use to
// talk to token endpoints: bounded bodies, timeouts, no redirects, form or
// JSON encoding, envelope unwrapping and strict reply validation.
//
// Package provider imports nothing else from Gatehouse. Adapters in
// gatehouse/adapters and user-written adapters depend on it; the session and
// middleware packages consume it.
package provider
