package middleware_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// scopeLink logs b in with alpha, calls the RequireScopes(scopes) route
// and returns its re-login link (from the Link header of the JSON 403).
func scopeLink(t *testing.T, app *secApp, b *secBrowser, scopes ...string) string {
	t.Helper()
	h := app.auth.RequireScopes(scopes...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	mux := http.NewServeMux()
	mux.Handle(app.auth.BasePath()+"/", app.auth.Handler())
	mux.Handle("/needs", h)
	app.h = app.auth.Wrap(mux)
	wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
	res := b.get("/needs", "Accept", "application/json")
	wantStatus(t, res, http.StatusForbidden)
	link, ok := strings.CutPrefix(res.Header.Get("Link"), "<")
	link, _, _ = strings.Cut(link, ">")
	if !ok || !strings.Contains(link, "/auth/alpha/login?") {
		t.Fatalf("no re-login link: %q", res.Header.Get("Link"))
	}
	return link
}

// TestRequireScopesLoginTooLarge: a RequireScopes re-login link whose
// scopes exceed the login attempt's bounds (a scope over 64 bytes, or more
// than 32 scopes) is a non-retryable 500 naming the cause, without
// Retry-After, logged once at Error with the provider, not a 503.
func TestRequireScopesLoginTooLarge(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = "scope" + strconv.Itoa(i)
	}
	for name, scopes := range map[string][]string{
		"long scope":  {"https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly"},
		"many scopes": many,
	} {
		t.Run(name, func(t *testing.T) {
			app := newSecApp(t, nil)
			b := app.browser()
			link := scopeLink(t, app, b, scopes...)
			before := strings.Count(app.logs.String(), "level=ERROR")

			res := b.get(link, "Accept", "application/json")
			wantStatus(t, res, http.StatusInternalServerError)
			if ra := res.Header.Get("Retry-After"); ra != "" {
				t.Fatalf("Retry-After %q on a non-retryable error", ra)
			}
			var body map[string]string
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body["error"] != "login_request_too_large" || body["error_description"] != "login request too large: too many or too long scopes" {
				t.Fatalf("JSON body %v", body)
			}

			res = b.get(link)
			wantStatus(t, res, http.StatusInternalServerError)
			if ra := res.Header.Get("Retry-After"); ra != "" {
				t.Fatalf("HTML: Retry-After %q", ra)
			}
			if html := readBody(t, res); !strings.Contains(html, "a problem on our side") || strings.Contains(html, "scopes") {
				t.Fatalf("HTML page must speak to the user (the cause goes to the log and the JSON): %.300s", html)
			}

			var errLines []string
			for _, l := range strings.Split(app.logs.String(), "\n") {
				if strings.Contains(l, "level=ERROR") {
					errLines = append(errLines, l)
				}
			}
			errLines = errLines[before:]
			if len(errLines) != 2 { // one per request
				t.Fatalf("want one Error line per failed start, got %d:\n%s", len(errLines), strings.Join(errLines, "\n"))
			}
			for _, l := range errLines {
				if !strings.Contains(l, "provider=alpha") || !strings.Contains(l, "login_request_too_large") {
					t.Fatalf("Error line lacks provider or code: %s", l)
				}
			}
		})
	}
}
