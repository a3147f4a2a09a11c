package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// TestOnRefreshOncePerRefresh: 50 concurrent requests on a session whose
// token has expired share one upstream refresh, and the OnRefresh hook
// fires once for it — not once per request that sees the new token.
func TestOnRefreshOncePerRefresh(t *testing.T) {
	const n = 50
	srv := benchAS(t)
	mgr, err := session.New(session.Config{SessionManager: benchSessions(memstore.NewWithCleanupInterval(0)), Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	var refreshes atomic.Int32
	var last atomic.Value
	a, err := middleware.New(middleware.Config{
		Providers: []provider.Provider{benchAdapter(t, srv)},
		Sessions:  mgr,
		PublicURL: benchPublicURL,
		Logger:    discard(),
		OnRefresh: func(_ context.Context, e middleware.Event) {
			refreshes.Add(1)
			last.Store(e)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })

	issued := srv.IssueToken(benchClientID, oauth2test.User{Subject: "user-123456"}, []string{"openid"})
	expired := &provider.Token{AccessToken: issued.AccessToken, TokenType: "Bearer", RefreshToken: issued.RefreshToken,
		Expiry: time.Now().Add(-time.Minute)}
	c, err := authtest.NewSession(context.Background(), a, benchIdentity(), expired)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	srv.Fail(oauth2test.EndpointToken, oauth2test.Failure{Delay: 50 * time.Millisecond, Times: -1})

	h := a.Require(hello)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest(http.MethodGet, "/private", nil)
			r.AddCookie(c)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Errorf("status %d", w.Code)
			}
		}()
	}
	wg.Wait()
	if got := srv.Calls(oauth2test.EndpointToken); got != 1 {
		t.Fatalf("upstream refreshes: %d, want 1", got)
	}
	if got := refreshes.Load(); got != 1 {
		t.Fatalf("OnRefresh fired %d times for one refresh, want 1", got)
	}
	e := last.Load().(middleware.Event)
	if e.Type != middleware.EventRefresh || e.Subject != benchIdentity().Subject || e.Provider == "" {
		t.Errorf("refresh event = %+v", e)
	}
}
