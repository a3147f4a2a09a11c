package middleware

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// wantsJSON tells API clients from browsers: an Authorization header, an
// X-Requested-With header, or an Accept header that asks for JSON rather
// than HTML.
func wantsJSON(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" || r.Header.Get("X-Requested-With") != "" {
		return true
	}
	jsonQ, htmlQ := acceptQ(r.Header.Get("Accept"))
	return jsonQ > 0 && jsonQ > htmlQ
}

// asksForHTML reports whether the Accept header names HTML explicitly (a
// browser); curl's */* and no Accept header do not.
func asksForHTML(r *http.Request) bool {
	_, htmlQ := acceptQ(r.Header.Get("Accept"))
	return htmlQ > 0
}

// acceptQ returns the highest q the Accept header gives JSON and HTML
// media types (-1 when it names none).
func acceptQ(accept string) (jsonQ, htmlQ float64) {
	jsonQ, htmlQ = -1.0, -1.0
	if accept == "" {
		return jsonQ, htmlQ
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			jsonQ = max(jsonQ, q)
		case mt == "text/html" || mt == "application/xhtml+xml":
			htmlQ = max(htmlQ, q)
		}
	}
	return jsonQ, htmlQ
}

func newNonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// noStore marks a response as uncacheable (RFC 6749 §5.1; OWASP session
// management: every response that sets or rotates the session cookie).
func noStore(w http.ResponseWriter) {
	// One backing array for both values (this runs on every protected
	// request); the capacity limits keep an Add from writing into the other.
	v := []string{"no-store", "no-cache"}
	h := w.Header()
	h["Cache-Control"] = v[0:1:1]
	h["Pragma"] = v[1:2:2]
}

// noStoreWriter forces Cache-Control: no-store onto a response whatever
// the handler set, for otherwise cacheable documents served to a request
// that carries the session cookie.
type noStoreWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *noStoreWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		noStore(w.ResponseWriter)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *noStoreWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer (http.ResponseController).
func (w *noStoreWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// securityHeaders are sent on every HTML page: framing is forbidden twice
// (CSP frame-ancestors and X-Frame-Options), MIME sniffing is off, nothing
// is cached, and HSTS (RFC 6797) is sent whenever the app is served over
// https: Config.PublicURL is https (also behind a TLS-terminating proxy,
// where the request itself arrives over plain http), or the request came
// over TLS.
func (a *Auth) securityHeaders(w http.ResponseWriter, r *http.Request, csp string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	noStore(w)
	if r.TLS != nil || strings.HasPrefix(a.publicOrigin, "https://") {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// formAction is the CSP form-action source list: our origin, plus the
// allowed return hosts a form's 303 may lead to.
func (a *Auth) formAction() string {
	s := "'self'"
	for _, h := range a.cfg.AllowedReturnHosts {
		s += " https://" + h
	}
	return s
}

func (a *Auth) pageCSP(nonce string) string {
	return "default-src 'none'; style-src 'nonce-" + nonce + "'; img-src 'self' data:" + a.pages.imgSrc + "; form-action " + a.formAction() +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// renderPage renders page name (see [Pages]) with data, after filling
// the fields every page shares, and writes it with the security headers.
// A template that fails is logged and answered with a plain 500.
func (a *Auth) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data pager) {
	d := data.pageData()
	d.Nonce = newNonce()
	d.AppName, d.BasePath, d.Lang, d.Texts = a.cfg.AppName, a.base, a.pages.texts.Lang, a.pages.texts
	d.DocumentTitle = d.Title
	if d.AppName != "" && !strings.Contains(d.Title, d.AppName) {
		d.DocumentTitle += " · " + d.AppName
	}
	var buf bytes.Buffer
	if err := a.pages.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		a.log.LogAttrs(r.Context(), slog.LevelError, "gatehouse: render page", slog.String("template", name), slog.String("error", err.Error()))
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("internal error")
	}
	csp := a.pageCSP(d.Nonce)
	if name == "implicit" {
		csp = "default-src 'none'; script-src 'nonce-" + d.Nonce + "'; style-src 'nonce-" + d.Nonce + "'; img-src 'self' data:" + a.pages.imgSrc +
			"; form-action " + a.formAction() + "; frame-ancestors 'none'; base-uri 'none'"
	}
	a.securityHeaders(w, r, csp)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	noStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the JSON error body (RFC 6749 §5.2 shape).
type apiError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// failure describes an error response.
type failure struct {
	status     int
	code       string   // stable machine code
	title      string   // page title when Texts.Errors has no entry for code
	message    string   // English text for developers: the JSON error_description
	textKey    string   // the Texts.Errors entry of the page when not code (e.g. "access_denied")
	reasons    []string // likely causes when Texts.Errors has no entry for code
	retry      string   // a link to start again
	detail     string   // provider-supplied text (e.g. its error_description): logged and in the JSON, never on the page
	hint       string   // a hint for the app's developers: logged only
	retryAfter time.Duration
	allow      string // for 405
	provider   string
	err        error // logged (safe texts only) and passed to OnError
	severe     bool  // a server misconfiguration: logged at Error
}

// fail answers a failure: HTML for browsers, JSON for API clients, with a
// stable status; logs it and calls OnError.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, f failure) {
	ctx := r.Context()
	attrs := []slog.Attr{
		slog.String("event", "error"),
		slog.String("error_code", f.code),
		slog.Int("status", f.status),
		slog.String("path", r.URL.Path),
	}
	if f.provider != "" {
		attrs = append(attrs, slog.String("provider", f.provider))
	}
	if f.err != nil {
		attrs = append(attrs, slog.String("error", f.err.Error()))
	}
	if f.detail != "" {
		attrs = append(attrs, slog.String("detail", f.detail))
	}
	if f.hint != "" {
		attrs = append(attrs, slog.String("hint", f.hint))
	}
	level := slog.LevelInfo
	if f.status >= 500 {
		level = slog.LevelWarn
	}
	if f.severe {
		level = slog.LevelError
	}
	a.log.LogAttrs(ctx, level, "gatehouse: request failed", attrs...)
	a.emit(ctx, Event{Type: EventError, Provider: f.provider, Code: f.code, Status: f.status, Err: f.err})

	if f.allow != "" {
		w.Header().Set("Allow", f.allow)
	}
	if f.retryAfter > 0 || f.status == http.StatusServiceUnavailable || f.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(f.retryAfter)))
	}
	if h := errorHandlerFrom(ctx); h != nil {
		if f.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		}
		noStore(w)
		h(w, r, &Error{Status: f.status, Code: f.code, Description: f.message, Err: f.err, f: &f, api: isAPI(r)})
		return
	}
	a.writeFailure(w, r, f)
}

