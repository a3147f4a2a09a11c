package middleware_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSecurityLogoutDuringSlowRequest is checklist item 32 through the
// middleware: a request behind Require that started before the logout and
// ends after it does not bring the session back; the old cookie replayed
// afterwards is anonymous (302 for a browser, 401 for an API client).
func TestSecurityLogoutDuringSlowRequest(t *testing.T) {
	app := newSecApp(t, nil)
	inside, release := make(chan struct{}), make(chan struct{})
	app.slow = func(*http.Request) {
		close(inside)
		<-release
	}
	b := app.browser()
	wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
	old := b.cookie()
	slowB := app.browser()
	slowB.setCookie(old)
	done := make(chan int)
	go func() { done <- slowB.get("/slow").StatusCode }()
	<-inside
	wantStatus(t, b.logout("/"), http.StatusSeeOther)
	close(release)
	if st := <-done; st != http.StatusOK {
		t.Fatalf("slow request: %d", st)
	}
	replay := app.browser()
	replay.setCookie(old)
	wantStatus(t, replay.get("/private", "Accept", "application/json"), http.StatusUnauthorized)
	wantStatus(t, replay.get("/private"), http.StatusFound)
	if _, found, _ := app.store.Find(old); found {
		t.Fatal("the logged-out session is back in the store")
	}
}

// TestSecurityHugeBearer is checklist item 60 through Require: a bearer of
// 1 MiB of dots is refused with 401 (the jwtauth cap rejects it before any
// parsing; see jwtauth TestVerifyOversized for time and allocations).
func TestSecurityHugeBearer(t *testing.T) {
	app := newSecApp(t, nil)
	start := time.Now()
	res := app.browser().get("/private", "Authorization", "Bearer "+strings.Repeat(".", 1<<20))
	wantStatus(t, res, http.StatusUnauthorized)
	if !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}
