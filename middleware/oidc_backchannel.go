package middleware

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/session"
)

// BackChannelLogoutProvider is an optional interface of a provider that
// sends back-channel logout tokens (OpenID Connect Back-Channel Logout
// 1.0): POST {BasePath}/{provider}/backchannel-logout verifies the token
// with VerifyBackChannelLogout and ends every session of the provider's
// user subject — or only those of its session sessionID
// (provider.Identity.SessionID) when it names one — on every instance
// sharing the session store (session.Config.Index is required). tokenID
// (the token's jti) is refused again until expiry. Any error refuses the
// token. It must be safe for concurrent use. adapters/oidc.Provider
// implements it.
type BackChannelLogoutProvider interface {
	VerifyBackChannelLogout(ctx context.Context, logoutToken string) (subject, sessionID, tokenID string, expiry time.Time, err error)
}

// backChannelTimeout bounds the store work of one back-channel logout
// (recording the token, ending the sessions on every instance), which
// goes on when the OP stops waiting.
const backChannelTimeout = 30 * time.Second

// backChannelLogout serves POST {base}/{provider}/backchannel-logout
// (OpenID Connect Back-Channel Logout 1.0 §2.5–2.8): a form with
// logout_token. The token is verified (signature, iss, aud, iat, exp,
// events, no nonce, sub and/or sid, jti), its jti must be new (recorded
// in the session store until the token expires, across instances), and
// then every matching session ends. A bad token gets 400 with a JSON
// error and changes nothing; success is 200 with Cache-Control: no-store.
// When the sessions cannot be ended (store failure) the answer is 503 and
// the jti is forgotten again, so that the OP's retry is not a replay.
func (a *Auth) backChannelLogout(w http.ResponseWriter, r *http.Request, p BackChannelLogoutProvider, name string) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		a.methodNotAllowed(w, r, "POST")
		return
	}
	bad := func(desc string, err error) {
		a.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: back-channel logout refused", slog.String("event", "backchannel_logout_refused"),
			slog.String("provider", name), slog.String("reason", desc))
		a.emit(ctx, Event{Type: EventError, Provider: name, Code: "backchannel_logout_refused", Status: http.StatusBadRequest, Err: err})
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": desc})
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		bad("the body must be application/x-www-form-urlencoded", nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		bad("the form could not be read", err)
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" || len(r.PostForm["logout_token"]) != 1 {
		bad("exactly one logout_token is required", nil)
		return
	}
	sub, sid, jti, exp, err := p.VerifyBackChannelLogout(ctx, raw)
	if err != nil {
		bad("the logout token is not valid", err)
		return
	}
	if sub == "" && sid == "" || jti == "" {
		bad("the logout token names no session", nil)
		return
	}
	ttl := exp.Sub(a.now())
	if ttl < time.Minute {
		ttl = time.Minute
	}
	// From here on the OP hanging up (its own timeout) must not stop a
	// logout half way: the sessions are ended, or the token is forgotten
	// again for the OP's retry, on a context of their own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), backChannelTimeout)
	defer cancel()
	onceKey := "backchannel-logout\x00" + name + "\x00" + jti
	first, err := a.sessions.Once(ctx, onceKey, ttl)
	switch {
	case errors.Is(err, session.ErrNoIndex):
		a.log.LogAttrs(ctx, slog.LevelError, "gatehouse: back-channel logout needs session.Config.Index", slog.String("provider", name))
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "server_error", "error_description": "back-channel logout is not configured"})
		return
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	case !first:
		bad("the logout token was already used", nil)
		return
	}
	n, err := a.sessions.EndSessions(ctx, session.Selector{Provider: name, Subject: sub, SID: sid})
	if err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "gatehouse: back-channel logout failed", slog.String("provider", name), slog.String("error", err.Error()))
		// The OP may send the token again: that must not count as a
		// replay, or the sessions would never end.
		if ferr := a.sessions.ForgetOnce(ctx, onceKey); ferr != nil {
			a.log.LogAttrs(ctx, slog.LevelError, "gatehouse: back-channel logout: the logout token stays recorded as used; a retry of it will be refused",
				slog.String("provider", name), slog.String("error", ferr.Error()))
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	a.logInfo(ctx, "gatehouse: back-channel logout", slog.String("event", "backchannel_logout"), slog.String("provider", name),
		slog.String("subject", sub), slog.Int("sessions", n))
	a.emit(ctx, Event{Type: EventLogout, Provider: name, Subject: sub, Code: "backchannel_logout"})
	noStore(w)
	w.WriteHeader(http.StatusOK)
}
