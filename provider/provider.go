package provider

import (
	"context"
	"net/http"
	"net/url"
)

// Provider is what every adapter implements. Implementations must be safe
// for concurrent use by many goroutines and must not keep per-user state:
// everything about a user travels in the *Token passed in.
type Provider interface {
	// Name is the provider's short, URL-safe name (for example "whisk"). It
	// appears in routes (/auth/{name}/login) and in Identity.Provider.
	Name() string

	// SetCredential puts t's access token on an outbound request to the
	// upstream API: "Authorization: Bearer …" for OAuth2 upstreams, a
	// custom header such as X-Auth-Token for others. Never the URL. It
	// must remove any credential header already present (a browser may
	// have sent one).
	SetCredential(r *http.Request, t *Token)

	// Refresh obtains a new token set from t's refresh token. It does not
	// modify t. When the upstream reply carries no refresh token the
	// returned Token keeps t's (RFC 6749 §6). A dead refresh token gives an
	// error matching ErrInvalidGrant; an outage gives one matching
	// ErrUnavailable. A token with no refresh token gives ErrNoRefreshToken.
	Refresh(ctx context.Context, t *Token) (*Token, error)

	// Identity returns the user the token belongs to. Adapters whose
	// token reply already names the user may answer without a network call.
	Identity(ctx context.Context, t *Token) (*Identity, error)
}

// AuthRequest is what a redirect login asks for. The middleware fills it;
// adapters turn it into the upstream's authorization URL.
type AuthRequest struct {
	// State is the CSRF token of this login attempt (from NewState).
	// Always sent.
	State string
	// CodeChallenge is the PKCE S256 challenge (from S256Challenge). Sent
	// with code_challenge_method=S256 whenever non-empty.
	CodeChallenge string
	// Scopes to request. Nil means the adapter's configured scopes.
	Scopes []string
	// Nonce is the OpenID Connect nonce of this login attempt (from
	// NewState), sent as "nonce" when non-empty. Only providers that verify
	// it (see NonceExchanger) are given one.
	Nonce string
	// Params are extra query parameters (for example identity_provider).
	// They never override the parameters the flow itself sets (client_id,
	// redirect_uri, response_type, state, scope, code_challenge*).
	Params url.Values
}

// RedirectProvider is an OAuth2 authorization-code style provider: the
// browser is sent to AuthURL and comes back to the callback with a code.
type RedirectProvider interface {
	Provider
	// AuthURL returns the absolute URL to send the browser to. It never
	// contains a client secret.
	AuthURL(req AuthRequest) string
	// Exchange trades an authorization code and its PKCE verifier for a
	// token set. A used, expired or unknown code matches ErrInvalidGrant.
	Exchange(ctx context.Context, code, verifier string) (*Token, error)
}

// NonceExchanger is a RedirectProvider that binds each login to a nonce
// (OpenID Connect Core 1.0 §3.1.2.1, §3.1.3.7). The middleware then puts a
// fresh, single-use nonce in AuthRequest.Nonce, keeps it with the login
// attempt, and calls ExchangeNonce instead of Exchange with that nonce; the
// provider must refuse a token set whose ID token does not carry it.
type NonceExchanger interface {
	RedirectProvider
	// ExchangeNonce is Exchange for a login that sent nonce.
	ExchangeNonce(ctx context.Context, code, verifier, nonce string) (*Token, error)
}

// ImplicitProvider is a RedirectProvider that can also do the OAuth2
// implicit grant (token returned in the URL fragment). Gatehouse uses it
// only when the application opts in explicitly: the grant is deprecated
// (RFC 9700 §2.1.2) because an injected token cannot be detected.
type ImplicitProvider interface {
	RedirectProvider
	// ImplicitAuthURL is AuthURL with response_type=token.
	ImplicitAuthURL(req AuthRequest) string
	// TokenFromFragment validates the values of the redirect's fragment
	// (already parsed, state already checked by the caller) and returns the
	// token. A fragment carrying error= returns that error typed.
	TokenFromFragment(values url.Values) (*Token, error)
}

// PasswordProvider logs a user in with a username and password sent to the
// upstream (Wazo style). Implementations must not keep or log the password.
type PasswordProvider interface {
	Provider
	// Login returns a token set for the user. Wrong credentials match
	// ErrInvalidCredentials.
	Login(ctx context.Context, username, password string) (*Token, error)
}

// Revoker is implemented by providers that can revoke tokens at logout.
// Revoke must treat "already revoked / unknown token" as success.
type Revoker interface {
	Revoke(ctx context.Context, t *Token) error
}

// RefreshedToken returns fresh with old's refresh token kept when the
// upstream's refresh reply carried none, as RFC 6749 §6 allows.
func RefreshedToken(old, fresh *Token) *Token {
	if fresh.RefreshToken == "" && old != nil {
		fresh.RefreshToken = old.RefreshToken
	}
	return fresh
}

// APIHoster is implemented by providers that know which hosts serve their
// API. APIHosts returns the hosts (host or host:port, as in URL.Host) that
// may receive the user's credential: the middleware's upstream client
// (middleware.Auth.Client) refuses to send the credential anywhere else.
// Hosts are compared exactly, ignoring case; a port is significant and
// there is no subdomain or suffix matching. An empty result declares no
// hosts.
type APIHoster interface {
	APIHosts() []string
}

// HostOf returns the URL.Host of rawURL, or "" when rawURL does not parse
// or has no host. Adapters use it to build their APIHosts.
func HostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Host
}
