package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// MaxTokenSize bounds the ID and logout tokens Gatehouse parses; longer
// ones are refused before any parsing.
const MaxTokenSize = 16 << 10

// ErrIDToken is matched (errors.Is) by every error for an ID token or
// logout token that failed verification. The provider.Error around it
// names the operation; its Kind is provider.ErrBadResponse at login
// (provider.ErrRejected when Config.IssuerValidator refused the issuer
// with an error matching provider.ErrRejected; provider.ErrInvalidGrant
// on refresh, which ends the login), or provider.ErrUnavailable when the
// OP's keys could not be fetched.
var ErrIDToken = errors.New("oidc: token verification failed")

// nonceMode says how verify treats the nonce claim.
type nonceMode int

const (
	nonceSkip  nonceMode = iota // refresh: not checked (OpenID Connect Core §12.2)
	nonceCheck                  // login: must equal the attempt's nonce, or be absent when none was sent
)

// verified is an ID token that passed every check.
type verified struct {
	raw    string
	token  *gooidc.IDToken
	claims map[string]any
	sid    string
	azp    string
}

// verifyIDToken checks raw as OpenID Connect Core §3.1.3.7 says. The
// signature comes first (go-oidc's verifier, with our key set and the
// accepted algorithms only), then iss, aud, exp (go-oidc), then what
// go-oidc leaves to the caller: iss through IssuerValidator, iat and sub
// present, azp, at_hash, nonce.
func (p *Provider) verifyIDToken(ctx context.Context, raw, accessToken string, mode nonceMode, nonce string) (*verified, error) {
	if len(raw) > MaxTokenSize {
		return nil, fmt.Errorf("%w: ID token larger than %d bytes", ErrIDToken, MaxTokenSize)
	}
	st := &sigState{}
	idt, err := p.verifier.Verify(context.WithValue(ctx, sigStateKey{}, st), raw)
	if err != nil {
		if st.unavailable != nil {
			return nil, fmt.Errorf("%w: the OP's keys: %w", ErrIDToken, st.unavailable)
		}
		return nil, fmt.Errorf("%w: %v", ErrIDToken, err)
	}
	v := &verified{raw: raw, token: idt}
	if err := idt.Claims(&v.claims); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIDToken, err)
	}
	if err := p.checkIssuer(idt.Issuer, v.claims); err != nil {
		return nil, err
	}
	if idt.Subject == "" {
		return nil, fmt.Errorf("%w: no sub", ErrIDToken)
	}
	if _, ok := v.claims["iat"]; !ok || idt.IssuedAt.IsZero() {
		return nil, fmt.Errorf("%w: no iat", ErrIDToken)
	}
	if err := p.checkAzp(idt.Audience, v.claims); err != nil {
		return nil, err
	}
	v.azp, _ = v.claims["azp"].(string)
	if s, present := v.claims["sid"]; present {
		sid, ok := s.(string)
		if !ok {
			return nil, fmt.Errorf("%w: sid is not a string", ErrIDToken)
		}
		v.sid = sid
	}
	if idt.AccessTokenHash != "" {
		// OpenID Connect Core §3.1.3.8: at_hash is optional in the code
		// flow, but when present it must match.
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, fmt.Errorf("%w: at_hash does not match the access token", ErrIDToken)
		}
	}
	if mode == nonceCheck {
		switch {
		case nonce == "" && idt.Nonce != "":
			return nil, fmt.Errorf("%w: nonce present but none was sent", ErrIDToken)
		case nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1:
			return nil, fmt.Errorf("%w: nonce does not match the login's", ErrIDToken)
		}
	}
	return v, nil
}

// errPolicy marks an IssuerValidator refusal that matches
// provider.ErrRejected: the login is rejected, not a bad answer.
var errPolicy = errors.New("issuer not admitted")

// checkIssuer: without an IssuerValidator, iss must equal Config.Issuer
// (go-oidc compared it already; this is the second, identical check).
// With one, the validator alone decides, for every iss — also one equal
// to Config.Issuer, which may be a template no token should carry.
func (p *Provider) checkIssuer(iss string, claims map[string]any) error {
	if p.cfg.IssuerValidator == nil {
		if iss != p.cfg.Issuer {
			return fmt.Errorf("%w: iss %q is not the issuer %q", ErrIDToken, iss, p.cfg.Issuer)
		}
		return nil
	}
	if iss == "" {
		return fmt.Errorf("%w: no iss", ErrIDToken)
	}
	if err := p.cfg.IssuerValidator(iss, claims); err != nil {
		if errors.Is(err, provider.ErrRejected) {
			return fmt.Errorf("%w: %w: iss %q refused: %w", ErrIDToken, errPolicy, iss, err)
		}
		return fmt.Errorf("%w: iss %q refused: %w", ErrIDToken, iss, err)
	}
	return nil
}

