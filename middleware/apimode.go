package middleware

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/session"
)

// AuthMethod says how a request authenticated; see [AuthMethodFrom].
type AuthMethod string

// How a request can authenticate.
const (
	// AuthMethodCookie: the browser's session cookie.
	AuthMethodCookie AuthMethod = "cookie"
	// AuthMethodBearer: "Authorization: Bearer <jwt>" with a JWT minted by
	// POST {BasePath}/token (Config.JWT).
	AuthMethodBearer AuthMethod = "bearer"
)

// AuthMethodFrom returns how the request behind ctx authenticated, as
// Require, RequireAPI, RequireScopes or Optional found it, and false when
// ctx carries no login (or only an identity from [WithIdentity] without
// [WithAuthMethod]). Handlers use it, for example, to refuse
// state-changing requests authenticated by cookie without their own CSRF
// check, or to answer bearer clients differently.
func AuthMethodFrom(ctx context.Context) (AuthMethod, bool) {
	ai := authFrom(ctx)
	if ai == nil || ai.method == "" {
		return "", false
	}
	return ai.method, true
}

// WithAuthMethod returns ctx with AuthMethodFrom reporting m, for tests of
// handlers behind Require: use it on a context from [WithIdentity] (on
// another context it adds an empty identity).
func WithAuthMethod(ctx context.Context, m AuthMethod) context.Context {
	cp := authInfo{}
	if ai := authFrom(ctx); ai != nil {
		cp = *ai
	}
	cp.method = m
	return context.WithValue(ctx, authKey, &cp)
}

// RequireAPI is [Auth.Require] for API routes: it lets the same logged-in
// requests through (a cookie session, or with Config.JWT a bearer JWT whose
// session still exists) but never redirects. Whatever the Accept header
// (curl sends "*/*", which Require treats as a browser), a request without
// a login gets 401 with a JSON body {"error": "unauthorized",
// "error_description": "…"} and "WWW-Authenticate: Bearer
// realm=\"gatehouse\"" (RFC 6750 §3: no error code when the request
// carried no credentials); a bad, expired or revoked bearer JWT gets 401
// with error="invalid_token" in both; outages and store failures get 503
// JSON with Retry-After. Use [AuthMethodFrom] to tell cookie from bearer
// requests.
//
// Gatehouse middleware inside RequireAPI answers as API middleware too:
// a.RequireAPI(a.RequireScopes("admin")(h)) gives a missing scope 403
// JSON whatever the Accept header.
func (a *Auth) RequireAPI(next http.Handler) http.Handler {
	return a.ensureLoaded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = asAPI(r)
		r2, err := a.authenticate(r)
		if err != nil {
			a.deny(w, r, err)
			return
		}
		noStore(w)
		next.ServeHTTP(w, r2)
	}))
}

// revokeToken serves POST {BasePath}/token/revoke, token revocation shaped
// after RFC 7009 for the bearer JWTs of POST {BasePath}/token: a
// bearer-only client (no cookie) ends its token by posting it as the
// "token" form field (token_type_hint optional). A valid JWT ends the
// session it is bound to, exactly as POST {BasePath}/logout does (the
// session and every JWT minted from it stop working at once, and the
// upstream tokens are revoked in the background). As RFC 7009 §2.2
// requires, an unknown, invalid or expired token also gets 200: there is
// nothing left to end. Errors are RFC 6749 §5.2 JSON: 400 invalid_request
// (no token, a token in the URL, not a form), 400 unsupported_token_type
// (token_type_hint "refresh_token" for a token that is not one of these
// JWTs: Gatehouse issues no refresh tokens), 405, 503 when the session
// store fails. The token, being a bearer credential, needs no CSRF token
// and no client authentication.
func (a *Auth) revokeToken(w http.ResponseWriter, r *http.Request) {
	r = asAPI(r)
	if a.cfg.JWT == nil {
		a.notFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		a.methodNotAllowed(w, r, "POST")
		return
	}
	if r.URL.Query().Has("token") {
		// A token in the URL ends up in logs and histories: refuse it
		// without reading it (RFC 7009 §2.1: the body carries it).
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "invalid_request", message: "Send the token in the form body, not in the URL."})
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "invalid_request", message: "Send an application/x-www-form-urlencoded body with the token."})
		return
	}
	if !a.parseForm(w, r, "") {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" || len(r.PostForm["token"]) > 1 {
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "invalid_request", message: "The token parameter is missing or repeated."})
		return
	}
	hint := r.PostForm.Get("token_type_hint")
	claims, err := a.cfg.JWT.Verify(tok)
	if err != nil {
		if hint == "refresh_token" {
			a.fail(w, r, failure{status: http.StatusBadRequest, code: "unsupported_token_type",
				message: "This server issues no refresh tokens; it revokes only the access tokens of its token endpoint."})
			return
		}
		a.logInfo(r.Context(), "gatehouse: token revocation of an unknown token", attrEvent("token_revoke"), slog.String("outcome", "unknown_token"))
		revoked(w)
		return
	}
	ctx := r.Context()
	sctx, err := a.sessions.LoadByLoginID(ctx, claims.SessionID)
	if err != nil {
		if errors.Is(err, session.ErrNotLoggedIn) || errors.Is(err, session.ErrReauthRequired) {
			a.logInfo(ctx, "gatehouse: token revocation of an ended session", attrEvent("token_revoke"), slog.String("outcome", "already_ended"))
			revoked(w)
			return
		}
		a.fail(w, r, storeFailure("", err))
		return
	}
	l, err := a.sessions.CurrentLogin(sctx)
	if err != nil {
		a.fail(w, r, storeFailure("", err))
		return
	}
	if l == nil || l.ID != claims.SessionID || l.Identity.Subject != claims.Subject || l.Provider != claims.Provider {
		revoked(w) // not this token's session any more: nothing to end
		return
	}
	login, err := a.sessions.Logout(sctx)
	if err != nil {
		a.fail(w, r, storeFailure(l.Provider, err))
		return
	}
	if login != nil {
		a.logInfo(ctx, "gatehouse: logout", attrEvent("logout"), attrProvider(login.Provider), slog.String("subject", login.Identity.Subject), slog.String("via", "token_revoke"))
		a.emit(ctx, Event{Type: EventLogout, Provider: login.Provider, Subject: login.Identity.Subject})
		a.revoke(ctx, login)
	}
	revoked(w)
}

// revoked answers a revocation: 200 with an empty body (RFC 7009 §2.2),
// not cacheable.
func revoked(w http.ResponseWriter) {
	noStore(w)
	w.WriteHeader(http.StatusOK)
}

// apiKey marks a request whose failures are always answered as JSON
// (RequireAPI, the token revocation endpoint), whatever its Accept header.
var apiKey = &ctxKey{"api"}

// asAPI returns r marked for JSON failures.
func asAPI(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), apiKey, true))
}

// isAPI reports whether r's failures must be JSON: marked by asAPI, or
// an API client by its headers (wantsJSON).
func isAPI(r *http.Request) bool { return r.Context().Value(apiKey) != nil || wantsJSON(r) }
