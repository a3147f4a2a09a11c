package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/middleware"
)

// FuzzCallbackQuery drives the real callback handler with fuzzed raw query
// strings (checklist item 49, fault F17). Each input runs in a fresh
// browser session that has one pending login; the placeholder STATE in the
// input is replaced by that login's real state, so the fuzzer reaches the
// code paths behind a valid state too. Invariants: no panic, no 5xx, no
// token request unless the query carries the valid state, no redirect off
// the site, and nothing from the query reflected unescaped.
func FuzzCallbackQuery(f *testing.F) {
	for _, s := range []string{
		"", "code=abc&state=STATE", "state=STATE", "code=abc", "state=wrong&code=x", "error=access_denied&state=STATE",
		"error=access_denied&error_description=%3Cfz%3E&state=STATE", "state=STATE&state=STATE&code=a&code=b",
		"code=%00&state=STATE%00", "state=STATE;code=x", "iss=https%3A%2F%2Fevil&code=a&state=STATE", "%zz=1&state=STATE",
		"code=" + strings.Repeat("A", 5000) + "&state=STATE", "state=" + strings.Repeat("%", 300),
	} {
		f.Add(s)
	}
	app := newSecApp(f, func(c *middleware.Config) {
		c.LoginRateLimit = middleware.RateLimit{Failures: 1 << 30}
		c.CallbackRateLimit = middleware.RateLimit{Failures: 1 << 30}
	})
	f.Fuzz(func(t *testing.T, raw string) {
		b := app.browser()
		start := b.get("/auth/alpha/login")
		if start.StatusCode != http.StatusFound {
			t.Fatalf("login start %d", start.StatusCode)
		}
		au, err := url.Parse(start.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		state := au.Query().Get("state")
		raw = strings.ReplaceAll(raw, "STATE", state)

		req := httptest.NewRequest(http.MethodGet, secPublicURL+"/auth/alpha/callback", nil)
		req.URL.RawQuery = raw
		req.RemoteAddr = "192.0.2.50:1234"
		req.AddCookie(&http.Cookie{Name: "__Host-gatehouse", Value: b.cookie()})
		before := app.alpha.Calls(oauth2test.EndpointToken)
		rec := httptest.NewRecorder()
		app.h.ServeHTTP(rec, req)
		res := rec.Result()
		calls := app.alpha.Calls(oauth2test.EndpointToken) - before

		if res.StatusCode >= 500 {
			t.Fatalf("query %q: status %d", raw, res.StatusCode)
		}
		if calls > 0 && req.URL.Query().Get("state") != state {
			t.Fatalf("query %q: %d token calls without the valid state", raw, calls)
		}
		if calls > 1 {
			t.Fatalf("query %q: %d token calls", raw, calls)
		}
		if loc := res.Header.Get("Location"); loc != "" && loc != "/" && !strings.HasPrefix(loc, "/auth/") {
			t.Fatalf("query %q: Location %q", raw, loc)
		}
		if body := rec.Body.String(); strings.Contains(req.URL.Query().Get("error_description")+req.URL.Query().Get("error"), "<fz") && strings.Contains(body, "<fz") {
			t.Fatalf("query %q reflected unescaped", raw)
		}
	})
}
