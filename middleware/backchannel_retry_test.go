package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// endFailsIndex is the memory index whose End fails while failures > 0.
type endFailsIndex struct {
	*session.MemIndex
	failures atomic.Int32
}

func (x *endFailsIndex) End(ctx context.Context, e session.IndexEntry) error {
	if x.failures.Add(-1) >= 0 {
		return errors.New("index store unavailable")
	}
	return x.MemIndex.End(ctx, e)
}

// bcPublic is the app's public URL in the back-channel tests.
const bcPublic = "https://app.example"

// backChannelApp is an app with the OpenID Connect provider "sso" (the
// fake OP op) over the session index, and a logged-in session of user-1
// in OP session op-sid-1. loggedIn reports whether that session still
// passes Require; logoutRequest is a back-channel delivery of a logout
// token for it, on ctx.
func backChannelApp(t *testing.T, index session.IndexStore) (a *middleware.Auth, loggedIn func() bool, logoutRequest func(ctx context.Context) *http.Request) {
	t.Helper()
	op := oidctest.NewServer(oidctest.Config{})
	t.Cleanup(op.Close)
	p, err := oidc.New(context.Background(), oidc.Config{Name: "sso", Issuer: op.Issuer, ClientID: "app",
		ClientSecret: "app-secret", RedirectURL: bcPublic + "/auth/sso/callback", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := session.New(session.Config{SessionManager: benchSessions(memstore.NewWithCleanupInterval(0)), Index: index, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	a, err = middleware.New(middleware.Config{Providers: []provider.Provider{p}, Sessions: mgr, PublicURL: bcPublic, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	c, err := authtest.NewSession(context.Background(), a,
		provider.Identity{Provider: "sso", Subject: "user-1", SessionID: "op-sid-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	me := a.Require(hello)
	loggedIn = func() bool {
		r := httptest.NewRequest(http.MethodGet, bcPublic+"/me", nil)
		r.Header.Set("Accept", "application/json")
		r.AddCookie(c)
		w := httptest.NewRecorder()
		me.ServeHTTP(w, r)
		return w.Code == http.StatusOK
	}
	token := op.SignLogoutToken(op.LogoutClaims("app", "user-1", "op-sid-1"))
	logoutRequest = func(ctx context.Context) *http.Request {
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, bcPublic+"/auth/sso/backchannel-logout",
			strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	return a, loggedIn, logoutRequest
}

// TestBackChannelLogoutRetryAfterStoreFailure: when the sessions cannot be
// ended, the OP gets 503 and its retry of the same logout token is not
// refused as a replay: it ends the session. A third delivery is a replay.
func TestBackChannelLogoutRetryAfterStoreFailure(t *testing.T) {
	index := &endFailsIndex{MemIndex: session.NewMemIndex()}
	index.failures.Store(1)
	a, loggedIn, logoutRequest := backChannelApp(t, index)
	h := a.Handler()
	deliver := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, logoutRequest(context.Background()))
		return w.Code
	}
	if !loggedIn() {
		t.Fatal("not logged in before the logout")
	}
	if code := deliver(); code != http.StatusServiceUnavailable {
		t.Fatalf("first delivery, index down: %d, want 503", code)
	}
	if !loggedIn() {
		t.Fatal("the session ended although the logout failed")
	}
	if code := deliver(); code != http.StatusOK {
		t.Fatalf("the OP's retry: %d, want 200 (not a replay: the first delivery failed)", code)
	}
	if loggedIn() {
		t.Fatal("the session survived the back-channel logout")
	}
	if code := deliver(); code != http.StatusBadRequest {
		t.Fatalf("a third delivery: %d, want 400 (replay)", code)
	}
}

// hangUpIndex is the memory index whose End first runs hangUp (the OP
// closing the connection) and then, as a network store would, fails when
// its context has ended.
type hangUpIndex struct {
	*session.MemIndex
	hangUp func()
}

func (x *hangUpIndex) End(ctx context.Context, e session.IndexEntry) error {
	if x.hangUp != nil {
		x.hangUp()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return x.MemIndex.End(ctx, e)
}

// TestBackChannelLogoutOutlivesTheOP: the OP hanging up while the sessions
// are being ended does not stop the logout half way.
func TestBackChannelLogoutOutlivesTheOP(t *testing.T) {
	index := &hangUpIndex{MemIndex: session.NewMemIndex()}
	a, loggedIn, logoutRequest := backChannelApp(t, index)
	ctx, hangUp := context.WithCancel(context.Background())
	index.hangUp = hangUp
	a.Handler().ServeHTTP(httptest.NewRecorder(), logoutRequest(ctx))
	if loggedIn() {
		t.Fatal("the session survived a back-channel logout whose OP hung up")
	}
}
