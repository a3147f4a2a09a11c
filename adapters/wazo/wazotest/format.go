package wazotest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// badRequest is the framework's 400 reason for a body it cannot parse.
const badRequest = "The browser (or proxy) sent a request that this server could not understand."

// notFoundURL is the framework's 404 message for an unrouted URL (a {token}
// segment that is not a UUID).
const notFoundURL = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."

// pyISO formats a naive time as Python's datetime.isoformat(): the
// microseconds are left out when they are zero, and there is no offset.
func pyISO(t time.Time) string {
	t = t.Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// utcISO formats t in UTC as strftime("%Y-%m-%dT%H:%M:%S.%f"): always six
// fractional digits, no "Z".
func utcISO(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// pyAwareISO is isoformat() of an aware UTC datetime ("+00:00" suffix).
func pyAwareISO(t time.Time) string { return pyISO(t.UTC()) + "+00:00" }

func epoch(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

func itoa(i int) string { return strconv.Itoa(i) }

// writeData writes {"data": v}.
func writeData(w http.ResponseWriter, status int, v any) {
	oauth2test.WriteJSON(w, status, map[string]any{"data": v})
}

// writeLegacy writes the legacy error shape of the /token endpoints.
func writeLegacy(w http.ResponseWriter, now time.Time, status int, reason string) {
	oauth2test.WriteJSON(w, status, map[string]any{
		"reason":      []string{reason},
		"timestamp":   []float64{epoch(now)},
		"status_code": status,
	})
}

// apiError is the {"message", "error_id", "details", "timestamp",
// "resource"} error shape of the other endpoints.
type apiError struct {
	status   int
	message  string
	errorID  string
	details  map[string]any
	resource string
}

func writeAPIError(w http.ResponseWriter, now time.Time, e apiError) {
	body := map[string]any{
		"message":   e.message,
		"error_id":  e.errorID,
		"details":   e.details,
		"timestamp": epoch(now),
	}
	if e.resource != "" {
		body["resource"] = e.resource
	}
	oauth2test.WriteJSON(w, e.status, body)
}

// fieldError is one schema error.
type fieldError struct{ field, msg string }

// pyErrors renders field errors as the Python repr of marshmallow's error
// dict: {'expiration': ['Not a valid integer.']}, fields in order.
func pyErrors(errs []fieldError) string {
	var b strings.Builder
	b.WriteByte('{')
	seen := map[string]int{}
	var order []string
	groups := map[string][]string{}
	for _, e := range errs {
		if _, ok := seen[e.field]; !ok {
			seen[e.field] = len(order)
			order = append(order, e.field)
		}
		groups[e.field] = append(groups[e.field], e.msg)
	}
	for i, f := range order {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyStr(f) + ": [")
		for j, m := range groups[f] {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyStr(m))
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.String()
}

// pyStr is Python's repr of a str: single quotes unless the text has one.
func pyStr(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	if q == "'" {
		s = strings.ReplaceAll(s, "'", `\'`)
	}
	return q + s + q
}
