package whisk

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Whisk error codes (https://docs.whisk.com/resources/error-handling). The
// body of a Whisk error is {"code": "<code>"}, sometimes with "message".
const (
	CodeBadRequest    = "general.badRequest"
	CodeNotFound      = "general.notFound"
	CodeTokenExpired  = "auth.tokenExpired"
	CodeTokenRequired = "auth.tokenRequired"
	CodeTokenNotFound = "auth.tokenNotFound"
	CodeTokenInvalid  = "auth.tokenInvalid"
	CodeUnauthorized  = "oauth.unauthorized"
	CodeScopeRequired = "authorization.scopeRequired"
	CodeForbidden     = "authorization.forbidden"
)

// deadTokenCodes say the presented token (or code, or refresh token) no
// longer exists or has expired: at the token endpoint that is a dead grant.
var deadTokenCodes = map[string]bool{
	CodeTokenExpired:    true,
	CodeTokenNotFound:   true,
	CodeTokenInvalid:    true,
	CodeUnauthorized:    true,
	"user.tokenExpired": true, // legacy anonymous-token API
}

// DecodeError is the provider.ErrorDecoder for Whisk replies. It keys on the
// HTTP status first and the code second, and tolerates unknown codes:
//
//   - 5xx, 408 and 429 are provider.ErrUnavailable whatever the body says;
//   - an RFC 6749 body ({"error": "invalid_grant"}) keeps its code, and
//     invalid_grant is provider.ErrInvalidGrant;
//   - a Whisk body ({"code": "...", "message": "..."}) fills Code and
//     Description; on 400 and 401, the dead-token codes (auth.tokenExpired,
//     auth.tokenNotFound, auth.tokenInvalid, oauth.unauthorized) are
//     provider.ErrInvalidGrant: a token endpoint says the code or refresh
//     token is gone;
//   - everything else is provider.ErrRejected.
//
// On calls to the Whisk API (Identity, APIRequest) the adapter reports every
// 401 as provider.ErrUnauthorized instead, whatever the code.
func DecodeError(status int, header http.Header, body []byte) *provider.Error {
	e := provider.DecodeOAuth2Error(status, header, body)
	if e.Code == "" {
		var w struct {
			Code        string `json:"code"`
			Message     string `json:"message"`
			Description string `json:"description"`
		}
		if json.Unmarshal(body, &w) == nil && w.Code != "" {
			e.Code, e.Description = w.Code, w.Message
			if e.Description == "" {
				e.Description = w.Description
			}
		}
	}
	kind := provider.KindForStatus(status)
	switch {
	case kind == provider.ErrUnavailable:
		e.Kind = kind
	case e.Code == "invalid_grant":
		e.Kind = provider.ErrInvalidGrant
	case (status == http.StatusBadRequest || status == http.StatusUnauthorized) && deadTokenCodes[e.Code]:
		e.Kind = provider.ErrInvalidGrant
	default:
		e.Kind = kind
	}
	return e
}

// MapUser is the claim mapper for GET /user/v2/me. The reply is
// {"user": {...}}: Subject is user.id (a string, or a number), Email
// user.email, Name "first_name last_name" from
// user.user_settings.personal_details, Picture its photo_url. Whisk marks an
// unset value with an empty string or a *_INVALID enum; those are dropped,
// from the mapped fields and from Identity.Raw, which holds the rest of the
// user object.
func MapUser(claims map[string]any) (*provider.Identity, error) {
	user, ok := claims["user"].(map[string]any)
	if !ok {
		return nil, errNoUser
	}
	user, _ = clean(user).(map[string]any)
	if user == nil {
		user = map[string]any{}
	}
	id := oauth2.ClaimString(user, "id")
	if id == "" {
		return nil, errNoID
	}
	details, _ := nested(user, "user_settings", "personal_details").(map[string]any)
	name := strings.TrimSpace(oauth2.ClaimString(details, "first_name") + " " + oauth2.ClaimString(details, "last_name"))
	return &provider.Identity{
		Subject: id,
		Email:   oauth2.ClaimString(user, "email"),
		Name:    name,
		Picture: oauth2.ClaimString(details, "photo_url"),
		Raw:     user,
	}, nil
}

var (
	errNoUser = errors.New(`whisk: reply has no "user" object`)
	errNoID   = errors.New("whisk: user has no id")
)

func nested(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

// clean drops Whisk's "unset" markers: empty strings, *_INVALID enum values,
// and objects left empty. It returns nil for a value that is entirely unset.
func clean(v any) any {
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" || strings.HasSuffix(x, "_INVALID") {
			return nil
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if c := clean(e); c != nil {
				out[k] = c
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if c := clean(e); c != nil {
				out = append(out, c)
			}
		}
		return out
	}
	return v
}
