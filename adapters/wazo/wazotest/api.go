package wazotest

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

var uuidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// pathToken returns the {token} segment, or answers the framework's 404
// when it is not a UUID (wazo-auth routes it as <uuid:token>).
func (s *Server) pathToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok := r.PathValue("token")
	if !uuidRE.MatchString(tok) {
		notFound(w)
		return "", false
	}
	return strings.ToLower(tok), true
}

// notFound is the framework's 404 for an unrouted URL.
func notFound(w http.ResponseWriter) {
	oauth2test.WriteJSON(w, http.StatusNotFound, map[string]string{"message": notFoundURL})
}

// handleValidate is GET and HEAD {base}/token/{token}: 404 for unknown,
// expired or refresh tokens; 403 when scope= is not granted or tenant= is
// not the token's.
func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.pathToken(w, r)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	at := s.lookupLocked(tok)
	var data map[string]any
	if at != nil {
		data = s.tokenFields(at)
	}
	s.mu.Unlock()
	if at == nil {
		writeLegacy(w, now, http.StatusNotFound, "No such token")
		return
	}
	if scope := r.URL.Query().Get("scope"); scope != "" && !aclAllows(at.user.ACL, scope, at.user.UUID, at.session) {
		writeLegacy(w, now, http.StatusForbidden, "Unauthorized for "+scope)
		return
	}
	if tenant := r.URL.Query().Get("tenant"); tenant != "" && tenant != at.user.TenantUUID {
		writeLegacy(w, now, http.StatusForbidden, "Unauthorized for tenant "+tenant)
		return
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeData(w, http.StatusOK, data)
}

// handleRevoke is DELETE {base}/token/{token}: always 200. Refresh tokens
// are not touched.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.pathToken(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.access, tok)
	s.mu.Unlock()
	writeData(w, http.StatusOK, map[string]string{"message": "success"})
}

