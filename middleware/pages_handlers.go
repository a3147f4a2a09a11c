package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// chooser renders the provider chooser: a button per redirect provider, the
// form for password providers, and the one-time notice if there is one.
func (a *Auth) chooser(w http.ResponseWriter, r *http.Request, errText string, status int) {
	ret := a.returnTo(r.URL.Query().Get("return_to"))
	var csrf string
	choices := make([]ProviderChoice, 0, len(a.order))
	for _, name := range a.order {
		form := a.isPassword(name)
		if form && csrf == "" {
			csrf = a.CSRFToken(r.Context())
		}
		choices = append(choices, a.choice(name, ret, csrf, "", form))
	}
	a.renderPage(w, r, status, "chooser", &ChooserPage{
		PageData:  PageData{Title: a.chooserTitle(), Notice: a.Notice(r)},
		Providers: choices, ReturnTo: ret, Error: errText,
	})
}

// passwordForm renders a password provider's form page.
func (a *Auth) passwordForm(w http.ResponseWriter, r *http.Request, p provider.Provider, errText, username string, status int, returnTo string) {
	name := p.Name()
	c := a.choice(name, returnTo, a.CSRFToken(r.Context()), username, true)
	d := &PasswordPage{PageData: PageData{Title: c.Label}, Provider: c, Error: errText}
	if errText == "" {
		d.Notice = a.Notice(r)
	}
	if len(a.order) > 1 {
		d.ChooserURL = a.LoginURL("", returnTo)
	}
	a.renderPage(w, r, status, "password", d)
}

// failPassword answers a failed password login: JSON for API clients, else
// the form again with the reason (and the wait, when rate limited).
func (a *Auth) failPassword(w http.ResponseWriter, r *http.Request, p provider.Provider, api bool, username, returnTo string, status int, code, msg string, wait time.Duration) {
	if api || wantsJSON(r) {
		a.fail(w, r, failure{status: status, code: code, provider: p.Name(), message: msg, retryAfter: wait})
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "gatehouse: request failed", slog.String("event", "error"),
		slog.String("error_code", code), slog.Int("status", status), slog.String("path", r.URL.Path), slog.String("provider", p.Name()))
	a.emit(r.Context(), Event{Type: EventError, Provider: p.Name(), Code: code, Status: status})
	t := a.pages.texts
	text := t.ErrorMessage
	switch code {
	case "invalid_request":
		text = t.EnterCredentials
	case "invalid_credentials":
		text = t.InvalidCredentials
	default:
		if e, ok := t.errorText("", code); ok {
			text = fill(e.Message, "{provider}", a.displayName(p.Name()), "{app}", a.cfg.AppName)
		}
	}
	if wait > 0 {
		secs := retryAfterSeconds(wait)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		text += " " + t.retryIn(secs)
	}
	a.passwordForm(w, r, p, text, username, status, returnTo)
}

// staleForm answers a password form posted from this site (Fetch Metadata
// or Origin) whose CSRF token is no longer the session's: a sign-in or
// sign-out in another tab rotated it, or the session expired. Nothing is
// sent to the provider; the form is shown again with a fresh token, the
// username kept and a plain explanation (409). A post that does not come
// from this site still fails with 403.
func (a *Auth) staleForm(w http.ResponseWriter, r *http.Request, p provider.Provider, username, returnTo string) {
	a.logInfo(r.Context(), "gatehouse: password form with an out-of-date token shown again", attrEvent("stale_form"), attrProvider(p.Name()))
	if len(username) > 256 {
		username = ""
	}
	a.passwordForm(w, r, p, a.pages.texts.FormRefreshed, username, http.StatusConflict, returnTo)
}

// The one-time notices of the sign-in pages.
const (
	noticeSignedOut      = "signed_out"
	noticeSessionExpired = "session_expired"
	noticeReauthRequired = "reauth_required"
)

// noticeKey keeps a pending notice in the session: "kind\x00unix".
const noticeKey = "gatehouse.notice"

// noticeTTL bounds how long a pending notice waits for a sign-in page.
const noticeTTL = 10 * time.Minute

// setNotice leaves a one-time notice for the next sign-in page.
func (a *Auth) setNotice(ctx context.Context, kind string) {
	a.sessions.Sessions().Put(ctx, noticeKey, kind+"\x00"+strconv.FormatInt(a.now().Unix(), 10))
}

