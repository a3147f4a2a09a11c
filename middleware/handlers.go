package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-auth/gatehouse/internal/telemetry"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// Handler serves the auth routes under BasePath (default /auth):
//
//	GET       {base}/login                   provider chooser
//	GET       {base}/{provider}/login        redirect login (302 to the provider), or the password form
//	POST      {base}/{provider}/login        password login (form or JSON)
//	GET       {base}/{provider}/callback     authorization-code callback (or the implicit fragment page)
//	POST      {base}/{provider}/implicit     implicit grant: fragment values posted by the callback page
//	GET       {base}/{provider}/logged-out   return from RP-initiated logout (EndSessionProvider)
//	POST      {base}/{provider}/backchannel-logout  back-channel logout token (BackChannelLogoutProvider)
//	GET|POST  {base}/logout                  confirmation page | logout (CSRF-protected)
//	POST      {base}/token                   mint a bearer JWT for the session (Config.JWT)
//	POST      {base}/token/revoke            end a bearer JWT's session, RFC 7009 shaped (Config.JWT)
//	GET       {base}/.well-known/jwks.json   the JWT public keys (Config.JWT)
//
// Mount it at BasePath+"/" on a mux: mux.Handle("/auth/", auth.Handler()).
// It loads the session itself unless [Auth.Wrap] is already around it.
func (a *Auth) Handler() http.Handler {
	return a.ensureLoaded(http.HandlerFunc(a.route))
}

func (a *Auth) route(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, a.base+"/")
	if !ok {
		a.notFound(w, r)
		return
	}
	switch rest {
	case "login":
		if !allow(r, http.MethodGet, http.MethodHead) {
			a.methodNotAllowed(w, r, "GET, HEAD")
			return
		}
		a.chooser(w, r, "", http.StatusOK)
		return
	case "logout":
		a.logout(w, r)
		return
	case "sessions", "sessions/end", "sessions/end-others":
		a.sessionsPage(w, r, strings.TrimPrefix(strings.TrimPrefix(rest, "sessions"), "/"))
		return
	case "token":
		a.token(w, r)
		return
	case "token/revoke":
		a.revokeToken(w, r)
		return
	case ".well-known/jwks.json":
		if a.cfg.JWT == nil {
			a.notFound(w, r)
			return
		}
		if !allow(r, http.MethodGet, http.MethodHead) {
			a.methodNotAllowed(w, r, "GET, HEAD")
			return
		}
		if _, err := r.Cookie(a.sessions.Sessions().Cookie.Name); err == nil {
			// The response may refresh the session cookie (idle
			// timeout): it must not be cached, or a shared cache could
			// hand one user's cookie to another.
			w = &noStoreWriter{ResponseWriter: w}
		}
		a.cfg.JWT.JWKS().ServeHTTP(w, r)
		return
	}
	name, action, ok := strings.Cut(rest, "/")
	p, known := a.providers[name]
	if !ok || !known {
		a.notFound(w, r)
		return
	}
	switch action {
	case "login":
		if pp, isPassword := p.(provider.PasswordProvider); isPassword {
			if _, isRedirect := p.(provider.RedirectProvider); !isRedirect {
				a.passwordLogin(w, r, pp)
				return
			}
		}
		if !allow(r, http.MethodGet, http.MethodHead) {
			a.methodNotAllowed(w, r, "GET, HEAD")
			return
		}
		a.redirectLogin(w, r, p.(provider.RedirectProvider))
	case "callback":
		rp, isRedirect := p.(provider.RedirectProvider)
		if !isRedirect {
			a.notFound(w, r)
			return
		}
		if !allow(r, http.MethodGet) {
			a.methodNotAllowed(w, r, "GET")
			return
		}
		a.callback(w, r, rp)
	case "logged-out":
		if _, ok := p.(EndSessionProvider); !ok {
			a.notFound(w, r)
			return
		}
		if !allow(r, http.MethodGet, http.MethodHead) {
			a.methodNotAllowed(w, r, "GET, HEAD")
			return
		}
		a.loggedOut(w, r, name)
	case "backchannel-logout":
		bp, ok := p.(BackChannelLogoutProvider)
		if !ok {
			a.notFound(w, r)
			return
		}
		a.backChannelLogout(w, r, bp, name)
	case "implicit":
		if !a.implicit[name] {
			a.notFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			a.methodNotAllowed(w, r, "POST")
			return
		}
		a.implicitPost(w, r, p.(provider.ImplicitProvider))
	default:
		a.notFound(w, r)
	}
}

