package wazotest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// accessToken is an issued token and its session (one session per token).
type accessToken struct {
	token, session string
	user           User
	issued, expiry time.Time
	metadata       map[string]any
	mobile         bool
	remoteAddr     string
	userAgent      string
	origin         string // the refresh token it came from or created with
}

// refreshToken is one (user, client_id) refresh token.
type refreshToken struct {
	token, clientID string
	userUUID        string
	tenantUUID      string
	mobile          bool
	created         time.Time
	metadata        map[string]any
}

// tokenBody is POST /token's body after validation.
type tokenBody struct {
	expiration   int64
	hasExp       bool
	offline      bool
	clientID     string
	refreshToken string
}

const authFailed = "Authentication Failed"

// handleToken is POST {base}/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeLegacy(w, now, http.StatusBadRequest, badRequest)
		return
	}
	body, reason := parseTokenBody(raw)
	if reason != "" {
		writeLegacy(w, now, http.StatusBadRequest, reason)
		return
	}
	mobile := r.Header.Get("Wazo-Session-Type") == "mobile"

	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(now)
	var user User
	var origin *refreshToken
	if body.refreshToken != "" {
		// The refresh token is checked first, before any password.
		rt := s.refresh[body.refreshToken]
		if rt == nil || rt.clientID != body.clientID {
			writeLegacy(w, now, http.StatusUnauthorized, authFailed)
			return
		}
		u, ok := s.userByUUID(rt.userUUID)
		if !ok {
			writeLegacy(w, now, http.StatusUnauthorized, authFailed)
			return
		}
		user, origin, mobile = u, rt, rt.mobile
	} else {
		u, ok := s.checkBasic(r)
		if !ok {
			writeLegacy(w, now, http.StatusUnauthorized, authFailed)
			return
		}
		user = u
	}
	if s.liveSessionsLocked(user.UUID) >= s.cfg.MaxSessions {
		writeLegacy(w, now, http.StatusTooManyRequests, "User "+user.UUID+" has exceeded the maximum number of active sessions")
		return
	}
	revoked := 0
	newRefresh := ""
	if body.offline {
		origin, revoked = s.offlineRefreshLocked(user, body.clientID, mobile, now)
		newRefresh = origin.token
	}
	life := s.cfg.DefaultLifetime
	if body.hasExp {
		life = time.Duration(body.expiration) * time.Second
	}
	at := &accessToken{
		token:      NewUUID(),
		session:    NewUUID(),
		user:       user,
		issued:     now,
		expiry:     now.Add(life),
		metadata:   s.metadata(user),
		mobile:     mobile,
		remoteAddr: remoteHost(r),
		userAgent:  r.UserAgent(),
	}
	if origin != nil {
		at.origin = origin.token
		for k, v := range origin.metadata {
			at.metadata[k] = v
		}
	}
	if body.refreshToken != "" {
		s.markReplacedLocked(body.refreshToken)
	}
	s.access[at.token] = at
	data := s.tokenFields(at)
	if newRefresh != "" {
		data["refresh_token"] = newRefresh
	}
	w.Header().Set("Wazo-Sessions-Revoked", itoa(revoked))
	writeData(w, http.StatusOK, data)
}

// offlineRefreshLocked returns the (user, client_id) refresh token,
// creating it when needed. A mobile login replaces it and revokes the
// user's other mobile refresh tokens with their sessions; the count of
// sessions revoked is returned.
func (s *Server) offlineRefreshLocked(user User, clientID string, mobile bool, now time.Time) (*refreshToken, int) {
	revoked := 0
	for tok, rt := range s.refresh {
		if rt.userUUID != user.UUID {
			continue
		}
		same := rt.clientID == clientID
		if same && !mobile {
			return rt, 0
		}
		if mobile && (same || rt.mobile) {
			delete(s.refresh, tok)
			revoked += s.revokeSessionsLocked(tok)
		}
	}
	rt := &refreshToken{
		token:      NewUUID(),
		clientID:   clientID,
		userUUID:   user.UUID,
		tenantUUID: user.TenantUUID,
		mobile:     mobile,
		created:    now,
		metadata:   map[string]any{},
	}
	s.refresh[rt.token] = rt
	return rt, revoked
}

func (s *Server) revokeSessionsLocked(refresh string) int {
	n := 0
	for tok, at := range s.access {
		if at.origin == refresh {
			delete(s.access, tok)
			n++
		}
	}
	return n
}

// checkBasic authenticates the HTTP Basic credentials: user name or e-mail,
// password compared in constant time, UTF-8 with a Latin-1 fallback.
func (s *Server) checkBasic(r *http.Request) (User, bool) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		return User{}, false
	}
	name, pass = latin1(name), latin1(pass)
	for _, u := range s.users {
		if name != u.Username && (u.Email == "" || name != u.Email) {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(pass), []byte(u.Password)) == 1 {
			return u, true
		}
		return User{}, false
	}
	return User{}, false
}

