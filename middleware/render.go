package middleware

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
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
	accept := r.Header.Get("Accept")
	if accept == "" {
		return false
	}
	jsonQ, htmlQ := -1.0, -1.0
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
	return jsonQ > 0 && jsonQ > htmlQ
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
	return "default-src 'none'; style-src 'nonce-" + nonce + "'; img-src 'self' data:; form-action " + a.formAction() +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// page is the data every template gets.
type page struct {
	Title string
	Nonce string
	Base  string
	// Chooser and password form.
	Providers []providerEntry
	ReturnTo  string
	CSRF      string
	Error     string
	Username  string
	// Error page.
	Message string
	Reasons []string
	Retry   string
	Detail  string
	// Implicit fragment page.
	Action string
}

type providerEntry struct {
	Name     string
	LoginURL string
	Password bool
	Action   string
	CSRF     string
	ReturnTo string
	Username string
}

func (a *Auth) renderHTML(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Nonce = newNonce()
	p.Base = a.base
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, p); err != nil {
		a.log.LogAttrs(r.Context(), slog.LevelError, "gatehouse: render page", slog.String("template", name), slog.String("error", err.Error()))
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("internal error")
	}
	csp := a.pageCSP(p.Nonce)
	if name == "implicit" {
		csp = "default-src 'none'; script-src 'nonce-" + p.Nonce + "'; style-src 'nonce-" + p.Nonce + "'; form-action " +
			a.formAction() + "; frame-ancestors 'none'; base-uri 'none'"
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
	code       string // stable machine code
	title      string // page title
	message    string // safe, user-facing text
	reasons    []string
	retry      string // a link to start again
	detail     string // extra safe text (escaped), e.g. the provider's error_description
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
		secs := int((f.retryAfter + time.Second - 1) / time.Second)
		if secs <= 0 {
			secs = 5
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
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

// writeFailure writes f's answer: JSON for API clients, else the error
// page.
func (a *Auth) writeFailure(w http.ResponseWriter, r *http.Request, f failure) {
	if isAPI(r) {
		if f.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		}
		writeJSON(w, f.status, apiError{Error: f.code, Description: f.message})
		return
	}
	title := f.title
	if title == "" {
		title = http.StatusText(f.status)
	}
	a.renderHTML(w, r, f.status, "error", page{Title: title, Message: f.message, Reasons: f.reasons, Retry: f.retry, Detail: f.detail})
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

var templates = template.Must(template.New("gatehouse").Parse(pageTemplates))

const pageTemplates = `
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#f4f5f7;--card:#fff;--muted:#5b6470;--accent:#1f5fbf;--err:#b3261e;--border:#d0d5dc}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--bg:#15171a;--card:#202328;--muted:#a4abb5;--accent:#8ab4f8;--err:#f2b8b5;--border:#3c4048}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:26rem;margin:2rem auto;padding:1.5rem;background:var(--card);border:1px solid var(--border);border-radius:12px}
@media (max-width:30rem){main{margin:0;border-radius:0;border-width:0 0 1px}}
h1{font-size:1.4rem;margin:0 0 1rem}
p,li{color:var(--muted)}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=password]{width:100%;padding:.65rem .75rem;font:inherit;color:inherit;background:transparent;border:1px solid var(--border);border-radius:8px}
input:focus,a:focus,button:focus{outline:3px solid var(--accent);outline-offset:2px}
.btn,button{display:block;width:100%;margin:.75rem 0 0;padding:.7rem 1rem;font:inherit;font-weight:600;text-align:center;text-decoration:none;color:#fff;background:var(--accent);border:0;border-radius:8px;cursor:pointer}
@media (prefers-color-scheme:dark){.btn,button{color:#15171a}}
.error{color:var(--err);font-weight:600}
.detail{font-family:ui-monospace,monospace;font-size:.9rem;word-break:break-word}
hr{border:0;border-top:1px solid var(--border);margin:1.25rem 0}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{end}}

{{define "foot"}}</main>
</body>
</html>
{{end}}

{{define "passwordform"}}<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="username-{{.Name}}">Username</label>
<input type="text" id="username-{{.Name}}" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="{{.Username}}">
<label for="password-{{.Name}}">Password</label>
<input type="password" id="password-{{.Name}}" name="password" autocomplete="current-password" required>
<button type="submit">Sign in with {{.Name}}</button>
</form>{{end}}

{{define "chooser"}}{{template "head" .}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{range $i, $p := .Providers}}{{if $i}}<hr>{{end}}
{{if $p.Password}}{{template "passwordform" $p}}{{else}}<a class="btn" href="{{$p.LoginURL}}">Continue with {{$p.Name}}</a>{{end}}
{{end}}
{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}
<p role="alert">{{.Message}}</p>
{{if .Detail}}<p class="detail">{{.Detail}}</p>{{end}}
{{if .Reasons}}<p>The most likely reasons:</p>
<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Retry}}<a class="btn" href="{{.Retry}}">Start again</a>{{end}}
{{template "foot" .}}{{end}}

{{define "logout"}}{{template "head" .}}
<p>Do you want to sign out?</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<button type="submit">Sign out</button>
</form>
{{template "foot" .}}{{end}}

{{define "implicit"}}{{template "head" .}}
<p id="status">Completing sign-in…</p>
<noscript><p class="error">JavaScript is needed to finish this sign-in.</p></noscript>
<form id="gatehouse-implicit" method="post" action="{{.Action}}"></form>
<script nonce="{{.Nonce}}">
(function () {
  var frag = window.location.hash.replace(/^#/, "");
  history.replaceState(null, "", window.location.pathname);
  var form = document.getElementById("gatehouse-implicit");
  var params = new URLSearchParams(frag);
  params.forEach(function (value, key) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = key;
    input.value = value;
    form.appendChild(input);
  });
  form.submit();
})();
</script>
{{template "foot" .}}{{end}}
`