// Notice returns the one-time notice for the sign-in page r is about to
// show (in the words of Config.Pages.Texts), or "": "You have signed out."
// after a sign-out, "Your session has expired." when Require sent an
// expired session to sign in, "Your sign-in has ended." when the provider
// refused to refresh the login. The built-in chooser and password form
// show it; an app that serves its own sign-in page calls Notice there.
//
// The sign-out notice is kept in the (new) session and removed by the
// call that returns it (it waits at most ten minutes); the other two
// travel as a fixed flag in the sign-in URL ("notice=session_expired" or
// "notice=reauth_required") that Require adds. No text is ever taken from
// the request.
func (a *Auth) Notice(r *http.Request) string {
	kind := r.URL.Query().Get("notice")
	if kind != noticeSessionExpired && kind != noticeReauthRequired {
		kind = ""
	}
	ctx := r.Context()
	if a.hasSession(ctx, "Notice") {
		sm := a.sessions.Sessions()
		if v := sm.GetString(ctx, noticeKey); v != "" {
			sm.Remove(ctx, noticeKey)
			k, at, _ := strings.Cut(v, "\x00")
			unix, err := strconv.ParseInt(at, 10, 64)
			if kind == "" && err == nil && a.now().Sub(time.Unix(unix, 0)) <= noticeTTL {
				kind = k
			}
		}
	}
	t := a.pages.texts
	switch kind {
	case noticeSignedOut:
		return t.NoticeSignedOut
	case noticeSessionExpired:
		return t.NoticeSessionExpired
	case noticeReauthRequired:
		return t.NoticeReauthRequired
	}
	return ""
}

// signInTarget is where Require sends a browser without a login: as
// loginRedirect, but to the chooser with a notice flag when the session
// expired (the browser sent a session cookie the store does not know) or
// the provider ended the login (err is session.ErrReauthRequired), and to
// the chooser when a sign-out notice is pending, so that the person reads
// it instead of being sent straight back to the provider.
func (a *Auth) signInTarget(r *http.Request, err error) string {
	ctx := r.Context()
	sm := a.sessions.Sessions()
	kind := ""
	switch {
	case errors.Is(err, session.ErrReauthRequired):
		kind = noticeReauthRequired
	case sm.Token(ctx) == "" && sm.GetString(ctx, noticeKey) == "":
		if c, cerr := r.Cookie(sm.Cookie.Name); cerr == nil && c.Value != "" {
			kind = noticeSessionExpired
		}
	}
	pending := sm.GetString(ctx, noticeKey) != ""
	if kind == "" && !pending {
		return a.loginRedirect(r)
	}
	ret := ""
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if v, ok := a.validReturnTo(r.URL.RequestURI()); ok {
			ret = v
		}
	}
	target := a.LoginURL("", ret)
	if kind != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + "notice=" + kind
	}
	return target
}

// attemptUsedKey keeps, in the session, the last login attempt a callback
// used: "provider\x00hash(state)\x00returnTo". It lets Back (or a reload)
// of that callback, once signed in, go on to the login's return path.
const attemptUsedKey = "gatehouse.attempt_used"

func stateHash(name, state string) string {
	sum := sha256.Sum256([]byte("gatehouse/used-attempt\x00" + name + "\x00" + state))
	return hex.EncodeToString(sum[:16])
}

// markAttemptUsed records the attempt a callback just took.
func (a *Auth) markAttemptUsed(ctx context.Context, name, state, returnTo string) {
	a.sessions.Sessions().Put(ctx, attemptUsedKey, name+"\x00"+stateHash(name, state)+"\x00"+returnTo)
}

// replayedWhileSignedIn answers a callback whose attempt is gone (err is
// session.ErrAttemptNotFound) when the browser is signed in: Back or a
// reload after a completed login. It sends the browser on (303) to that
// login's return path when the state is the one the session last used,
// else to Config.DefaultReturnTo; nothing is exchanged and the session is
// not changed. It reports false, having written nothing, when the browser
// is not signed in (the caller shows the error with a restart link).
func (a *Auth) replayedWhileSignedIn(w http.ResponseWriter, r *http.Request, name, state string, err error) bool {
	if !errors.Is(err, session.ErrAttemptNotFound) {
		return false
	}
	ctx := r.Context()
	login, lerr := a.sessions.CurrentLogin(ctx)
	if lerr != nil || login == nil {
		return false
	}
	target := a.returnTo("")
	if v := a.sessions.Sessions().GetString(ctx, attemptUsedKey); v != "" {
		parts := strings.SplitN(v, "\x00", 3)
		if len(parts) == 3 && parts[0] == name && parts[1] == stateHash(name, state) {
			target = a.returnTo(parts[2])
		}
	}
	a.logInfo(ctx, "gatehouse: callback of a used login attempt while signed in: sent on", attrEvent("callback_replayed"), attrProvider(name))
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
	return true
}