// limitKeys are the rate-limit keys of a login start or callback: the
// client IP and, when the request carries a session this server issued
// (one the store found), that session (hashed, so the limiter holds no
// session token). A cookie value the store does not know adds no key, so
// clients cannot mint limiter entries by rotating made-up cookies.
func (a *Auth) limitKeys(r *http.Request) []string {
	keys := []string{"ip:" + a.cfg.ClientIP(r)}
	if tok := a.sessions.Sessions().Token(r.Context()); tok != "" {
		keys = append(keys, hashKey("session:", tok))
	}
	return keys
}

func allow(r *http.Request, methods ...string) bool { return slices.Contains(methods, r.Method) }

// redirectLogin starts an authorization-code (or opted-in implicit) login:
// a fresh state (CSRF token, RFC 6749 §10.12, RFC 9700 §2.1) and PKCE S256
// verifier (RFC 7636) per attempt, kept server-side in the session keyed by
// state so several tabs can log in at once. The requested scopes come from
// configuration only; a ?scope= parameter is ignored (RFC 9700 §2.3).
func (a *Auth) redirectLogin(w http.ResponseWriter, r *http.Request, p provider.RedirectProvider) {
	r, op := a.startOp(r, telemetry.LoginStart, p.Name())
	defer op.End()
	ctx := r.Context()
	q := r.URL.Query()
	name := p.Name()
	keys := a.limitKeys(r)
	if wait := a.loginLimiter.hit(a.now(), keys...); wait > 0 {
		a.fail(w, r, failure{status: http.StatusTooManyRequests, code: "rate_limited", provider: name, retryAfter: wait,
			message: "Too many sign-in attempts. Please wait a minute and try again."})
		return
	}
	att := session.Attempt{
		State:    provider.NewState(),
		Provider: name,
		Verifier: provider.NewVerifier(),
		ReturnTo: a.returnTo(q.Get("return_to")),
		Implicit: a.implicit[name],
	}
	if _, oidc := p.(provider.NonceExchanger); oidc && !att.Implicit {
		// OpenID Connect Core §3.1.2.1: a fresh nonce per attempt, kept
		// server-side with it; the ID token must echo it.
		att.Nonce = provider.NewState()
	}
	if id := q.Get("scopes"); id != "" {
		if extra, ok := a.scopeSet(id); ok {
			att.Scopes = a.scopesWithExtra(ctx, name, extra)
		}
	}
	if err := a.sessions.PutAttempt(ctx, att); err != nil {
		if errors.Is(err, session.ErrTooLarge) {
			// The scopes (configuration or RequireScopes) exceed the
			// attempt's bounds: a server misconfiguration that no retry
			// can fix.
			a.fail(w, r, failure{status: http.StatusInternalServerError, code: "login_request_too_large", provider: name, severe: true,
				message: "login request too large: too many or too long scopes", err: err})
			return
		}
		a.fail(w, r, storeFailure(name, err))
		return
	}
	req := provider.AuthRequest{State: att.State, Scopes: att.Scopes, Nonce: att.Nonce}
	var target string
	if att.Implicit {
		target = p.(provider.ImplicitProvider).ImplicitAuthURL(req)
	} else {
		req.CodeChallenge = provider.S256Challenge(att.Verifier)
		target = p.AuthURL(req)
	}
	a.logInfo(ctx, "gatehouse: login started", slog.String("event", "login_start"), slog.String("provider", name), slog.Bool("implicit", att.Implicit))
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

// IssuerProvider is an optional interface of a provider.RedirectProvider
// that knows its issuer identifier. When the callback carries an "iss"
// parameter (RFC 9207) it must equal Issuer exactly; when required is true
// a callback without "iss" is refused too (mix-up defence, RFC 9700
// §4.4.2.1).
type IssuerProvider interface {
	Issuer() (issuer string, required bool)
}

// callback finishes a redirect login. Order matters: the attempt is taken
// (removed) by state before any upstream call (RFC 9700 §2.1, §4.2.4), so a
// replayed or forged callback causes no token request; error= responses
// consume the state too.
func (a *Auth) callback(w http.ResponseWriter, r *http.Request, p provider.RedirectProvider) {
	r, op := a.startOp(r, telemetry.Callback, p.Name())
	defer op.End()
	ctx := r.Context()
	name := p.Name()
	q := r.URL.Query()
	restart := a.LoginURL(name, "")
	keys := a.limitKeys(r)
	if wait := a.cbLimiter.blocked(a.now(), keys...); wait > 0 {
		a.fail(w, r, failure{status: http.StatusTooManyRequests, code: "rate_limited", provider: name, retryAfter: wait,
			message: "Too many failed sign-in attempts. Please wait a minute and try again."})
		return
	}
	state := q.Get("state")
	if state == "" {
		if a.implicit[name] && q.Get("code") == "" && q.Get("error") == "" {
			a.renderPage(w, r, http.StatusOK, "implicit", &ImplicitPage{PageData: PageData{Title: a.pages.texts.SigningIn}, Action: a.base + "/" + name + "/implicit"})
			return
		}
		a.cbLimiter.fail(a.now(), keys...)
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "missing_state", provider: name, retry: restart,
			message: "OAuth login failed: the provider's response carries no state. Please restart the login."})
		return
	}
	att, err := a.sessions.TakeAttempt(ctx, name, state)
	if err != nil {
		f := attemptFailure(name, restart, err)
		if f.status < 500 {
			a.cbLimiter.fail(a.now(), keys...)
		}
		if a.replayedWhileSignedIn(w, r, name, state, err) {
			return
		}
		a.fail(w, r, f)
		return
	}
	a.markAttemptUsed(ctx, name, state, att.ReturnTo)
	// RFC 9207 §2.4: the response's issuer is checked before anything in
	// it is acted on, error responses included (an error page must not be
	// shown for a response a mix-up attacker forged).
	if ip, ok := p.(IssuerProvider); ok {
		iss, required := ip.Issuer()
		got, present := q["iss"]
		if iss != "" && ((present && (len(got) != 1 || got[0] != iss)) || (!present && required)) {
			a.fail(w, r, failure{status: http.StatusBadRequest, code: "issuer_mismatch", provider: name, retry: restart,
				message: "OAuth login failed: the response came from an unexpected issuer. Please restart the login."})
			return
		}
	}
	if code := q.Get("error"); code != "" {
		status := http.StatusBadRequest
		if code == "access_denied" {
			status = http.StatusForbidden
		}
		textKey := ""
		if code == "access_denied" {
			textKey = "access_denied"
		}
		a.fail(w, r, failure{status: status, code: "provider_error", provider: name, retry: a.LoginURL(name, att.ReturnTo), textKey: textKey,
			message: "The provider did not complete the sign-in (" + printable(code, 64) + ").",
			detail:  printable(q.Get("error_description"), 300),
			err:     errors.New("authorization error: " + printable(code, 64))})
		return
	}
	if att.Implicit {
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "wrong_response_type", provider: name, retry: restart,
			message: "OAuth login failed: unexpected response for this login. Please restart the login."})
		return
	}
	code := q.Get("code")
	if code == "" {
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "missing_code", provider: name, retry: restart,
			message: "OAuth login failed. Please restart flow."})
		return
	}
	var tok *provider.Token
	xctx, xop := a.tel.Start(ctx, telemetry.Exchange, name)
	if ne, ok := p.(provider.NonceExchanger); ok && att.Nonce != "" {
		tok, err = ne.ExchangeNonce(xctx, code, att.Verifier, att.Nonce)
	} else {
		tok, err = p.Exchange(xctx, code, att.Verifier)
	}
	xop.EndErr(err)
	if err != nil {
		a.fail(w, r, upstreamFailure(name, "exchange", a.LoginURL(name, att.ReturnTo), err))
		return
	}
	a.finishLogin(w, r, p, tok, att.ReturnTo, false)
}

