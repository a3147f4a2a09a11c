package oauth2test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Error is an OAuth2 error the server answers with (RFC 6749 §5.2).
type Error struct {
	// Status is the HTTP status. Default: 400, or 401 for invalid_client
	// and invalid_token.
	Status int
	// Code is the error code, e.g. "invalid_grant".
	Code string
	// Description is the error_description. Optional.
	Description string
	// URI is the error_uri. Optional.
	URI string
}

func (e *Error) Error() string {
	if e.Description == "" {
		return "oauth2test: " + e.Code
	}
	return "oauth2test: " + e.Code + ": " + e.Description
}

func (e *Error) status() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Code == "invalid_client" || e.Code == "invalid_token":
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// WriteError writes e as an RFC 6749 §5.2 JSON error body with its status
// (and no-store caching headers). It is the default Config.RenderError.
func WriteError(w http.ResponseWriter, e *Error) {
	body := map[string]string{"error": e.Code}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	if e.URI != "" {
		body["error_uri"] = e.URI
	}
	WriteJSON(w, e.status(), body)
}

// renderError fills the status and, for 401s, the WWW-Authenticate header
// (RFC 6749 §5.2, RFC 6750 §3), then calls the configured renderer.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, e *Error) {
	e.Status = e.status()
	if e.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		if e.Code == "invalid_token" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="invalid_token"`, s.cfg.Realm))
		} else {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm=%q`, s.cfg.Realm))
		}
	}
	s.cfg.RenderError(w, r, e)
}

// WriteJSON writes v as JSON with status and the Cache-Control: no-store
// and Pragma: no-cache headers RFC 6749 §5.1 asks of token replies.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "oauth2test: cannot encode reply", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// TokenReply is a successful token reply before rendering.
type TokenReply struct {
	AccessToken string
	// TokenType is "Bearer".
	TokenType string
	// RefreshToken is empty when none is issued (or, with NoRotation, on
	// a refresh).
	RefreshToken string
	// ExpiresIn is the access token lifetime.
	ExpiresIn time.Duration
	// Scopes are the granted scopes.
	Scopes []string
	// Extra fields to add to the reply.
	Extra map[string]any
	// Subject is the user the tokens belong to (not rendered by default).
	Subject string
}

// Fields returns the RFC 6749 §5.1 reply fields: access_token, token_type,
// expires_in (seconds), refresh_token and scope (space separated) when
// present, plus Extra. Renderers edit the map and pass it to WriteJSON.
func (t *TokenReply) Fields() map[string]any {
	m := map[string]any{"access_token": t.AccessToken, "token_type": t.TokenType}
	if t.ExpiresIn > 0 {
		m["expires_in"] = int64(t.ExpiresIn / time.Second)
	}
	if t.RefreshToken != "" {
		m["refresh_token"] = t.RefreshToken
	}
	if len(t.Scopes) > 0 {
		m["scope"] = strings.Join(t.Scopes, " ")
	}
	for k, v := range t.Extra {
		m[k] = v
	}
	return m
}

// WriteToken writes reply as RFC 6749 §5.1 JSON with status 200. It is the
// default Config.RenderToken.
func WriteToken(w http.ResponseWriter, reply *TokenReply) {
	WriteJSON(w, http.StatusOK, reply.Fields())
}

// TokenInfo describes a live token.
type TokenInfo struct {
	// ClientID is the client the token was issued to.
	ClientID string
	// User is the resource owner.
	User User
	// Scopes are the granted scopes.
	Scopes []string
	// Expiry is when the token dies; zero means never.
	Expiry time.Time
}

// HasScope reports whether scope was granted.
func (i TokenInfo) HasScope(scope string) bool { return slices.Contains(i.Scopes, scope) }

type tokenRecord struct {
	clientID string
	user     User
	scopes   []string
	expiry   time.Time
	family   string
	rotated  bool // a refresh token replaced by a newer one
	seq      int  // issue order of the token set (LenientRotation)
}

func (t *tokenRecord) info() TokenInfo {
	return TokenInfo{ClientID: t.clientID, User: t.user, Scopes: slices.Clone(t.scopes), Expiry: t.expiry}
}

type codeGrant struct {
	clientID      string
	redirectURI   string
	redirectGiven bool
	challenge     string
	scopes        []string
	user          User
	expiry        time.Time
	used          bool
	family        string
}

// newFamily must be called with s.mu held.
func (s *Server) newFamily() string {
	s.nextFam++
	return strconv.Itoa(s.nextFam)
}

// IssueToken mints a token set for user and client directly, as a grant
// would (a refresh token too unless the configuration says otherwise). Fakes
// use it for grants of their own; tests use it to start from a logged-in
// state.
func (s *Server) IssueToken(clientID string, user User, scopes []string) *TokenReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(s.newFamily(), clientID, user, scopes, s.wantsRefresh(scopes))
}

