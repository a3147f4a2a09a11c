package middleware

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// EndSessionProvider is an optional interface of a provider whose logins
// can also be ended at the provider (OpenID Connect RP-Initiated Logout
// 1.0). After POST {BasePath}/logout has ended the local session (and
// started revocation), the browser is sent to EndSessionURL. The provider
// returns the browser to its registered post-logout redirect URI, which
// must be {BasePath}/{provider}/logged-out of this app, with state; that
// route checks state against the value kept in the browser's (new,
// anonymous) session and then goes on to the logout's return path.
//
// EndSessionURL is given the ended login's token set (the provider takes
// its id_token_hint from it; the URL must carry no access or refresh
// token) and a fresh state. It returns "" when the provider cannot end
// sessions, in which case logout ends locally as for any provider. It
// must be safe for concurrent use. adapters/oidc.Provider implements it.
type EndSessionProvider interface {
	EndSessionURL(t *provider.Token, state string) string
}

// logoutStateKey keeps, in the session that follows a logout, the state of
// the RP-initiated logout in progress: "provider\x00state\x00return\x00unix".
const logoutStateKey = "gatehouse.logout_state"

// logoutStateTTL bounds how long the provider may take to send the browser
// back.
const logoutStateTTL = 10 * time.Minute

// endSessionTarget returns where to send the browser after the local
// logout of login, and stores the state to check on its return in the
// (new) session. "" means the logout ends here.
func (a *Auth) endSessionTarget(ctx context.Context, login *session.Login, returnTo string) string {
	p, ok := a.providers[login.Provider].(EndSessionProvider)
	if !ok {
		return ""
	}
	state := provider.NewState()
	target := p.EndSessionURL(login.Token, state)
	if target == "" {
		return ""
	}
	v := strings.Join([]string{login.Provider, state, returnTo, strconv.FormatInt(a.now().Unix(), 10)}, "\x00")
	a.sessions.Sessions().Put(ctx, logoutStateKey, v)
	return target
}

// loggedOut serves GET {base}/{provider}/logged-out, where the provider
// sends the browser back after RP-initiated logout. The state must equal,
// in constant time, the one kept at logout for this provider and be at most
// ten minutes old (RP-Initiated Logout 1.0 §3); then the browser goes on
// to the logout's return path. A missing, wrong or stale state gets an
// error page and changes nothing.
func (a *Auth) loggedOut(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	stored := a.sessions.Sessions().GetString(ctx, logoutStateKey)
	parts := strings.Split(stored, "\x00")
	got := r.URL.Query().Get("state")
	ok := len(parts) == 4 && got != "" &&
		subtle.ConstantTimeCompare([]byte(parts[1]), []byte(got)) == 1 && parts[0] == name
	if ok {
		at, err := strconv.ParseInt(parts[3], 10, 64)
		ok = err == nil && a.now().Sub(time.Unix(at, 0)) <= logoutStateTTL
	}
	if !ok {
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "logout_state_mismatch", provider: name,
			title:   "Sign-out could not be confirmed",
			message: "You are signed out of this site, but the sign-in provider's answer could not be matched to a sign-out started here.",
			retry:   a.returnTo("")})
		return
	}
	a.sessions.Sessions().Remove(ctx, logoutStateKey)
	a.logInfo(ctx, "gatehouse: logout completed at the provider", slog.String("event", "logout_return"), slog.String("provider", name))
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Location", a.returnTo(parts[2]))
	w.WriteHeader(http.StatusSeeOther)
}
