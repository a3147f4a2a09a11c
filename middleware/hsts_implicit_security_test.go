package middleware_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/session"
)

// TestSecurityHSTSFollowsPublicURL: HSTS is sent whenever the app is
// served over https, which Config.PublicURL says even when a
// TLS-terminating proxy forwards the request over plain http; never on a
// plain-http development app.
func TestSecurityHSTSFollowsPublicURL(t *testing.T) {
	t.Parallel()
	devSessions := func(t *testing.T) *session.Manager {
		sm := scs.New()
		sm.Cookie.Name, sm.Cookie.Secure = "gatehouse", false
		m, err := session.New(session.Config{SessionManager: sm})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name       string
		givenURL   string // Config.PublicURL
		givenDev   bool
		whenTarget string // https:// targets arrive over TLS
		expectHSTS bool
	}{
		{"https public URL, TLS request", "https://app.example", false, "https://app.example/auth/login", true},
		{"https public URL behind a TLS-terminating proxy", "https://app.example", false, "http://app.example/auth/login", true},
		{"no public URL, TLS request", "", false, "https://app.example/auth/login", true},
		{"no public URL, plain http request", "", false, "http://app.example/auth/login", false},
		{"plain-http dev app", "http://127.0.0.1:8080", true, "http://127.0.0.1:8080/auth/login", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := newSecApp(t, func(c *middleware.Config) {
				c.PublicURL, c.DevMode = tc.givenURL, tc.givenDev
				if tc.givenDev {
					c.Sessions = devSessions(t)
				}
			})
			res := app.browser().get(tc.whenTarget)
			wantStatus(t, res, http.StatusOK)
			got := res.Header.Get("Strict-Transport-Security")
			if tc.expectHSTS && got != "max-age=31536000" {
				t.Errorf("Strict-Transport-Security = %q, want max-age=31536000", got)
			}
			if !tc.expectHSTS && got != "" {
				t.Errorf("Strict-Transport-Security = %q on a plain-http app, want none", got)
			}
		})
	}
}

// TestSecurityJunkImplicitPosts: failed POST {BasePath}/{provider}/implicit
// requests (missing, unknown or replayed state) count against
// Config.CallbackRateLimit like failed callbacks: past the limit the post
// gets 429 with Retry-After, per IP and per session across IPs, before any
// session lookup; nothing reaches the upstream.
func TestSecurityJunkImplicitPosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		givenForm func(i int) url.Values
	}{
		{"unknown state", func(i int) url.Values {
			return url.Values{"state": {"junk-state-" + strings.Repeat("x", i%7)}, "access_token": {"at"}, "token_type": {"Bearer"}}
		}},
		{"missing state", func(int) url.Values { return url.Values{"access_token": {"at"}, "token_type": {"Bearer"}} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const limit = 3
			app := newSecApp(t, func(c *middleware.Config) { c.CallbackRateLimit = middleware.RateLimit{Failures: limit} })
			attacker := app.browser()
			wantStatus(t, attacker.get("/auth/imp/login"), http.StatusFound) // a real session with one attempt
			for i := 0; i < limit; i++ {
				wantStatus(t, attacker.postForm("/auth/imp/implicit", tc.givenForm(i)), http.StatusBadRequest)
			}
			res := attacker.postForm("/auth/imp/implicit", tc.givenForm(limit))
			wantStatus(t, res, http.StatusTooManyRequests)
			if res.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			// The same session from another IP is limited too.
			attacker.ip = "198.51.100.77"
			wantStatus(t, attacker.postForm("/auth/imp/implicit", tc.givenForm(0)), http.StatusTooManyRequests)
			for _, ep := range []oauth2test.Endpoint{oauth2test.EndpointToken, oauth2test.EndpointUserInfo} {
				if n := app.imp.Calls(ep); n != 0 {
					t.Errorf("%s calls = %d after junk implicit posts, want 0", ep, n)
				}
			}
		})
	}
}