func (s *Server) wantsRefresh(scopes []string) bool {
	if s.cfg.NoRefreshTokens {
		return false
	}
	return s.cfg.RefreshScope == "" || slices.Contains(scopes, s.cfg.RefreshScope)
}

// issueLocked must be called with s.mu held.
func (s *Server) issueLocked(family, clientID string, user User, scopes []string, withRefresh bool) *TokenReply {
	now := s.now()
	s.nextSeq++
	reply := &TokenReply{
		AccessToken: newSecret(),
		TokenType:   "Bearer",
		ExpiresIn:   s.cfg.AccessTTL,
		Scopes:      slices.Clone(scopes),
		Subject:     user.Subject,
	}
	s.access[reply.AccessToken] = &tokenRecord{clientID: clientID, user: user, scopes: slices.Clone(scopes), expiry: now.Add(s.cfg.AccessTTL), family: family, seq: s.nextSeq}
	if withRefresh {
		reply.RefreshToken = newSecret()
		rec := &tokenRecord{clientID: clientID, user: user, scopes: slices.Clone(scopes), family: family, seq: s.nextSeq}
		if s.cfg.RefreshTTL > 0 {
			rec.expiry = now.Add(s.cfg.RefreshTTL)
		}
		s.refresh[reply.RefreshToken] = rec
	}
	return reply
}

// revokeFamilyLocked kills every token of family. s.mu must be held.
func (s *Server) revokeFamilyLocked(family string) {
	s.revoked[family] = true
	for k, t := range s.access {
		if t.family == family {
			delete(s.access, k)
		}
	}
	for k, t := range s.refresh {
		if t.family == family {
			delete(s.refresh, k)
		}
	}
}

func (s *Server) live(t *tokenRecord) bool {
	return t != nil && !s.revoked[t.family] && (t.expiry.IsZero() || s.now().Before(t.expiry))
}

// LookupAccessToken returns what a live (issued, unexpired, unrevoked)
// access token grants. Fake API handlers use it to check callers.
//
// Every lookup counts as a presentation of token: one whose grant was
// refreshed since it was issued is counted in ReplacedPresentations.
func (s *Server) LookupAccessToken(token string) (TokenInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteReplacedLocked(token)
	t := s.access[token]
	if !s.live(t) {
		return TokenInfo{}, false
	}
	if s.cfg.LenientRotation {
		// The first use of a newer access token retires the refresh
		// tokens it superseded.
		maps.DeleteFunc(s.refresh, func(_ string, r *tokenRecord) bool {
			return r.family == t.family && r.rotated && r.seq < t.seq
		})
	}
	return t.info(), true
}

// LookupRefreshToken returns what a live refresh token grants. A
// rotated-out refresh token is not live (with LenientRotation: once
// retired).
func (s *Server) LookupRefreshToken(token string) (TokenInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.refresh[token]
	if !s.live(t) || (t.rotated && !s.cfg.LenientRotation) {
		return TokenInfo{}, false
	}
	return t.info(), true
}

// BearerToken reads "Authorization: Bearer <token>" (scheme compared
// ignoring case) and looks the token up. ok is false when the header is
// missing, malformed, or names no live access token. A token passed in the
// query string is never accepted (and is noted in Warnings).
func (s *Server) BearerToken(r *http.Request) (TokenInfo, bool) {
	if r.URL.Query().Has("access_token") {
		s.warn("access token sent in the query string of %s", r.URL.Path)
	}
	scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return TokenInfo{}, false
	}
	return s.LookupAccessToken(strings.TrimSpace(tok))
}

// RevokeToken revokes an access or refresh token as the revocation
// endpoint would (a refresh token takes its whole family with it). It
// reports whether the token was known.
func (s *Server) RevokeToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokeLocked(token, "")
}

func (s *Server) revokeLocked(token, clientID string) bool {
	if t, ok := s.refresh[token]; ok && (clientID == "" || t.clientID == clientID) {
		s.revokeFamilyLocked(t.family)
		return true
	}
	if t, ok := s.access[token]; ok && (clientID == "" || t.clientID == clientID) {
		delete(s.access, token)
		return true
	}
	return false
}

// AccessTokenExpired reports whether token is an access token the server
// issued, did not revoke, and that has outlived its lifetime. Fakes use it
// to answer "expired" rather than "unknown" (as Whisk's auth.tokenExpired
// versus auth.tokenNotFound).
func (s *Server) AccessTokenExpired(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.access[token]
	return t != nil && !s.revoked[t.family] && !t.expiry.IsZero() && !s.now().Before(t.expiry)
}
