package wazo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// maxTokenLen bounds the token strings accepted from a reply (they are UUIDs
// upstream, 36 bytes).
const maxTokenLen = 4096

// parseReply validates and converts a 2xx reply of POST {base}/token
// received at received. It unwraps {"data": ...}; reads token (required),
// refresh_token (optional), acl (as Scopes), the user (metadata.uuid, else
// auth_id, else xivo_user_uuid; required) and the tenant; and computes the
// expiry as described at expiry. expires_at (server-local time) is never
// read. Errors are plain; the caller wraps them as ErrBadResponse.
func parseReply(body []byte, received time.Time) (*provider.Token, error) {
	obj, err := provider.DecodeJSONObject(body, "data")
	if err != nil {
		return nil, err
	}
	access, err := tokenField(obj, "token", true)
	if err != nil {
		return nil, err
	}
	refresh, err := tokenField(obj, "refresh_token", false)
	if err != nil {
		return nil, err
	}
	exp, err := expiry(obj, received)
	if err != nil {
		return nil, err
	}
	tok := &provider.Token{AccessToken: access, TokenType: TokenType, RefreshToken: refresh, Expiry: exp}
	if raw, ok := obj["acl"]; ok && raw != nil {
		if tok.Scopes, err = provider.ScopeList(raw); err != nil {
			return nil, fmt.Errorf("acl: %w", err)
		}
	}
	meta, _ := obj["metadata"].(map[string]any)
	if raw, ok := obj["metadata"]; ok && raw != nil && meta == nil {
		return nil, errors.New("metadata is not an object")
	}
	extra := map[string]any{}
	user := str(meta, "uuid")
	for _, k := range []string{"auth_id", "xivo_user_uuid"} {
		if user == "" {
			user = str(obj, k)
		}
	}
	if user == "" {
		return nil, errors.New("reply names no user (metadata.uuid, auth_id)")
	}
	extra[ExtraUserUUID] = user
	for k, v := range map[string]string{
		ExtraAuthID:      str(obj, "auth_id"),
		ExtraTenantUUID:  str(meta, "tenant_uuid"),
		ExtraSessionUUID: str(obj, "session_uuid"),
	} {
		if v != "" {
			extra[k] = v
		}
	}
	if meta != nil {
		extra[ExtraMetadata] = meta
	}
	tok.Extra = extra
	return tok, nil
}

// str returns m[k] when it is a string.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// tokenField reads a token string: it must be usable as a header value.
func tokenField(obj map[string]any, k string, required bool) (string, error) {
	raw, ok := obj[k]
	if !ok || raw == nil {
		if required {
			return "", fmt.Errorf("no %s", k)
		}
		return "", nil
	}
	s, ok := raw.(string)
	switch {
	case !ok:
		return "", fmt.Errorf("%s is not a string", k)
	case s == "" && required:
		return "", fmt.Errorf("empty %s", k)
	case len(s) > maxTokenLen:
		return "", fmt.Errorf("%s too long", k)
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", fmt.Errorf("%s holds spaces or control characters", k)
	}
	return s, nil
}

// expiry computes when the access token stops working. wazo-auth sends no
// expires_in; the lifetime it granted is utc_expires_at - utc_issued_at
// (both from its own clock), and the expiry is the local receipt time plus
// that lifetime, so a skewed upstream clock does not matter (refresh is
// scheduled from local receipt time). Without a usable utc_issued_at, utc_expires_at is
// taken as the absolute expiry. utc_expires_at is required.
func expiry(obj map[string]any, received time.Time) (time.Time, error) {
	s, ok := obj["utc_expires_at"].(string)
	if !ok {
		return time.Time{}, errors.New("no utc_expires_at string")
	}
	exp, err := ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("utc_expires_at: %w", err)
	}
	s, ok = obj["utc_issued_at"].(string)
	if !ok {
		return exp, nil
	}
	iss, err := ParseTime(s)
	if err != nil {
		return exp, nil
	}
	life := exp.Sub(iss)
	if life <= 0 {
		return time.Time{}, errors.New("utc_expires_at is not after utc_issued_at")
	}
	return received.Add(min(life, MaxExpiration*time.Second)), nil
}

// ParseTime reads a wazo-auth utc_* timestamp: naive UTC
// "2006-01-02T15:04:05" with an optional fraction of any length (Python's
// isoformat drops it when the microseconds are zero). An explicit "Z" or
// offset, which wazo-auth does not send, is honoured.
func ParseTime(s string) (time.Time, error) {
	if len(s) > 64 {
		return time.Time{}, errors.New("timestamp too long")
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.UTC); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("not an ISO 8601 timestamp")
	}
	return t.UTC(), nil
}

// DecodeError is the provider.ErrorDecoder for wazo-auth. It reads both
// error shapes: the legacy {"reason": ["..."], "timestamp": [...],
// "status_code": n} of the /token endpoints (reason goes to Description)
// and the {"message", "error_id", "details", "resource"} of the other
// endpoints (error_id goes to Code, message to Description). The kind
// follows the status, as wazo-auth's own client does, not the body:
//
//   - 401: provider.ErrUnauthorized (Login makes it ErrInvalidCredentials,
//     Refresh ErrInvalidGrant);
//   - 429: provider.ErrUnavailable with Code "too_many_sessions". wazo-auth
//     caps a user's live sessions (default 100). It is no outage, but it is
//     not the user's fault either and it clears as the user's other tokens
//     expire; crucially the refresh token is still good, so a session must
//     be kept, not ended;
//   - 5xx: provider.ErrUnavailable;
//   - anything else (400 schema errors, 403, 404): provider.ErrRejected.
func DecodeError(status int, _ http.Header, body []byte) *provider.Error {
	e := &provider.Error{}
	var obj struct {
		Reason  any `json:"reason"`
		Message any `json:"message"`
		ErrorID any `json:"error_id"`
	}
	if json.Unmarshal(body, &obj) == nil {
		switch r := obj.Reason.(type) {
		case []any:
			var parts []string
			for _, x := range r {
				if s, ok := x.(string); ok {
					parts = append(parts, s)
				}
			}
			e.Description = strings.Join(parts, "; ")
		case string:
			e.Description = r
		}
		if s, ok := obj.ErrorID.(string); ok {
			e.Code = s
		}
		if s, ok := obj.Message.(string); ok && e.Description == "" {
			e.Description = s
		}
	}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind = provider.ErrUnauthorized
	case status == http.StatusTooManyRequests:
		e.Kind = provider.ErrUnavailable
		if e.Code == "" {
			e.Code = "too_many_sessions"
		}
	default:
		e.Kind = provider.KindForStatus(status)
	}
	return e
}
