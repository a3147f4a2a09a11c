package oidctest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// EventBackChannelLogout is the events member of a logout token.
const EventBackChannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// handleEndSession is RP-Initiated Logout 1.0 §2–3: id_token_hint must be
// an ID token this OP signed for client_id (expiry not checked, as the
// spec allows); post_logout_redirect_uri must be registered for that
// client. The OP session (sid) ends, and the browser goes back with
// state. Anything wrong gets a 400 page and ends nothing.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	if s.enter(w, r, EndpointEndSession) {
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
		if r.ParseForm() == nil {
			q = r.PostForm
		}
	}
	var claims map[string]any
	if hint := q.Get("id_token_hint"); hint != "" {
		c, err := s.verifyOwn(hint)
		if err != nil {
			http.Error(w, "invalid id_token_hint", http.StatusBadRequest)
			return
		}
		claims = c
	}
	clientID := q.Get("client_id")
	if claims != nil {
		aud := audience(claims["aud"])
		if clientID == "" && len(aud) == 1 {
			clientID = aud[0]
		}
		if !slices.Contains(aud, clientID) {
			http.Error(w, "id_token_hint was not issued to client_id", http.StatusBadRequest)
			return
		}
	}
	pl := q.Get("post_logout_redirect_uri")
	if pl != "" {
		c := s.findClient(clientID)
		if c == nil || !slices.Contains(c.PostLogoutRedirectURIs, pl) {
			http.Error(w, "post_logout_redirect_uri is not registered for this client", http.StatusBadRequest)
			return
		}
	}
	if sid, _ := claims["sid"].(string); sid != "" {
		s.mu.Lock()
		if _, live := s.sessions[sid]; live {
			delete(s.sessions, sid)
			s.endedSids = append(s.endedSids, sid)
		}
		s.mu.Unlock()
	}
	if pl == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>Signed out</title><p>You are signed out of the test OpenID Provider.</p>")
		return
	}
	v := url.Values{}
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	http.Redirect(w, r, redirectWith(pl, v), http.StatusFound)
}

// verifyOwn checks a JWS this server signed (any of its published keys)
// and returns its claims.
func (s *Server) verifyOwn(raw string) (map[string]any, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errors.New("malformed")
	}
	s.mu.Lock()
	keys := slices.Clone(s.keys)
	s.mu.Unlock()
	for _, k := range keys {
		if payload, err := jws.Verify(k.priv.Public()); err == nil {
			var c map[string]any
			if json.Unmarshal(payload, &c) != nil || c["iss"] != s.Issuer {
				return nil, errors.New("bad claims")
			}
			return c, nil
		}
	}
	return nil, errors.New("bad signature")
}

func audience(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, e := range a {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Sessions returns the OP's live session ids (sid) and, for each, its
// subject.
func (s *Server) Sessions() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.sessions))
	for k, v := range s.sessions {
		out[k] = v
	}
	return out
}

// EndedSessions returns the sids ended through end_session, oldest first.
func (s *Server) EndedSessions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.endedSids)
}

// LogoutClaims returns the claims of a correct back-channel logout token
// (Back-Channel Logout 1.0 §2.4) for clientID naming sub and/or sid: iss,
// aud, iat, exp (2 minutes), a fresh jti and the events claim (an object
// whose one member is EventBackChannelLogout, an empty object), never a
// nonce. Edit the map to make it misbehave, then sign it with
// SignLogoutToken (or SignJWT, for a token typed "JWT").
func (s *Server) LogoutClaims(clientID, sub, sid string) map[string]any {
	now := s.now()
	c := map[string]any{
		"iss":    s.Issuer,
		"aud":    clientID,
		"iat":    unix(now),
		"exp":    unix(now.Add(2 * time.Minute)),
		"jti":    randomString(16),
		"events": map[string]any{EventBackChannelLogout: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

// SendLogoutToken POSTs logout_token=token (form encoded, as Back-Channel
// Logout 1.0 §2.5 says) to the relying party's back-channel logout URL
// and returns the status and body of its answer.
func (s *Server) SendLogoutToken(ctx context.Context, hc *http.Client, rpURL, token string) (int, string, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rpURL, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), nil
}

// BackChannelLogout ends the OP session sid (when live) and sends a
// correct logout token for clientID naming sub and sid to rpURL.
func (s *Server) BackChannelLogout(ctx context.Context, hc *http.Client, rpURL, clientID, sub, sid string) (int, string, error) {
	s.mu.Lock()
	if _, live := s.sessions[sid]; live {
		delete(s.sessions, sid)
		s.endedSids = append(s.endedSids, sid)
	}
	s.mu.Unlock()
	return s.SendLogoutToken(ctx, hc, rpURL, s.SignLogoutToken(s.LogoutClaims(clientID, sub, sid)))
}

// SignLogoutToken signs claims as a logout token: like SignJWT, but with
// the header typ "logout+jwt" that Back-Channel Logout 1.0 §2.4 asks OPs
// to use, so that an ID token can never pass for a logout token nor the
// other way round. The signing misbehaviours apply.
func (s *Server) SignLogoutToken(claims map[string]any) string {
	return s.sign(claims, s.misbehaviour(), "logout+jwt")
}

// IDTokenClaimsOf decodes (without verifying) the payload of a JWS, for
// tests that look into an ID token.
func IDTokenClaimsOf(raw string) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("oidctest: not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var c map[string]any
	return c, json.Unmarshal(b, &c)
}