// implicitPost receives the fragment values posted by the implicit page.
// Like a callback it is rate limited by Config.CallbackRateLimit: posts
// with a missing, unknown, replayed or expired state count as failures, so
// junk posts cannot hammer the session store.
func (a *Auth) implicitPost(w http.ResponseWriter, r *http.Request, p provider.ImplicitProvider) {
	r, op := a.startOp(r, telemetry.Callback, p.Name())
	defer op.End()
	ctx := r.Context()
	name := p.Name()
	restart := a.LoginURL(name, "")
	keys := a.limitKeys(r)
	if wait := a.cbLimiter.blocked(a.now(), keys...); wait > 0 {
		a.fail(w, r, failure{status: http.StatusTooManyRequests, code: "rate_limited", provider: name, retryAfter: wait,
			message: "Too many failed sign-in attempts. Please wait a minute and try again."})
		return
	}
	if !a.parseForm(w, r, name) {
		a.cbLimiter.fail(a.now(), keys...)
		return
	}
	vals := url.Values{}
	for k, v := range r.PostForm {
		vals[k] = v
	}
	state := vals.Get("state")
	if state == "" {
		a.cbLimiter.fail(a.now(), keys...)
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "missing_state", provider: name, retry: restart,
			message: "OAuth login failed: the provider's response carries no state. Please restart the login."})
		return
	}
	att, err := a.sessions.TakeAttempt(ctx, name, state)
	if err != nil {
		f := attemptFailure(name, restart, err)
		if f.status < 500 {
			a.cbLimiter.fail(a.now(), keys...)
		}
		if a.replayedWhileSignedIn(w, r, name, state, err) {
			return
		}
		a.fail(w, r, f)
		return
	}
	a.markAttemptUsed(ctx, name, state, att.ReturnTo)
	if !att.Implicit {
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "wrong_response_type", provider: name, retry: restart,
			message: "OAuth login failed: unexpected response for this login. Please restart the login."})
		return
	}
	vals.Del("state")
	tok, err := p.TokenFromFragment(vals)
	if err != nil {
		a.fail(w, r, upstreamFailure(name, "implicit", a.LoginURL(name, att.ReturnTo), err))
		return
	}
	a.finishLogin(w, r, p, tok, att.ReturnTo, false)
}

