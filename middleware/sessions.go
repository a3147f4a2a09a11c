package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// ErrSessionNotFound is returned by [Auth.EndSession] when the current
// user has no live session with that id. It matches
// session.ErrSessionNotFound.
var ErrSessionNotFound = fmt.Errorf("middleware: %w", session.ErrSessionNotFound)

// currentLogin is the login of ctx: the one Require put there, else the
// session's.
func (a *Auth) currentLogin(ctx context.Context) (*session.Login, error) {
	if l, ok := LoginFrom(ctx); ok {
		return l, nil
	}
	l, err := a.sessions.CurrentLogin(ctx)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, ErrNotLoggedIn
	}
	return l, nil
}

// UserSessions lists the sessions of the user logged in on ctx (inside
// Require, Optional or [Auth.Wrap]), newest login first, the one of this
// request marked Current. Each has an opaque ID for [Auth.EndSession];
// none carries a token. It needs a session index
// (session.Config.Index): without one it returns an error matching
// session.ErrNoIndex. Not logged in: [ErrNotLoggedIn].
func (a *Auth) UserSessions(ctx context.Context) ([]session.SessionInfo, error) {
	l, err := a.currentLogin(ctx)
	if err != nil {
		return nil, err
	}
	return a.sessions.ListSessions(ctx, session.Selector{Provider: l.Provider, Subject: l.Identity.Subject})
}

// EndSession ends the session id (a [session.SessionInfo] Handle from
// [Auth.UserSessions]) of the user logged in on ctx, on every instance
// sharing the store: its cookie is anonymous and its bearer JWTs are
// refused from the next request on. Its upstream tokens are revoked in
// the background where the provider can (provider.Revoker), and OnLogout
// is called. A user can end only their own sessions: another user's id
// gives [ErrSessionNotFound]. Ending the current session works like a
// logout whose cookie is not cleared (the next request is anonymous).
func (a *Auth) EndSession(ctx context.Context, id string) error {
	l, err := a.currentLogin(ctx)
	if err != nil {
		return err
	}
	ended, err := a.sessions.EndSession(ctx, session.Selector{Provider: l.Provider, Subject: l.Identity.Subject}, id)
	if errors.Is(err, session.ErrSessionNotFound) {
		return ErrSessionNotFound
	}
	if err != nil {
		return err
	}
	a.ended(ctx, ended)
	return nil
}

// EndAllSessions ends every session of user (Provider and Subject) on
// every instance, revoking their upstream tokens where the provider can,
// and returns how many it ended: "log out everywhere", or an
// administrator's "revoke this user" (the caller decides who may). ctx
// needs no session. It needs a session index, like [Auth.UserSessions].
func (a *Auth) EndAllSessions(ctx context.Context, user provider.Identity) (int, error) {
	return a.endSessions(ctx, user, "")
}

// EndOtherSessions ends every session of the user logged in on ctx except
// the current one, as [Auth.EndAllSessions] does, and returns how many it
// ended.
func (a *Auth) EndOtherSessions(ctx context.Context) (int, error) {
	l, err := a.currentLogin(ctx)
	if err != nil {
		return 0, err
	}
	return a.endSessions(ctx, l.Identity, a.sessions.CurrentHandle(ctx))
}

func (a *Auth) endSessions(ctx context.Context, user provider.Identity, keep string) (int, error) {
	if user.Provider == "" || user.Subject == "" {
		return 0, errors.New("middleware: EndAllSessions needs the user's Provider and Subject")
	}
	sel := session.Selector{Provider: user.Provider, Subject: user.Subject}
	list, err := a.sessions.ListSessions(ctx, sel)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range list {
		if s.Handle == keep {
			continue
		}
		ended, err := a.sessions.EndSession(ctx, sel, s.Handle)
		if errors.Is(err, session.ErrSessionNotFound) {
			continue // ended or expired meanwhile
		}
		if err != nil {
			return n, err
		}
		a.ended(ctx, ended)
		n++
	}
	return n, nil
}

// ended reports an ended session and revokes its upstream tokens.
func (a *Auth) ended(ctx context.Context, l *session.Login) {
	if l == nil {
		return
	}
	a.logInfo(ctx, "gatehouse: session ended", attrEvent("session_end"), attrProvider(l.Provider))
	a.emit(ctx, Event{Type: EventLogout, Provider: l.Provider, Subject: l.Identity.Subject})
	a.revoke(ctx, l)
}