// checkAzp: with several audiences azp must be present, and when present
// it must be our client id (OpenID Connect Core §3.1.3.7 steps 4 and 5).
func (p *Provider) checkAzp(aud []string, claims map[string]any) error {
	raw, present := claims["azp"]
	if !present {
		if len(aud) > 1 {
			return fmt.Errorf("%w: several audiences and no azp", ErrIDToken)
		}
		return nil
	}
	if azp, ok := raw.(string); !ok || azp != p.cfg.ClientID {
		return fmt.Errorf("%w: azp is not this client", ErrIDToken)
	}
	return nil
}

// idTokenError wraps a verification failure for op with the kind the
// caller needs: ErrUnavailable when the OP's keys could not be fetched;
// at login (kind ErrBadResponse), ErrRejected for an IssuerValidator's
// policy refusal. On refresh (kind ErrInvalidGrant) a refusal ends the
// login whatever its cause.
func (p *Provider) idTokenError(op string, kind error, err error) error {
	switch {
	case errors.Is(err, provider.ErrUnavailable):
		kind = provider.ErrUnavailable
	case kind == provider.ErrBadResponse && errors.Is(err, errPolicy):
		kind = provider.ErrRejected
	}
	return p.fail(op, kind, err)
}

// Exchange implements provider.RedirectProvider for a login that sent no
// nonce: the ID token must then carry none. The middleware always sends
// one and calls ExchangeNonce.
func (p *Provider) Exchange(ctx context.Context, code, verifier string) (*provider.Token, error) {
	return p.ExchangeNonce(ctx, code, verifier, "")
}

// ExchangeNonce implements provider.NonceExchanger: the code exchange
// (PKCE verifier, client authentication), then the reply's ID token is
// verified — signature, iss, aud, azp, exp, iat, sub, at_hash and the
// login's nonce (constant-time) — before anything else is done with the
// reply. A reply without an ID token is refused. The raw ID token is kept
// in the returned token's Extra[ExtraIDToken].
func (p *Provider) ExchangeNonce(ctx context.Context, code, verifier, nonce string) (*provider.Token, error) {
	tok, fields, err := p.oa.ExchangeReply(ctx, code, verifier)
	if err != nil {
		return nil, err
	}
	raw, _ := fields["id_token"].(string)
	if raw == "" {
		return nil, p.fail("exchange", provider.ErrBadResponse, fmt.Errorf("%w: the token reply carries no id_token", ErrIDToken))
	}
	if _, err := p.verifyIDToken(ctx, raw, tok.AccessToken, nonceCheck, nonce); err != nil {
		return nil, p.idTokenError("exchange", provider.ErrBadResponse, err)
	}
	tok.Extra = map[string]any{ExtraIDToken: raw}
	return tok, nil
}

// Refresh implements provider.Provider (RFC 6749 §6). When the reply
// carries an ID token it is verified as at login (nonce aside) and its iss,
// sub, aud and azp must equal those of the login's ID token (OpenID
// Connect Core §12.2); a failure matches provider.ErrInvalidGrant, so the
// login ends. Without one, the login's ID token is kept.
func (p *Provider) Refresh(ctx context.Context, t *provider.Token) (*provider.Token, error) {
	tok, fields, err := p.oa.RefreshReply(ctx, t)
	if err != nil {
		return nil, err
	}
	var old string
	if t != nil {
		old, _ = t.Extra[ExtraIDToken].(string)
	}
	rawAny, present := fields["id_token"]
	if !present || rawAny == nil {
		if old != "" {
			tok.Extra = map[string]any{ExtraIDToken: old}
		}
		return tok, nil
	}
	raw, ok := rawAny.(string)
	if !ok || raw == "" {
		return nil, p.fail("refresh", provider.ErrInvalidGrant, fmt.Errorf("%w: id_token is not a string", ErrIDToken))
	}
	v, err := p.verifyIDToken(ctx, raw, tok.AccessToken, nonceSkip, "")
	if err != nil {
		return nil, p.idTokenError("refresh", provider.ErrInvalidGrant, err)
	}
	if old != "" {
		prev, err := payloadClaims(old)
		if err != nil {
			return nil, p.fail("refresh", provider.ErrInvalidGrant, err)
		}
		for _, c := range []string{"iss", "sub"} {
			if oauth2.ClaimString(prev, c) != oauth2.ClaimString(v.claims, c) {
				return nil, p.fail("refresh", provider.ErrInvalidGrant, fmt.Errorf("%w: the refreshed ID token's %s differs from the login's", ErrIDToken, c))
			}
		}
		if !sameAudience(audienceOf(prev), v.token.Audience) {
			return nil, p.fail("refresh", provider.ErrInvalidGrant, fmt.Errorf("%w: the refreshed ID token's aud differs from the login's", ErrIDToken))
		}
		if oauth2.ClaimString(prev, "azp") != v.azp {
			return nil, p.fail("refresh", provider.ErrInvalidGrant, fmt.Errorf("%w: the refreshed ID token's azp differs from the login's", ErrIDToken))
		}
	}
	tok.Extra = map[string]any{ExtraIDToken: raw}
	return tok, nil
}