// finishLogin fetches the identity, stores the login (SaveLogin renews the
// session id: session fixation, OWASP Session Management), rotates the CSRF
// synchroniser token and answers: a
// 303 to returnTo for browsers, JSON for API clients.
func (a *Auth) finishLogin(w http.ResponseWriter, r *http.Request, p provider.Provider, tok *provider.Token, returnTo string, api bool) {
	ctx := r.Context()
	name := p.Name()
	id, err := p.Identity(ctx, tok)
	if err != nil {
		a.fail(w, r, upstreamFailure(name, "identity", a.LoginURL(name, returnTo), err))
		return
	}
	if id == nil || id.Subject == "" {
		a.fail(w, r, upstreamFailure(name, "identity", a.LoginURL(name, returnTo), &provider.Error{Provider: name, Op: "identity", Kind: provider.ErrBadResponse}))
		return
	}
	ident := *id
	ident.Provider = name
	login := &session.Login{Provider: name, Identity: ident, Token: tok, LoginAt: a.now(), Device: session.DeviceSummary(r.UserAgent())}
	if err := a.sessions.SaveLogin(ctx, login); err != nil {
		if errors.Is(err, session.ErrTooLarge) {
			// The provider's tokens or identity exceed the session's
			// bounds. The state and code are spent: retrying cannot
			// help, only a new login.
			a.fail(w, r, failure{status: http.StatusBadGateway, code: "provider_bad_response", provider: name, retry: a.LoginURL(name, returnTo),
				message: "The sign-in provider sent a login too large to keep. Please start again.", err: err})
			return
		}
		a.fail(w, r, storeFailure(name, err))
		return
	}
	// A new synchroniser token after the privilege change (OWASP CSRF
	// Prevention Cheat Sheet): a token seen before the login is void.
	a.sessions.Sessions().Put(ctx, csrfKey, provider.NewState())
	a.logInfo(ctx, "gatehouse: login", slog.String("event", "login"), slog.String("provider", name), slog.String("subject", ident.Subject))
	// OnLogin sees the new login through IdentityFrom and LoginFrom (for
	// OpenID Connect, Identity.Raw holds the verified ID token claims).
	hookCtx := context.WithValue(ctx, authKey, &authInfo{identity: ident, login: login, scopes: slices.Clone(tok.Scopes)})
	a.emit(hookCtx, Event{Type: EventLogin, Provider: name, Subject: ident.Subject})
	if api {
		a.loginJSON(w, r, login)
		return
	}
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Location", a.returnTo(returnTo))
	w.WriteHeader(http.StatusSeeOther)
}