// sessionsPage serves {base}/sessions (GET: the list, HTML or JSON),
// {base}/sessions/end (POST id: end one) and {base}/sessions/end-others
// (POST: end all but this one). POSTs are CSRF-checked like logout (the
// synchroniser token or same origin; JSON bodies are CSRF-safe).
func (a *Auth) sessionsPage(w http.ResponseWriter, r *http.Request, action string) {
	if !a.cfg.SessionsPage {
		a.notFound(w, r)
		return
	}
	r2, err := a.authenticate(r)
	if err != nil {
		a.deny(w, r, err)
		return
	}
	r = r2
	ctx := r.Context()
	noStore(w)
	switch action {
	case "":
		if !allow(r, http.MethodGet, http.MethodHead) {
			a.methodNotAllowed(w, r, "GET, HEAD")
			return
		}
		list, err := a.UserSessions(ctx)
		if err != nil {
			a.fail(w, r, storeFailure("", err))
			return
		}
		if wantsJSON(r) {
			if list == nil {
				list = []session.SessionInfo{}
			}
			writeJSON(w, http.StatusOK, struct {
				Sessions []session.SessionInfo `json:"sessions"`
			}{list})
			return
		}
		a.renderSessions(w, r, list)
	case "end", "end-others":
		if r.Method != http.MethodPost {
			a.methodNotAllowed(w, r, "POST")
			return
		}
		var submitted, id string
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		jsonBody := false
		switch mt {
		case "application/x-www-form-urlencoded", "multipart/form-data":
			if !a.parseForm(w, r, "") {
				return
			}
			submitted, id = r.PostForm.Get("csrf_token"), r.PostForm.Get("id")
		case "application/json":
			jsonBody = true
			r = asAPI(r) // its errors are JSON too, like its answer
			var body struct {
				ID string `json:"id"`
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil && action == "end" {
				a.fail(w, r, failure{status: http.StatusBadRequest, code: "invalid_request", message: "The request body is not valid JSON."})
				return
			}
			id = body.ID
		}
		// A JSON body cannot be sent cross-site without a CORS preflight
		// we never grant; a bearer JWT is not sent by browsers on their
		// own. Forms need the synchroniser token or same origin.
		_, bearer := authMethod(r)
		if !jsonBody && !bearer && !a.csrfTokenOK(r, submitted) && !a.sameOrigin(r) {
			a.fail(w, r, failure{status: http.StatusForbidden, code: "csrf", retry: a.base + "/sessions",
				message: "This request was not sent from this site. Open the sessions page to try again."})
			return
		}
		n := 0
		if action == "end" {
			if id == "" {
				a.fail(w, r, failure{status: http.StatusBadRequest, code: "invalid_request", message: "Name the session to end."})
				return
			}
			err = a.EndSession(ctx, id)
			n = 1
		} else {
			n, err = a.EndOtherSessions(ctx)
		}
		switch {
		case errors.Is(err, ErrSessionNotFound):
			a.fail(w, r, failure{status: http.StatusNotFound, code: "session_not_found", retry: a.base + "/sessions",
				message: "That session has already ended."})
			return
		case err != nil:
			a.fail(w, r, storeFailure("", err))
			return
		}
		if wantsJSON(r) || jsonBody {
			writeJSON(w, http.StatusOK, struct {
				Ended int `json:"ended"`
			}{n})
			return
		}
		w.Header().Set("Location", a.base+"/sessions")
		w.WriteHeader(http.StatusSeeOther)
	default:
		a.notFound(w, r)
	}
}

// authMethod reports whether r carries a bearer Authorization header.
func authMethod(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	return h, len(h) > 7 && (h[:7] == "Bearer " || h[:7] == "bearer ")
}

func (a *Auth) renderSessions(w http.ResponseWriter, r *http.Request, list []session.SessionInfo) {
	t := a.pages.texts
	d := &SessionsPage{PageData: PageData{Title: t.SessionsTitle}, CSRF: a.CSRFToken(r.Context()), Action: a.base + "/sessions"}
	for _, s := range list {
		row := SessionRow{ID: s.Handle, Device: s.Device, Provider: a.displayName(s.Provider),
			LoginAt: s.LoginAt.UTC().Format(time.RFC1123), LastSeen: s.LastSeen.UTC().Format(time.RFC1123), Current: s.Current}
		row.Line = fill(t.SessionLine, "{login}", row.LoginAt, "{provider}", row.Provider, "{seen}", row.LastSeen)
		d.Sessions = append(d.Sessions, row)
		if !s.Current {
			d.Others = true
		}
	}
	a.renderPage(w, r, http.StatusOK, "sessions", d)
}