func audienceOf(c map[string]any) []string {
	switch a := c["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, e := range a {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func sameAudience(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// payloadClaims decodes the claims of a JWS this package verified before
// (the ID token kept server-side in the token set). It does not verify
// anything: never use it on a token from elsewhere.
func payloadClaims(raw string) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: stored ID token is malformed", ErrIDToken)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: stored ID token is malformed", ErrIDToken)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: stored ID token is malformed", ErrIDToken)
	}
	return c, nil
}

// idTokenClaims are the claims that describe the authentication itself:
// UserInfo never overrides them in Identity.Raw.
var idTokenClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "sid", "auth_time", "acr", "amr", "jti"}

// Identity implements provider.Provider. The claims come from the ID token
// that Exchange (or Refresh) verified and kept in t; then, unless
// Config.SkipUserInfo is set or the OP has no UserInfo endpoint, UserInfo
// is read with the access token and its sub must equal the ID token's
// (OpenID Connect Core §5.3.2), or the login fails. Identity.Raw holds the
// ID token's claims plus UserInfo's (which never override the ID token's
// iss, sub, aud, exp, iat, nonce, azp, sid, auth_time, acr, amr…);
// Identity.SessionID is the ID token's sid.
func (p *Provider) Identity(ctx context.Context, t *provider.Token) (*provider.Identity, error) {
	var raw string
	if t != nil {
		raw, _ = t.Extra[ExtraIDToken].(string)
	}
	if raw == "" {
		return nil, p.fail("identity", provider.ErrBadResponse, fmt.Errorf("%w: the token set carries no ID token", ErrIDToken))
	}
	claims, err := payloadClaims(raw)
	if err != nil {
		return nil, p.fail("identity", provider.ErrBadResponse, err)
	}
	sub := oauth2.ClaimString(claims, "sub")
	if sub == "" {
		return nil, p.fail("identity", provider.ErrBadResponse, fmt.Errorf("%w: no sub", ErrIDToken))
	}
	if p.eps.UserInfo != "" && !p.cfg.SkipUserInfo {
		resp, err := p.oa.APIRequest(ctx, "identity", p.eps.UserInfo, t, nil, 0)
		if err != nil {
			return nil, err
		}
		ui, err := provider.DecodeJSONObject(resp.Body, "")
		if err != nil {
			return nil, p.fail("identity", provider.ErrBadResponse, fmt.Errorf("UserInfo: %w", err))
		}
		usub, ok := ui["sub"].(string)
		if !ok || usub != sub {
			return nil, p.fail("identity", provider.ErrBadResponse, errors.New("the UserInfo sub differs from the ID token's"))
		}
		for k, v := range ui {
			if !slices.Contains(idTokenClaims, k) {
				if n, isNum := v.(json.Number); isNum {
					// Same number type as the ID token's claims.
					if f, err := n.Float64(); err == nil {
						v = f
					}
				}
				claims[k] = v
			}
		}
	}
	id := &provider.Identity{
		Provider: p.cfg.Name,
		Subject:  sub,
		Name:     oauth2.ClaimString(claims, "name"),
		Picture:  oauth2.ClaimString(claims, "picture"),
		Raw:      claims,
	}
	// Only an address the OP says it verified becomes Identity.Email: apps
	// link accounts by email, and an unverified one is whatever the user
	// typed at the OP (the "nOAuth" account takeover). The claim itself
	// stays in Raw and ClaimsOf for apps that want it.
	if v, _ := claims["email_verified"].(bool); v || claims["email_verified"] == "true" {
		id.Email = oauth2.ClaimString(claims, "email")
	}
	if id.Name == "" {
		id.Name = oauth2.ClaimString(claims, "preferred_username")
	}
	if sid, ok := claims["sid"].(string); ok {
		id.SessionID = sid
	}
	return id, nil
}
