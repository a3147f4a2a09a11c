package middleware_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// logoutToken reads the CSRF token from the logout confirmation page.
func logoutToken(t *testing.T, b *secBrowser) string {
	t.Helper()
	body := readBody(t, b.get("/auth/logout"))
	_, tok, ok := strings.Cut(body, `name="csrf_token" value="`)
	tok, _, _ = strings.Cut(tok, `"`)
	if !ok || tok == "" {
		t.Fatalf("no csrf_token on the logout page: %.300s", body)
	}
	return tok
}

// TestCSRFTokenRotatedAtLogin: a synchroniser token obtained before the
// login (redirect or password) is refused by POST /auth/logout afterwards;
// the token issued after the login works.
func TestCSRFTokenRotatedAtLogin(t *testing.T) {
	app := newSecApp(t, nil)
	logins := map[string]func(b *secBrowser){
		"redirect": func(b *secBrowser) { wantStatus(t, app.login(b, "/"), http.StatusSeeOther) },
		"password": func(b *secBrowser) {
			tok := logoutToken(t, b) // the password form carries the same session token
			wantStatus(t, b.postForm("/auth/wazo/login", url.Values{"username": {"alice"}, "password": {"correct-horse-battery"}, "csrf_token": {tok}}), http.StatusSeeOther)
		},
	}
	for name, login := range logins {
		t.Run(name, func(t *testing.T) {
			b := app.browser()
			old := logoutToken(t, b)
			login(b)
			wantStatus(t, b.get("/private"), http.StatusOK)
			wantStatus(t, b.postForm("/auth/logout", url.Values{"csrf_token": {old}}), http.StatusForbidden)
			wantStatus(t, b.get("/private"), http.StatusOK) // still logged in
			cur := logoutToken(t, b)
			if cur == old {
				t.Fatal("CSRF token not rotated at login")
			}
			wantStatus(t, b.postForm("/auth/logout", url.Values{"csrf_token": {cur}}), http.StatusSeeOther)
			wantStatus(t, b.get("/private"), http.StatusFound)
		})
	}
}
