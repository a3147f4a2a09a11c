package middleware_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/middleware"
)

// TestSecurityLoginStartRateLimit is checklist item 16 for login starts:
// per client IP and per session, beyond the limit a start gets 429 with
// Retry-After, and no attempt is stored.
func TestSecurityLoginStartRateLimit(t *testing.T) {
	app := newSecApp(t, func(c *middleware.Config) { c.LoginRateLimit = middleware.RateLimit{Failures: 5} })

	t.Run("per IP", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			wantStatus(t, app.browser().get("/auth/alpha/login"), http.StatusFound) // fresh session each time
		}
		res := app.browser().get("/auth/alpha/login")
		wantStatus(t, res, http.StatusTooManyRequests)
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
			t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
		}
		if res.Header.Get("Location") != "" || res.Header.Get("Set-Cookie") != "" {
			t.Fatalf("429 redirected or set a cookie: %v", res.Header)
		}
		other := app.browser()
		other.ip = "198.51.100.7"
		wantStatus(t, other.get("/auth/alpha/login"), http.StatusFound) // another client is not affected
	})

	t.Run("per session across IPs", func(t *testing.T) {
		b := app.browser()
		b.ip = "203.0.113.1"
		wantStatus(t, b.get("/auth/alpha/login"), http.StatusFound)
		for i := 2; i <= 6; i++ { // the first start had no session yet
			b.ip = fmt.Sprintf("203.0.113.%d", i)
			wantStatus(t, b.get("/auth/alpha/login"), http.StatusFound)
		}
		b.ip = "203.0.113.99"
		wantStatus(t, b.get("/auth/alpha/login", "Accept", "application/json"), http.StatusTooManyRequests)
	})
	if n := app.alpha.Calls(oauth2test.EndpointToken); n != 0 {
		t.Fatalf("token calls %d", n)
	}
}

// TestSecurityJunkCallbacks is checklist item 16 and fault F15: 10,000
// callbacks with junk codes and bad or missing state cause 0 upstream
// calls; the limiter answers 429 (per IP, and per session across IPs); a
// legitimate login from another client still works.
func TestSecurityJunkCallbacks(t *testing.T) {
	app := newSecApp(t, nil)
	attacker := app.browser()
	wantStatus(t, attacker.get("/auth/alpha/login"), http.StatusFound) // gets a session with one attempt
	counts := map[int]int{}
	for i := 0; i < 10000; i++ {
		q := "/auth/alpha/callback?code=junk" + strconv.Itoa(i) + "&state=bad" + strconv.Itoa(i)
		if i%3 == 0 {
			q = "/auth/alpha/callback?code=junk" + strconv.Itoa(i)
		}
		res := attacker.get(q)
		counts[res.StatusCode]++
		if res.StatusCode >= 500 {
			t.Fatalf("callback %d: %d", i, res.StatusCode)
		}
	}
	if counts[http.StatusTooManyRequests] < 9900 || counts[http.StatusBadRequest] == 0 {
		t.Fatalf("status counts %v: want the limiter to answer almost all with 429", counts)
	}
	// Same session, another IP: still limited.
	attacker.ip = "198.51.100.200"
	wantStatus(t, attacker.get("/auth/alpha/callback?code=x&state=y"), http.StatusTooManyRequests)
	for _, ep := range []oauth2test.Endpoint{oauth2test.EndpointToken, oauth2test.EndpointUserInfo, oauth2test.EndpointRevoke} {
		if n := app.alpha.Calls(ep); n != 0 {
			t.Fatalf("%s calls = %d after junk callbacks, want 0", ep, n)
		}
	}
	legit := app.browser()
	legit.ip = "198.51.100.9"
	wantStatus(t, app.login(legit, "/"), http.StatusSeeOther)
	wantStatus(t, legit.get("/private"), http.StatusOK)
}

// TestSecurityLimiterIgnoresUnknownCookies: a session cookie the store does
// not know (made up by the client) adds no per-session limiter key to login
// starts or callbacks, so rotating cookies cannot fill the limiter; the
// per-IP key still applies, and a session the server issued is still
// limited across IPs.
func TestSecurityLimiterIgnoresUnknownCookies(t *testing.T) {
	app := newSecApp(t, func(c *middleware.Config) { c.LoginRateLimit = middleware.RateLimit{Failures: 3} })
	for i := 0; i < 20; i++ {
		b := app.browser()
		b.ip = fmt.Sprintf("198.51.100.%d", i+1)
		b.setCookie(fmt.Sprintf("made-up-session-%04d", i))
		wantStatus(t, b.get("/auth/alpha/login"), http.StatusFound)
		b.setCookie(fmt.Sprintf("made-up-session-x%04d", i))
		wantStatus(t, b.get("/auth/alpha/callback?code=x&state=y"), http.StatusBadRequest)
	}
	if login, cb := middleware.LimiterKeys(app.auth); login != 20 || cb != 20 {
		t.Fatalf("limiter keys login=%d callback=%d, want 20 each (one per IP, none per made-up cookie)", login, cb)
	}

	b := app.browser()
	b.ip = "203.0.113.1"
	b.setCookie("made-up")
	for i := 0; i < 3; i++ {
		wantStatus(t, b.get("/auth/alpha/login"), http.StatusFound)
	}
	b.setCookie("made-up-again")
	wantStatus(t, b.get("/auth/alpha/login"), http.StatusTooManyRequests) // per IP

	s := app.browser()
	s.ip = "203.0.113.50"
	wantStatus(t, s.get("/auth/alpha/login"), http.StatusFound) // issues the session (no session key yet)
	for i := 51; i <= 53; i++ {
		s.ip = fmt.Sprintf("203.0.113.%d", i)
		wantStatus(t, s.get("/auth/alpha/login"), http.StatusFound)
	}
	s.ip = "203.0.113.54"
	wantStatus(t, s.get("/auth/alpha/login"), http.StatusTooManyRequests) // per issued session, across IPs
}
