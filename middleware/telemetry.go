package middleware

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/telemetry"
)

// startOp starts the telemetry operation of an auth request (a span, and
// the metrics its outcome feeds) for the provider named providerName and
// returns r carrying it: failures answered through Auth.fail and the login
// event set its outcome. Without an OpenTelemetry SDK it returns r itself
// and a nil op (whose End does nothing).
func (a *Auth) startOp(r *http.Request, k telemetry.Kind, providerName string) (*http.Request, *telemetry.Op) {
	ctx, op := a.tel.Start(r.Context(), k, providerName)
	if op == nil {
		return r, nil
	}
	return r.WithContext(ctx), op
}

// metricProvider returns name when it is a configured provider's, else ""
// (metric labels stay bounded by the configuration, whatever a request
// names).
func (a *Auth) metricProvider(name string) string {
	if _, ok := a.providers[name]; ok {
		return name
	}
	return ""
}

// breakerStates names the state of each provider's refresh circuit
// breaker that is not closed ("open", "half_open"), for the
// gatehouse.breaker.state gauge.
func (a *Auth) breakerStates() map[string]string {
	out := map[string]string{}
	for name, s := range a.sessions.BreakerStates() {
		switch {
		case s.OpenUntil.IsZero():
		case s.Open:
			out[name] = "open"
		default:
			out[name] = "half_open"
		}
	}
	return out
}
