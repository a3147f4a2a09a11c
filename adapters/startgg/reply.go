package startgg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// The identity query. email is a GraphQL error without the user.email
// scope, so it has a variant of its own.
const (
	identityOperation  = "GatehouseIdentity"
	identityQuery      = "query GatehouseIdentity { currentUser { id slug name discriminator player { gamerTag } } }"
	identityQueryEmail = "query GatehouseIdentity { currentUser { id slug name discriminator email player { gamerTag } } }"
)

// Limits on what is kept from a reply.
const (
	maxGraphQLMessages = 16
	maxMessageLen      = 512
	maxSubjectLen      = 256
)

// ErrNoCurrentUser is wrapped by the error Identity returns when the
// GraphQL reply's data.currentUser is null without any GraphQL error.
var ErrNoCurrentUser = errors.New("startgg: currentUser is null")

// GraphQLError is the "errors" array of a GraphQL reply. start.gg sends it
// with HTTP 200, so [Adapter.Query] checks for it on every reply. Messages
// are the upstream's, cut to a bounded size; Error() does not include them.
type GraphQLError struct {
	Messages []string
}

func (e *GraphQLError) Error() string {
	return fmt.Sprintf("startgg: GraphQL reply carries %d error(s)", len(e.Messages))
}

// ParseGraphQLReply checks a 2xx reply of the GraphQL endpoint and returns
// its "data" member. The body must be one JSON object. A non-empty
// "errors" array gives an *provider.Error matching provider.ErrRejected
// and wrapping a *GraphQLError (whatever "data" holds: a partial answer is
// not an answer). A {"success":false,...} envelope is decoded like an
// error reply. A missing or null "data" matches provider.ErrBadResponse.
func ParseGraphQLReply(body []byte) (json.RawMessage, error) {
	var reply struct {
		Data    json.RawMessage `json:"data"`
		Errors  json.RawMessage `json:"errors"`
		Success *bool           `json:"success"`
	}
	if err := decodeStrict(body, &reply); err != nil {
		return nil, &provider.Error{Kind: provider.ErrBadResponse, Err: err}
	}
	if reply.Success != nil && !*reply.Success {
		e := decodeAPIError(http.StatusOK, nil, body)
		e.Body = bounded(body)
		if e.Kind == nil {
			e.Kind = provider.ErrRejected
		}
		return nil, e
	}
	if len(reply.Errors) > 0 && !isNull(reply.Errors) {
		ge, err := graphQLErrors(reply.Errors)
		if err != nil {
			return nil, &provider.Error{Kind: provider.ErrBadResponse, Err: err}
		}
		if len(ge.Messages) > 0 {
			return nil, &provider.Error{Kind: provider.ErrRejected, Code: "graphql_error",
				Description: strings.Join(ge.Messages, "; "), Body: bounded(body), Err: ge}
		}
	}
	if len(reply.Data) == 0 || isNull(reply.Data) {
		return nil, &provider.Error{Kind: provider.ErrBadResponse, Err: errors.New("GraphQL reply has no data")}
	}
	return reply.Data, nil
}

// graphQLErrors reads an errors array: a list of objects whose "message"
// is a string. An element without a message still counts as an error.
func graphQLErrors(raw json.RawMessage) (*GraphQLError, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("GraphQL errors is not an array")
	}
	ge := &GraphQLError{}
	for _, item := range list {
		if len(ge.Messages) == maxGraphQLMessages {
			break
		}
		var e struct {
			Message any `json:"message"`
		}
		msg := "(no message)"
		if json.Unmarshal(item, &e) == nil {
			if s, ok := e.Message.(string); ok && s != "" {
				msg = clip(s, maxMessageLen)
			}
		}
		ge.Messages = append(ge.Messages, msg)
	}
	return ge, nil
}

// ParseCurrentUser maps the "data" member of the identity query's reply,
// {"currentUser": {"id", "slug", "name", "discriminator", "email",
// "player": {"gamerTag"}}}, to an Identity. id may be a JSON number (an
// integer) or a non-empty string. A null currentUser wraps
// ErrNoCurrentUser. Provider is left for the caller to fill.
func ParseCurrentUser(data json.RawMessage) (*provider.Identity, error) {
	var d struct {
		CurrentUser *struct {
			ID            json.RawMessage `json:"id"`
			Slug          *string         `json:"slug"`
			Name          *string         `json:"name"`
			Discriminator *string         `json:"discriminator"`
			Email         *string         `json:"email"`
			Player        *struct {
				GamerTag *string `json:"gamerTag"`
			} `json:"player"`
		} `json:"currentUser"`
	}
	if err := decodeStrict(data, &d); err != nil {
		return nil, err
	}
	u := d.CurrentUser
	if u == nil {
		return nil, ErrNoCurrentUser
	}
	sub, err := subject(u.ID)
	if err != nil {
		return nil, err
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return clip(*p, maxMessageLen)
	}
	id := &provider.Identity{
		Subject: sub,
		Name:    str(u.Name),
		Email:   str(u.Email),
		Raw:     map[string]any{"id": sub},
	}
	var tag string
	if u.Player != nil {
		tag = str(u.Player.GamerTag)
	}
	if id.Name == "" {
		id.Name = tag
	}
	for k, v := range map[string]string{"slug": str(u.Slug), "discriminator": str(u.Discriminator), "name": str(u.Name), "gamerTag": tag} {
		if v != "" {
			id.Raw[k] = v
		}
	}
	return id, nil
}

