package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// EventBackChannelLogout is the member a logout token's "events" claim
// must hold (OpenID Connect Back-Channel Logout 1.0 §2.4).
const EventBackChannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// EndSessionURL returns where to send the browser after the local logout
// to end the login at the OP too (OpenID Connect RP-Initiated Logout 1.0
// §2): the OP's end_session_endpoint with id_token_hint (the login's ID
// token, from t), client_id and, when Config.PostLogoutRedirectURL is set,
// post_logout_redirect_uri and state, which the OP echoes on the way back.
// It returns "" when the OP has no end_session_endpoint. The URL carries no
// access or refresh token. It implements the middleware's
// EndSessionProvider.
func (p *Provider) EndSessionURL(t *provider.Token, state string) string {
	if p.eps.EndSession == "" {
		return ""
	}
	q := url.Values{}
	if t != nil {
		if raw, _ := t.Extra[ExtraIDToken].(string); raw != "" {
			q.Set("id_token_hint", raw)
		}
	}
	q.Set("client_id", p.cfg.ClientID)
	if p.cfg.PostLogoutRedirectURL != "" {
		q.Set("post_logout_redirect_uri", p.cfg.PostLogoutRedirectURL)
		if state != "" {
			q.Set("state", state)
		}
	}
	sep := "?"
	if strings.Contains(p.eps.EndSession, "?") {
		sep = "&"
	}
	return p.eps.EndSession + sep + q.Encode()
}

// PostLogoutRedirectURL returns Config.PostLogoutRedirectURL.
func (p *Provider) PostLogoutRedirectURL() string { return p.cfg.PostLogoutRedirectURL }

// LogoutClaims are the claims of a verified back-channel logout token.
type LogoutClaims struct {
	// Issuer is the token's iss.
	Issuer string
	// Subject is the user whose sessions end (sub); may be empty when
	// SessionID is set.
	Subject string
	// SessionID is the OP session that ended (sid); may be empty when
	// Subject is set. It matches provider.Identity.SessionID.
	SessionID string
	// TokenID is the token's jti: refuse a second token with the same one
	// (replay) until Expiry.
	TokenID string
	// Audience is the token's aud (it contains the client id).
	Audience []string
	// IssuedAt and Expiry are iat and exp.
	IssuedAt, Expiry time.Time
}

// VerifyLogoutToken verifies a back-channel logout token as OpenID Connect
// Back-Channel Logout 1.0 §2.6 says: the signature first (as for ID
// tokens: the OP's keys, asymmetric algorithms only), then iss (as for ID
// tokens, IssuerValidator included), aud contains the client id, iat and
// exp present and exp not passed, "events" an object holding
// EventBackChannelLogout, no nonce, sub and/or sid, jti present. The
// caller checks that jti was not seen before. Errors match ErrIDToken.
func (p *Provider) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutClaims, error) {
	if len(raw) > MaxTokenSize {
		return nil, fmt.Errorf("%w: logout token larger than %d bytes", ErrIDToken, MaxTokenSize)
	}
	st := &sigState{}
	lt, err := p.verifier.VerifyLogout(context.WithValue(ctx, sigStateKey{}, st), raw)
	if err != nil {
		if st.unavailable != nil {
			return nil, fmt.Errorf("%w: the OP's keys: %w", ErrIDToken, st.unavailable)
		}
		return nil, fmt.Errorf("%w: %v", ErrIDToken, err)
	}
	var claims map[string]any
	if err := lt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIDToken, err)
	}
	if err := p.checkIssuer(lt.Issuer, claims); err != nil {
		return nil, err
	}
	if _, ok := claims["iat"]; !ok || lt.IssuedAt.IsZero() {
		return nil, fmt.Errorf("%w: logout token has no iat", ErrIDToken)
	}
	var ev struct {
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := lt.Claims(&ev); err != nil {
		return nil, fmt.Errorf("%w: events is not an object", ErrIDToken)
	}
	if m := ev.Events[EventBackChannelLogout]; len(m) == 0 || m[0] != '{' {
		return nil, fmt.Errorf("%w: events has no %s object", ErrIDToken, EventBackChannelLogout)
	}
	for _, c := range []string{"sub", "sid"} {
		if v, present := claims[c]; present {
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("%w: %s is not a string", ErrIDToken, c)
			}
		}
	}
	return &LogoutClaims{
		Issuer:    lt.Issuer,
		Subject:   lt.Subject,
		SessionID: lt.SessionID,
		TokenID:   lt.TokenID,
		Audience:  lt.Audience,
		IssuedAt:  lt.IssuedAt,
		Expiry:    lt.Expiry,
	}, nil
}

// VerifyBackChannelLogout is VerifyLogoutToken in the shape of the
// middleware's BackChannelLogoutProvider: the subject and OP session whose
// logins end, the jti to refuse again until expiry.
func (p *Provider) VerifyBackChannelLogout(ctx context.Context, logoutToken string) (subject, sessionID, tokenID string, expiry time.Time, err error) {
	c, err := p.VerifyLogoutToken(ctx, logoutToken)
	if err != nil {
		return "", "", "", time.Time{}, err
	}
	return c.Subject, c.SessionID, c.TokenID, c.Expiry, nil
}