// handleScopesCheck is POST {base}/token/{token}/scopes/check. It answers
// an object of scope → bool, although wazo-auth's API spec says array.
func (s *Server) handleScopesCheck(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.pathToken(w, r)
	if !ok {
		return
	}
	now := s.now()
	var body struct {
		Scopes     []string `json:"scopes"`
		TenantUUID string   `json:"tenant_uuid"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err := json.Unmarshal(raw, &body); err != nil || body.Scopes == nil {
		writeLegacy(w, now, http.StatusBadRequest, pyErrors([]fieldError{{"scopes", "Missing data for required field."}}))
		return
	}
	s.mu.Lock()
	at := s.lookupLocked(tok)
	s.mu.Unlock()
	if at == nil {
		writeLegacy(w, now, http.StatusNotFound, "No such token")
		return
	}
	if body.TenantUUID != "" && body.TenantUUID != at.user.TenantUUID {
		writeLegacy(w, now, http.StatusForbidden, "Unauthorized for tenant "+body.TenantUUID)
		return
	}
	out := map[string]bool{}
	for _, sc := range body.Scopes {
		out[sc] = aclAllows(at.user.ACL, sc, at.user.UUID, at.session)
	}
	oauth2test.WriteJSON(w, http.StatusOK, map[string]any{"scopes": out})
}

// authToken authenticates X-Auth-Token for a resource endpoint needing
// access; failures are 401 in the APIError shape (for a missing ACL too).
func (s *Server) authToken(w http.ResponseWriter, r *http.Request, access string) (*accessToken, bool) {
	now := s.now()
	tok := r.Header.Get("X-Auth-Token")
	s.mu.Lock()
	at := s.lookupLocked(tok)
	s.mu.Unlock()
	if at == nil {
		writeAPIError(w, now, apiError{status: http.StatusUnauthorized, message: "Unauthorized", errorID: "unauthorized",
			details: map[string]any{"invalid_token": tok, "reason": "not_found_or_expired", "required_access": access}})
		return nil, false
	}
	if !aclAllows(at.user.ACL, access, at.user.UUID, at.session) {
		writeAPIError(w, now, apiError{status: http.StatusUnauthorized, message: "Unauthorized", errorID: "unauthorized",
			details: map[string]any{"invalid_token": tok, "reason": "missing_permission_or_invalid_tenant",
				"required_access": access, "tenant_uuid": at.user.TenantUUID}})
		return nil, false
	}
	return at, true
}

// handleUserTokens is GET {base}/users/me/tokens: the user's refresh tokens
// (a list, not wrapped in data).
func (s *Server) handleUserTokens(w http.ResponseWriter, r *http.Request) {
	at, ok := s.authToken(w, r, "auth.users.me.tokens.read")
	if !ok {
		return
	}
	now := s.now()
	q := r.URL.Query()
	limit, offset := -1, 0
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &limit}, {"offset", &offset}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeAPIError(w, now, apiError{status: http.StatusBadRequest, message: "Invalid list parameter",
					errorID: "invalid-list-param", details: map[string]any{p.name: []string{"Not a valid integer."}}})
				return
			}
			*p.dst = n
		}
	}
	order, dir := q.Get("order"), q.Get("direction")
	if order == "" {
		order = "created_at"
	}
	if (order != "created_at" && order != "client_id" && order != "mobile") || (dir != "" && dir != "asc" && dir != "desc") {
		writeAPIError(w, now, apiError{status: http.StatusBadRequest, message: "Invalid list parameter",
			errorID: "invalid-list-param", details: map[string]any{"order": order, "direction": dir}})
		return
	}
	s.mu.Lock()
	var all []*refreshToken
	for _, rt := range s.refresh {
		if rt.userUUID == at.user.UUID {
			all = append(all, rt)
		}
	}
	s.mu.Unlock()
	total := len(all)
	search := q.Get("search")
	var list []*refreshToken
	for _, rt := range all {
		if search == "" || strings.Contains(rt.clientID, search) {
			list = append(list, rt)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		var less bool
		switch order {
		case "client_id":
			less = a.clientID < b.clientID
		case "mobile":
			less = !a.mobile && b.mobile
		default:
			less = a.created.Before(b.created) || (a.created.Equal(b.created) && a.clientID < b.clientID)
		}
		if dir == "desc" {
			return !less
		}
		return less
	})
	filtered := len(list)
	list = list[min(offset, len(list)):]
	if limit >= 0 && limit < len(list) {
		list = list[:limit]
	}
	items := make([]map[string]any, 0, len(list))
	for _, rt := range list {
		items = append(items, map[string]any{
			"client_id":   rt.clientID,
			"created_at":  pyAwareISO(rt.created),
			"mobile":      rt.mobile,
			"user_uuid":   rt.userUUID,
			"tenant_uuid": rt.tenantUUID,
			"metadata":    map[string]any{},
		})
	}
	oauth2test.WriteJSON(w, http.StatusOK, map[string]any{"total": total, "filtered": filtered, "items": items})
}

// handleDeleteUserToken is DELETE {base}/users/me/tokens/{client_id}: 204.
// Access tokens already issued stay valid.
func (s *Server) handleDeleteUserToken(w http.ResponseWriter, r *http.Request) {
	clientID := r.PathValue("client_id")
	at, ok := s.authToken(w, r, "auth.users.me.tokens."+strings.ReplaceAll(clientID, ".", "_")+".delete")
	if !ok {
		return
	}
	s.mu.Lock()
	found := false
	for tok, rt := range s.refresh {
		if rt.userUUID == at.user.UUID && rt.clientID == clientID {
			delete(s.refresh, tok)
			found = true
		}
	}
	s.mu.Unlock()
	if !found {
		writeAPIError(w, s.now(), apiError{status: http.StatusNotFound,
			message: `unknown refresh_token for client_id "` + clientID + `"`,
			errorID: "cannot-find-refresh-token-matching-client-id", resource: "tokens",
			details: map[string]any{"client_id": clientID}})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// aclAllows reports whether acl grants access, as xivo's AccessCheck does:
// entries are dot-separated patterns where "*" matches one segment and "#"
// anything; the words "me" and "my_session" also match the token's auth_id
// and session; a leading "!" negates, and negations win; the whole string
// must match.
func aclAllows(acl []string, access, authID, session string) bool {
	allowed := false
	for _, entry := range acl {
		neg := strings.HasPrefix(entry, "!")
		if !aclRegexp(strings.TrimPrefix(entry, "!"), authID, session).MatchString(access) {
			continue
		}
		if neg {
			return false
		}
		allowed = true
	}
	return allowed
}

func aclRegexp(pattern, authID, session string) *regexp.Regexp {
	parts := strings.Split(pattern, ".")
	for i, p := range parts {
		switch p {
		case "me":
			parts[i] = "(?:me|" + regexp.QuoteMeta(authID) + ")"
			continue
		case "my_session":
			parts[i] = "(?:my_session|" + regexp.QuoteMeta(session) + ")"
			continue
		}
		q := regexp.QuoteMeta(p)
		q = strings.ReplaceAll(q, `\*`, `[^.#]*`)
		q = strings.ReplaceAll(q, "#", ".*")
		parts[i] = q
	}
	return regexp.MustCompile("^" + strings.Join(parts, `\.`) + "$")
}