// subject reads a GraphQL ID: an integer JSON number or a non-empty string
// of printable characters.
func subject(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return "", errors.New("currentUser has no id")
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errors.New("currentUser.id is malformed")
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", errors.New("currentUser.id is neither a number nor a string")
		}
		s = n.String()
		if strings.TrimLeft(s, "0123456789") != "" {
			return "", errors.New("currentUser.id is not an integer")
		}
	}
	if s == "" || len(s) > maxSubjectLen || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", errors.New("currentUser.id is empty, too long or not printable")
	}
	return s, nil
}

// DecodeError is the provider.ErrorDecoder of start.gg's token and refresh
// endpoints. start.gg answers errors with {"success":false,"message":"..."}
// (not RFC 6749's error/error_description; an RFC 6749 body is understood
// too). The message goes to Description, never into Error()'s text.
//
// Classification:
//   - a "Rate limit exceeded" message, any 429 and any 5xx:
//     provider.ErrUnavailable (the Retry-After header is kept);
//   - HTTP 400 with start.gg's envelope: provider.ErrInvalidGrant;
//   - an RFC 6749 "invalid_grant": provider.ErrInvalidGrant;
//   - anything else: provider.ErrRejected.
//
// Why 400 means invalid_grant: start.gg documents no error codes for these
// endpoints, and its only 400 answers there are to a code or refresh token
// that is unknown, used or expired — or to a wrong client secret or
// redirect_uri, which the envelope cannot tell apart. For a refresh, either
// way the grant cannot be used again: retrying it can never succeed, so
// the safe answer is to end the login (the user logs in again). For an
// exchange, a configuration error then shows up on every login, loudly,
// instead of being retried.
func DecodeError(status int, header http.Header, body []byte) *provider.Error {
	e, envelope := decodeEnvelope(status, header, body)
	if e.Kind == nil && status == http.StatusBadRequest && envelope {
		e.Kind = provider.ErrInvalidGrant
	}
	return e
}

// decodeAPIError is the ErrorDecoder of the GraphQL API: as DecodeError,
// except that a 400 (e.g. "Query complexity too high") is a rejection and
// a 401 ("Invalid authentication token") matches provider.ErrUnauthorized.
func decodeAPIError(status int, header http.Header, body []byte) *provider.Error {
	e, _ := decodeEnvelope(status, header, body)
	if status == http.StatusUnauthorized {
		e.Kind = provider.ErrUnauthorized
	}
	if errors.Is(e.Kind, provider.ErrInvalidGrant) {
		e.Kind = provider.ErrRejected
	}
	return e
}

// decodeEnvelope reads {"success":false,"message":...} (reporting whether
// the body had that shape) or an RFC 6749 error body, and sets Kind for the
// cases that do not depend on the endpoint.
func decodeEnvelope(status int, header http.Header, body []byte) (*provider.Error, bool) {
	var env struct {
		Success *bool `json:"success"`
		Message any   `json:"message"`
		Error   any   `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return &provider.Error{}, false
	}
	if _, ok := env.Error.(string); ok {
		return provider.DecodeOAuth2Error(status, header, body), false
	}
	envelope := env.Success != nil && !*env.Success
	e := &provider.Error{}
	if msg, ok := env.Message.(string); ok {
		e.Description = clip(msg, maxMessageLen)
		envelope = envelope || env.Success == nil // {"message": "..."} alone
	}
	if strings.HasPrefix(strings.ToLower(e.Description), "rate limit exceeded") {
		e.Kind = provider.ErrUnavailable
	}
	return e, envelope
}

// decodeStrict decodes one JSON value and refuses trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return errors.New("malformed JSON")
	}
	if dec.More() {
		return errors.New("trailing data after JSON")
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func bounded(b []byte) []byte {
	if len(b) > provider.MaxErrorBody {
		b = b[:provider.MaxErrorBody]
	}
	return append([]byte(nil), b...)
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