// tokenResponse is the body of POST {base}/token and of JSON password
// logins when Config.JWT is set (RFC 6749 §5.1 shape).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (a *Auth) loginJSON(w http.ResponseWriter, r *http.Request, login *session.Login) {
	if a.cfg.JWT != nil {
		a.mint(w, r, login)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status   string             `json:"status"`
		Identity *provider.Identity `json:"identity"`
	}{"logged_in", &login.Identity})
}

func (a *Auth) mint(w http.ResponseWriter, r *http.Request, login *session.Login) {
	var scopes []string
	if login.Token != nil {
		scopes = login.Token.Scopes
	}
	jwt, exp, err := a.cfg.JWT.Mint(login.Identity.Subject, login.ID, login.Provider, scopes)
	if err != nil {
		a.fail(w, r, failure{status: http.StatusInternalServerError, code: "server_error", provider: login.Provider,
			message: "The access token could not be issued.", err: err})
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: jwt, TokenType: "Bearer", ExpiresIn: int64(exp.Seconds())})
}

// passwordLogin serves a password provider's login: GET renders the form,
// POST takes the form (with the session's CSRF token) or JSON. The password
// is passed to the provider and dropped; it is never logged, stored or
// echoed. Failures are rate-limited per session, per client IP and per
// username (RFC 6749 §4.3.2).
func (a *Auth) passwordLogin(w http.ResponseWriter, r *http.Request, p provider.PasswordProvider) {
	ctx := r.Context()
	name := p.Name()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		a.passwordForm(w, r, p, "", "", http.StatusOK, a.returnTo(r.URL.Query().Get("return_to")))
		return
	case http.MethodPost:
	default:
		a.methodNotAllowed(w, r, "GET, HEAD, POST")
		return
	}
	r, op := a.startOp(r, telemetry.PasswordLogin, name)
	defer op.End()
	ctx = r.Context()
	var username, password, returnTo string
	api := false
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		// A cross-site page cannot send this content type without a CORS
		// preflight, which we never grant: JSON posts are CSRF-safe.
		api = true
		var body struct {
			Username string `json:"username"`
			Password string `json:"password"`
			ReturnTo string `json:"return_to"`
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				a.fail(w, r, tooLarge(name))
				return
			}
			a.fail(w, r, failure{status: http.StatusBadRequest, code: "invalid_request", provider: name, message: "The request body is not valid JSON."})
			return
		}
		username, password, returnTo = body.Username, body.Password, body.ReturnTo
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if !a.parseForm(w, r, name) {
			return
		}
		username, password, returnTo = r.PostForm.Get("username"), r.PostForm.Get("password"), r.PostForm.Get("return_to")
		if !a.csrfTokenOK(r, r.PostForm.Get("csrf_token")) {
			if a.sameOrigin(r) {
				a.staleForm(w, r, p, strings.TrimSpace(username), a.returnTo(returnTo))
				return
			}
			a.fail(w, r, failure{status: http.StatusForbidden, code: "csrf", provider: name, retry: a.LoginURL(name, ""),
				message: "This form has expired or was not sent by this site. Please try again."})
			return
		}
	default:
		a.fail(w, r, failure{status: http.StatusUnsupportedMediaType, code: "invalid_request", provider: name,
			message: "Send a form or a JSON body."})
		return
	}
	returnTo = a.returnTo(returnTo)
	username = strings.TrimSpace(username)
	if username == "" || password == "" || len(username) > 256 || len(password) > 1024 {
		a.failPassword(w, r, p, api, username, returnTo, http.StatusBadRequest, "invalid_request", "Enter your username and password.", 0)
		return
	}
	keys := []string{"ip:" + a.cfg.ClientIP(r), hashKey("user:", strings.ToLower(username))}
	if csrf := a.sessions.Sessions().GetString(ctx, csrfKey); csrf != "" {
		keys = append(keys, hashKey("session:", csrf))
	}
	// The attempt is counted before the upstream sees the password (in the
	// shared store when there is one) and given back unless it failed, so
	// that concurrent guesses cannot all pass the check before any of them
	// is counted.
	if wait := a.limiter.hit(a.now(), keys...); wait > 0 {
		a.failPassword(w, r, p, api, username, returnTo, http.StatusTooManyRequests, "rate_limited", "Too many failed sign-in attempts. Please wait a minute and try again.", wait)
		return
	}
	xctx, xop := a.tel.Start(ctx, telemetry.Exchange, name)
	tok, err := p.Login(xctx, username, password)
	xop.EndErr(err)
	password = ""
	if err != nil {
		if errors.Is(err, provider.ErrInvalidCredentials) {
			a.failPassword(w, r, p, api, username, returnTo, http.StatusUnauthorized, "invalid_credentials", "Invalid username or password.", 0)
			return
		}
		a.limiter.refund(a.now(), keys...)
		a.fail(w, r, upstreamFailure(name, "login", a.LoginURL(name, returnTo), err))
		return
	}
	a.limiter.refund(a.now(), keys...)
	a.finishLogin(w, r, p, tok, returnTo, api)
}