// writeFailure writes f's answer: JSON for API clients (the machine code
// and the English description, the provider's own text included), else
// the error page in the words of Config.Pages.Texts.
func (a *Auth) writeFailure(w http.ResponseWriter, r *http.Request, f failure) {
	if isAPI(r) {
		if f.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		}
		desc := f.message
		if f.detail != "" {
			desc += " " + f.detail
		}
		writeJSON(w, f.status, apiError{Error: f.code, Description: desc})
		return
	}
	a.renderPage(w, r, f.status, "error", a.errorPage(f))
}

// errorPage is the error page's data for f.
func (a *Auth) errorPage(f failure) *ErrorPage {
	t := a.pages.texts
	p := &ErrorPage{Status: f.status, Code: f.code, RetryURL: f.retry, ChooserURL: a.chooserFor(f.retry)}
	text, ok := t.errorText(f.textKey, f.code)
	if !ok {
		// A code without an entry: the handler's own title and text.
		text = ErrorText{Title: f.title, Message: f.message, Reasons: f.reasons}
		if text.Message == "" {
			text.Message = t.ErrorMessage
		}
	}
	p.Title = text.Title
	if p.Title == "" {
		p.Title = t.ErrorTitle
	}
	p.Message = fill(text.Message, "{provider}", a.displayName(f.provider), "{app}", a.cfg.AppName)
	p.Reasons = text.Reasons
	if f.retryAfter > 0 || f.status == http.StatusServiceUnavailable || f.status == http.StatusTooManyRequests {
		p.RetryAfter = retryAfterSeconds(f.retryAfter)
		p.Message += " " + t.retryIn(p.RetryAfter)
	}
	return p
}

// retryAfterSeconds is the Retry-After of a wait: whole seconds, rounded
// up, 5 when the wait is unknown.
func retryAfterSeconds(d time.Duration) int {
	secs := int((d + time.Second - 1) / time.Second)
	if secs <= 0 {
		secs = 5
	}
	return secs
}

// chooserFor returns the chooser link that goes with a retry link to a
// provider's login: the same return path, every provider. "" when retry
// is not such a link or there is only one provider.
func (a *Auth) chooserFor(retry string) string {
	if len(a.order) < 2 || retry == "" {
		return ""
	}
	u, err := url.Parse(retry)
	if err != nil || u.Host != "" {
		return ""
	}
	rest, ok := strings.CutPrefix(u.Path, a.base+"/")
	if !ok {
		return ""
	}
	name, action, _ := strings.Cut(rest, "/")
	if _, known := a.providers[name]; !known || action != "login" {
		return ""
	}
	return a.LoginURL("", u.Query().Get("return_to"))
}

func (a *Auth) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	a.fail(w, r, failure{status: http.StatusMethodNotAllowed, code: "method_not_allowed", message: "This method is not allowed here.", allow: allow})
}

func (a *Auth) notFound(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, failure{status: http.StatusNotFound, code: "not_found", message: "There is no such login page."})
}

func attrEvent(v string) slog.Attr    { return slog.String("event", v) }
func attrProvider(v string) slog.Attr { return slog.String("provider", v) }

func (a *Auth) logInfo(ctx context.Context, msg string, attrs ...slog.Attr) {
	a.log.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
}