// latin1 decodes s as Latin-1 when it is not valid UTF-8.
func latin1(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

func (s *Server) userByUUID(id string) (User, bool) {
	for _, u := range s.users {
		if u.UUID == id {
			return u, true
		}
	}
	return User{}, false
}

func (s *Server) metadata(u User) map[string]any {
	m := map[string]any{}
	for k, v := range u.Metadata {
		m[k] = v
	}
	m["uuid"] = u.UUID
	m["tenant_uuid"] = u.TenantUUID
	m["auth_id"] = u.UUID
	m["pbx_user_uuid"] = u.UUID
	m["xivo_uuid"] = s.cfg.XivoUUID
	m["purpose"] = "user"
	return m
}

// tokenFields is the reply object for at, without refresh_token.
func (s *Server) tokenFields(at *accessToken) map[string]any {
	loc := s.cfg.Location
	return map[string]any{
		"token":          at.token,
		"auth_id":        at.user.UUID,
		"xivo_user_uuid": at.user.UUID,
		"xivo_uuid":      s.cfg.XivoUUID,
		"issued_at":      pyISO(at.issued.In(loc)),
		"expires_at":     pyISO(at.expiry.In(loc)),
		"utc_issued_at":  utcISO(at.issued),
		"utc_expires_at": utcISO(at.expiry),
		"acl":            append([]string{}, at.user.ACL...),
		"metadata":       at.metadata,
		"session_uuid":   at.session,
		"remote_addr":    at.remoteAddr,
		"user_agent":     at.userAgent,
	}
}

// liveSessionsLocked counts the user's unexpired tokens.
func (s *Server) liveSessionsLocked(userUUID string) int {
	now := s.now()
	n := 0
	for _, at := range s.access {
		if at.user.UUID == userUUID && now.Before(at.expiry) {
			n++
		}
	}
	return n
}

// purgeLocked drops expired tokens (wazo-auth does it every minute; an
// expired token is unknown either way).
func (s *Server) purgeLocked(now time.Time) {
	for tok, at := range s.access {
		if !now.Before(at.expiry) {
			delete(s.access, tok)
		}
	}
}

// lookupLocked returns the live access token tok (case-insensitive, as the
// UUID route converter normalises it).
//
// Every lookup is a presentation of tok: ReplacedPresentations counts
// those of replaced tokens.
func (s *Server) lookupLocked(tok string) *accessToken {
	tok = strings.ToLower(tok)
	s.noteReplacedLocked(tok)
	at := s.access[tok]
	if at == nil || !s.now().Before(at.expiry) {
		return nil
	}
	return at
}

func (s *Server) now() time.Time { return s.cfg.Now().Truncate(time.Microsecond) }

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// parseTokenBody validates POST /token's body as wazo-auth's schema does.
// It returns the Python-repr reason of a 400 when the body is refused.
func parseTokenBody(raw []byte) (tokenBody, string) {
	var out tokenBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return out, badRequest
	}
	if v == nil {
		v = map[string]any{}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return out, pyErrors([]fieldError{{"_schema", "Invalid input type."}})
	}
	var errs []fieldError
	addErr := func(field, msg string) { errs = append(errs, fieldError{field, msg}) }
	str := func(field string, minLen, maxLen int) (string, bool) {
		x, present := obj[field]
		if !present {
			return "", false
		}
		s, ok := x.(string)
		switch {
		case x == nil:
			addErr(field, "Field may not be null.")
		case !ok:
			addErr(field, "Not a valid string.")
		case maxLen > 0 && (len(s) < minLen || len(s) > maxLen):
			addErr(field, "Length must be between "+itoa(minLen)+" and "+itoa(maxLen)+".")
		default:
			return s, true
		}
		return "", false
	}
	if x, present := obj["expiration"]; present {
		n, isNum := x.(json.Number)
		i, err := n.Int64()
		switch {
		case x == nil:
			addErr("expiration", "Field may not be null.")
		case !isNum || err != nil || strings.ContainsAny(string(n), ".eE"):
			addErr("expiration", "Not a valid integer.")
		case i < 1 || i > MaxExpiration:
			addErr("expiration", "Must be greater than or equal to 1 and less than or equal to 315360000.")
		default:
			out.expiration, out.hasExp = i, true
		}
	}
	if at, ok := str("access_type", 0, 0); ok {
		switch at {
		case "online":
		case "offline":
			out.offline = true
		default:
			addErr("access_type", "Must be one of: online, offline.")
		}
	}
	_, _ = str("backend", 0, 0)
	out.clientID, _ = str("client_id", 1, 1024)
	out.refreshToken, _ = str("refresh_token", 0, 0)
	tenant, _ := str("tenant_id", 0, 0)
	domain, _ := str("domain_name", 0, 0)
	saml, _ := str("saml_session_id", 1, 1024)
	if len(errs) > 0 {
		return out, pyErrors(errs)
	}
	// Schema-level rules run once the fields are valid (marshmallow's
	// skip_on_field_errors). Their wording is ours: the adapter must not
	// depend on it.
	_, hasClient := obj["client_id"]
	_, hasRefresh := obj["refresh_token"]
	switch {
	case out.offline && !hasClient:
		addErr("_schema", "client_id is required when access_type is offline")
	case out.offline && hasRefresh:
		addErr("_schema", "refresh_token cannot be used with access_type offline")
	case hasRefresh && !hasClient:
		addErr("_schema", "client_id is required with refresh_token")
	case tenant != "" && domain != "":
		addErr("_schema", "tenant_id and domain_name are mutually exclusive")
	case saml != "" && hasRefresh:
		addErr("_schema", "saml_session_id cannot be used with refresh_token")
	}
	if len(errs) > 0 {
		return out, pyErrors(errs)
	}
	return out, ""
}
