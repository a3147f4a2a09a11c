package middleware_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/middleware"
)

// revokeTimer records the waits the revocation asks for; fire says whether
// a wait ends at once or never.
type revokeTimer struct {
	mu    sync.Mutex
	waits []time.Duration
	fire  bool
	// called, when set, receives a value per wait requested.
	called chan struct{}
}

func (rt *revokeTimer) after(d time.Duration) <-chan time.Time {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.waits = append(rt.waits, d)
	if rt.called != nil {
		rt.called <- struct{}{}
	}
	c := make(chan time.Time, 1)
	if rt.fire {
		c <- time.Time{}
	}
	return c
}

func (rt *revokeTimer) recorded() []time.Duration {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]time.Duration(nil), rt.waits...)
}

func waitN(t *testing.T, ch <-chan struct{}, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d upstream requests arrived", i, n)
		}
	}
}

// TestSecurityRevokeRetry is checklist items 42–43 and fault F14: the
// revocation endpoint answers 503 with Retry-After: 5. The local logout is
// done at once; revocation is retried after at least 5 s, at most 3
// attempts, each sending the tokens only to the revocation endpoint.
func TestSecurityRevokeRetry(t *testing.T) {
	app := newSecApp(t, nil)
	rt := &revokeTimer{fire: true}
	middleware.SetRevokeTimer(app.auth, rt.after)
	b := app.browser()
	wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
	wantStatus(t, b.get("/private"), http.StatusOK)
	userinfo := app.alpha.Calls(oauth2test.EndpointUserInfo)
	old := b.cookie()

	hit := make(chan struct{}, 16)
	app.alpha.Fail(oauth2test.EndpointRevoke, oauth2test.Failure{Status: http.StatusServiceUnavailable, Times: -1,
		Header: http.Header{"Retry-After": {"5"}}, Notify: hit})
	wantStatus(t, b.logout("/"), http.StatusSeeOther)
	// Local logout is complete whatever the revocation does.
	b.setCookie(old)
	wantStatus(t, b.get("/private", "Accept", "application/json"), http.StatusUnauthorized)

	waitN(t, hit, 6) // 3 attempts × (refresh token, access token)
	_ = app.auth.Close()
	if n := app.alpha.Calls(oauth2test.EndpointRevoke); n != 6 {
		t.Fatalf("revocation calls = %d, want 6 (3 attempts of 2 tokens)", n)
	}
	waits := rt.recorded()
	if len(waits) != 2 {
		t.Fatalf("retry waits = %v, want 2 (3 attempts)", waits)
	}
	for _, w := range waits {
		if w < 5*time.Second {
			t.Fatalf("retry after %v, want ≥ 5s (Retry-After)", w)
		}
	}
	for _, r := range app.alpha.Requests(oauth2test.EndpointRevoke) {
		if r.Params.Get("token") == "" || !strings.Contains(r.Params.Get("token_type_hint"), "_token") {
			t.Fatalf("revocation request without token or hint: %v", r.Params)
		}
		if strings.Contains(r.URL.String(), r.Params.Get("token")) {
			t.Fatal("token in the revocation URL")
		}
	}
	if got := app.alpha.Calls(oauth2test.EndpointUserInfo); got != userinfo {
		t.Fatalf("the revoked token was used again: userinfo calls %d → %d", userinfo, got)
	}
	logs := app.logs.String()
	if strings.Count(logs, "event=revoke_failed") != 3 || !strings.Contains(logs, "retry_in=5s") {
		t.Fatalf("want 3 revoke_failed log lines with retry_in=5s:\n%s", logs)
	}
	for _, r := range app.alpha.Requests(oauth2test.EndpointRevoke) {
		if strings.Contains(logs, r.Params.Get("token")) {
			t.Fatal("a revoked token appears in the logs")
		}
	}
}

// TestSecurityRevokeNeverBlocksLogout: while a retry is pending, logout
// has long answered; Close cancels the pending retry.
func TestSecurityRevokeNeverBlocksLogout(t *testing.T) {
	app := newSecApp(t, nil)
	rt := &revokeTimer{fire: false, called: make(chan struct{}, 4)} // the retry wait never ends by itself
	middleware.SetRevokeTimer(app.auth, rt.after)
	b := app.browser()
	wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
	hit := make(chan struct{}, 16)
	app.alpha.Fail(oauth2test.EndpointRevoke, oauth2test.Failure{Status: http.StatusServiceUnavailable, Times: -1, Notify: hit})
	start := time.Now()
	wantStatus(t, b.logout("/"), http.StatusSeeOther)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("logout took %v", d)
	}
	waitN(t, hit, 2)
	waitN(t, rt.called, 1) // the goroutine reaches its retry wait
	if w := rt.recorded()[0]; w != time.Second {
		t.Fatalf("default retry wait %v, want 1s", w)
	}
	_ = app.auth.Close() // cancels the pending retry
	if n := app.alpha.Calls(oauth2test.EndpointRevoke); n != 2 {
		t.Fatalf("revocation calls = %d, want 2 (one attempt, retry cancelled)", n)
	}
}

// TestSecurityRevokeNoRetry: success and client errors are final (RFC 7009
// §2.2: 200 is success whatever the body; only 503 invites a retry).
func TestSecurityRevokeNoRetry(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *oauth2test.Failure
	}{
		{"200", nil},
		{"400 invalid_request", &oauth2test.Failure{OAuthError: "invalid_request", Times: -1}},
		{"401 invalid_client", &oauth2test.Failure{OAuthError: "invalid_client", Times: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newSecApp(t, nil)
			rt := &revokeTimer{fire: true}
			middleware.SetRevokeTimer(app.auth, rt.after)
			b := app.browser()
			wantStatus(t, app.login(b, "/"), http.StatusSeeOther)
			if tc.f != nil {
				app.alpha.Fail(oauth2test.EndpointRevoke, *tc.f)
			}
			wantStatus(t, b.logout("/"), http.StatusSeeOther)
			_ = app.auth.Close()
			if n := app.alpha.Calls(oauth2test.EndpointRevoke); n != 2 {
				t.Fatalf("revocation calls = %d, want 2 (one attempt)", n)
			}
			if w := rt.recorded(); len(w) != 0 {
				t.Fatalf("retried: %v", w)
			}
		})
	}
}