// parseForm reads a bounded urlencoded or multipart/form-data body into
// r.PostForm (browsers send multipart for forms with
// enctype="multipart/form-data"); false means a response was written.
// Multipart file parts are read (within MaxBodyBytes) but never used, and
// any temporary files are removed before parseForm returns.
func (a *Auth) parseForm(w http.ResponseWriter, r *http.Request, name string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err = r.ParseMultipartForm(MaxBodyBytes)
		if r.MultipartForm != nil {
			_ = r.MultipartForm.RemoveAll()
		}
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, multipart.ErrMessageTooLarge) {
			a.fail(w, r, tooLarge(name))
			return false
		}
		a.fail(w, r, failure{status: http.StatusBadRequest, code: "invalid_request", provider: name, message: "The form could not be read."})
		return false
	}
	return true
}

// logout: GET renders a confirmation page; POST (CSRF-checked: the
// session's synchroniser token, or a same-origin Fetch Metadata / Origin
// check) destroys the session first, then revokes upstream in the
// background, then 303s to a validated return path. Idempotent.
func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		ret := a.returnTo(r.URL.Query().Get("return_to"))
		a.renderPage(w, r, http.StatusOK, "logout", &LogoutPage{PageData: PageData{Title: a.pages.texts.SignOut}, CSRF: a.CSRFToken(ctx), ReturnTo: ret, Action: a.base + "/logout"})
		return
	case http.MethodPost:
	default:
		a.methodNotAllowed(w, r, "GET, HEAD, POST")
		return
	}
	r, op := a.startOp(r, telemetry.Logout, "")
	defer op.End()
	ctx = r.Context()
	var submitted, ret string
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		if !a.parseForm(w, r, "") {
			return
		}
		submitted, ret = r.PostForm.Get("csrf_token"), r.PostForm.Get("return_to")
	}
	if !a.csrfTokenOK(r, submitted) && !a.sameOrigin(r) {
		a.fail(w, r, failure{status: http.StatusForbidden, code: "csrf", textKey: "logout_csrf", retry: a.base + "/logout",
			message: "Sign-out was not confirmed from this site. Use the sign-out button to try again."})
		return
	}
	login, err := a.sessions.Logout(ctx)
	if err != nil {
		a.fail(w, r, storeFailure("", err))
		return
	}
	var endSession string
	if login != nil {
		op.SetProvider(login.Provider)
		a.logInfo(ctx, "gatehouse: logout", slog.String("event", "logout"), slog.String("provider", login.Provider), slog.String("subject", login.Identity.Subject))
		a.emit(ctx, Event{Type: EventLogout, Provider: login.Provider, Subject: login.Identity.Subject})
		a.revoke(ctx, login)
		if !wantsJSON(r) {
			// OpenID Connect RP-Initiated Logout: on to the provider,
			// which sends the browser back to {base}/{provider}/logged-out.
			endSession = a.endSessionTarget(ctx, login, a.returnTo(ret))
			// The next sign-in page says so (a one-time notice).
			a.setNotice(ctx, noticeSignedOut)
		}
	}
	if wantsJSON(r) {
		noStore(w)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	noStore(w)
	if endSession != "" {
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Location", endSession)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	w.Header().Set("Location", a.returnTo(ret))
	w.WriteHeader(http.StatusSeeOther)
}

// Revocation retry policy (RFC 7009 §2.2.1: on 503 the client may retry
// later, honouring Retry-After).
const (
	// revokeAttempts is the most revocation requests made per logout.
	revokeAttempts = 3
	// revokeMinWait is the wait before a retry when the server names none.
	revokeMinWait = time.Second
	// revokeMaxWait caps a server-supplied Retry-After.
	revokeMaxWait = time.Minute
)

// revoke revokes the login's tokens upstream in the background; the local
// logout has already happened and never waits for it (RFC 7009 §2.1).
// Each attempt is bounded by RevokeTimeout. When the provider is
// unavailable (503 and other 5xx, timeouts, connection errors) the
// revocation is retried, after the provider's Retry-After
// (capped at one minute) or one second, at most three attempts in all
// (RFC 7009 §2.2.1). Any other error ends it. Failures are logged without
// the token. Close cancels pending retries.
func (a *Auth) revoke(ctx context.Context, login *session.Login) {
	p, ok := a.providers[login.Provider]
	rv, canRevoke := p.(provider.Revoker)
	if !ok || !canRevoke || login.Token == nil {
		return
	}
	tok := login.Token.Clone()
	bg := telemetry.Detach(context.WithoutCancel(ctx)) // its failures are not the request's
	a.revokes.Add(1)
	go func() {
		defer a.revokes.Done()
		bg, op := a.tel.Start(bg, telemetry.Revoke, login.Provider) // one span for all attempts
		var err error
		attempts := 0
		defer func() { op.SetAttempts(attempts); op.EndErr(err) }()
		for attempt := 1; ; attempt++ {
			attempts = attempt
			actx, cancel := context.WithTimeout(bg, a.cfg.RevokeTimeout)
			err = rv.Revoke(actx, tok)
			cancel()
			if err == nil {
				return
			}
			retry := attempt < revokeAttempts && errors.Is(err, provider.ErrUnavailable)
			wait := revokeMinWait
			if ra := provider.RetryAfter(err); ra > wait {
				wait = min(ra, revokeMaxWait)
			}
			attrs := []slog.Attr{slog.String("event", "revoke_failed"), slog.String("provider", login.Provider),
				slog.Int("attempt", attempt), slog.String("error", err.Error())}
			if retry {
				attrs = append(attrs, slog.Duration("retry_in", wait))
			}
			a.log.LogAttrs(bg, slog.LevelWarn, "gatehouse: upstream revocation failed", attrs...)
			if !retry {
				a.emit(bg, Event{Type: EventError, Provider: login.Provider, Subject: login.Identity.Subject, Code: "revoke_failed", Err: err})
				return
			}
			select {
			case <-a.after(wait):
			case <-a.stop:
				a.emit(bg, Event{Type: EventError, Provider: login.Provider, Subject: login.Identity.Subject, Code: "revoke_failed", Err: err})
				return
			}
		}
	}()
}

// token mints a bearer JWT for the logged-in cookie session (POST, CSRF:
// X-CSRF-Token / csrf_token, or same origin).
func (a *Auth) token(w http.ResponseWriter, r *http.Request) {
	if a.cfg.JWT == nil {
		a.notFound(w, r)
		return
	}
	// Its answer is a JSON token, so its failures are JSON too unless a
	// browser asks for HTML (curl sends */*).
	if !asksForHTML(r) {
		r = asAPI(r)
	}
	if r.Method != http.MethodPost {
		a.methodNotAllowed(w, r, "POST")
		return
	}
	var submitted string
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		if !a.parseForm(w, r, "") {
			return
		}
		submitted = r.PostForm.Get("csrf_token")
	}
	if !a.csrfTokenOK(r, submitted) && !a.sameOrigin(r) {
		a.fail(w, r, failure{status: http.StatusForbidden, code: "csrf", message: "The request was not sent by this site."})
		return
	}
	login, err := a.sessions.CurrentLogin(r.Context())
	if err != nil {
		a.fail(w, r, storeFailure("", err))
		return
	}
	if login == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		a.fail(w, r, failure{status: http.StatusUnauthorized, code: "unauthorized", message: "Sign in first."})
		return
	}
	a.mint(w, r, login)
}

