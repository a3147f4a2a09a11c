package provider

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Every error an adapter returns for an upstream problem is
// an *Error whose Kind is one of these, so callers branch with errors.Is.
var (
	// ErrInvalidGrant: the code or refresh token is dead (used, expired,
	// revoked, unknown). The user must log in again. Never retry.
	ErrInvalidGrant = errors.New("provider: invalid grant")
	// ErrInvalidCredentials: a password login was refused.
	ErrInvalidCredentials = errors.New("provider: invalid credentials")
	// ErrUnavailable: a transient failure (timeout, connection refused,
	// 5xx, 429). Keep the session and try later.
	ErrUnavailable = errors.New("provider: unavailable")
	// ErrBadResponse: the upstream answered something the spec does not
	// allow (malformed, oversized, no access token, unknown token type).
	ErrBadResponse = errors.New("provider: bad response")
	// ErrRejected: the upstream refused the request for another reason
	// (invalid_client, invalid_request, invalid_scope, access_denied, …).
	ErrRejected = errors.New("provider: request rejected")
	// ErrUnauthorized: the upstream API did not accept the access token
	// (HTTP 401 on a resource call).
	ErrUnauthorized = errors.New("provider: access token rejected")
	// ErrNoRefreshToken: Refresh was called on a token without one.
	ErrNoRefreshToken = errors.New("provider: no refresh token")
)

// MaxErrorBody is how much of an error reply's body Error.Body keeps.
const MaxErrorBody = 4 << 10

// Error is an upstream failure. Its Error() text carries the operation, the
// HTTP status and the RFC 6749 §5.2 error code, never the raw body or the
// description (an upstream may echo secrets there). Read Description and Body
// deliberately when you need them.
type Error struct {
	// Provider is the adapter's name; Op is what was attempted
	// ("exchange", "refresh", "login", "identity", "revoke", "api").
	Provider, Op string
	// StatusCode is the HTTP status, 0 when no reply arrived.
	StatusCode int
	// Code, Description and URI are the RFC 6749 §5.2 error,
	// error_description and error_uri (or the upstream's equivalents,
	// such as Whisk's "code" or start.gg's "message").
	Code, Description, URI string
	// Body is the raw reply, cut to MaxErrorBody bytes. It may hold
	// anything the upstream chose to send: do not log it.
	Body []byte
	// RetryAfter is the upstream's Retry-After, when it sent one.
	RetryAfter time.Duration
	// Kind is one of the sentinels above.
	Kind error
	// Err is the underlying cause, if any (a transport error, a JSON
	// syntax error).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("provider")
	if e.Provider != "" {
		b.WriteString(" " + e.Provider)
	}
	if e.Op != "" {
		b.WriteString(": " + e.Op)
	}
	kind := "error"
	if e.Kind != nil {
		kind = strings.TrimPrefix(e.Kind.Error(), "provider: ")
	}
	b.WriteString(": " + kind)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", sanitizeCode(e.Code))
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " HTTP %d", e.StatusCode)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As see both Kind and Err.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// sanitizeCode keeps an error code printable and short: RFC 6749 limits it
// to %x20-21 / %x23-5B / %x5D-7E; anything else is dropped.
func sanitizeCode(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// IsTransient reports whether err is a temporary upstream failure worth
// retrying later (and so a reason to keep the session).
func IsTransient(err error) bool { return errors.Is(err, ErrUnavailable) }

// RetryAfter returns the Retry-After carried by err, or 0.
func RetryAfter(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}