// printable keeps a provider-supplied string printable and short; it is
// escaped again by html/template or encoding/json when shown.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

func tooLarge(name string) failure {
	return failure{status: http.StatusRequestEntityTooLarge, code: "request_too_large", provider: name, message: "The request body is too large."}
}

func storeFailure(name string, err error) failure {
	return failure{status: http.StatusServiceUnavailable, code: "session_unavailable", provider: name,
		message: "Sign-in is temporarily unavailable. Please try again in a moment.", err: err}
}

// attemptFailure explains why a callback's login attempt could not be used.
func attemptFailure(name, restart string, err error) failure {
	f := failure{status: http.StatusBadRequest, provider: name, retry: restart, err: err}
	switch {
	case errors.Is(err, session.ErrAttemptExpired):
		f.code, f.message = "login_expired", "This login expired. Please restart the login."
	case errors.Is(err, session.ErrAttemptProvider):
		f.code, f.message = "provider_mismatch", "This response belongs to a login with another provider. Please restart the login."
	case errors.Is(err, session.ErrAttemptNotFound):
		f.code, f.message = "state_not_found", "We could not find the login this response belongs to. Please restart the login."
		f.hint = "the browser did not send the session cookie back (the login started on another host name than the callback URL, e.g. localhost and 127.0.0.1, or the cookie's SameSite or Secure setting blocked it), the attempt expired and was evicted, or the callback was already used (Back, reload)"
	default:
		return storeFailure(name, err)
	}
	return f
}

// upstreamFailure maps a provider error to a status: invalid grant or
// rejected → 400 (restart), outage → 503, bad response → 502.
func upstreamFailure(name, op, restart string, err error) failure {
	f := failure{provider: name, retry: restart, err: err}
	switch {
	case errors.Is(err, provider.ErrUnavailable):
		f.status, f.code, f.message = http.StatusServiceUnavailable, "provider_unavailable", "The sign-in provider is not reachable right now. Please try again in a moment."
		f.retryAfter = provider.RetryAfter(err)
	case errors.Is(err, provider.ErrBadResponse):
		f.status, f.code, f.message = http.StatusBadGateway, "provider_bad_response", "The sign-in provider sent an unexpected answer. Please restart the login."
	default:
		f.status, f.code, f.message = http.StatusBadRequest, "login_failed", "OAuth login failed. Please restart flow."
	}
	_ = op
	return f
}
