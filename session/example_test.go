package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// staticProvider is a stand-in upstream whose Refresh always succeeds.
type staticProvider struct{}

func (staticProvider) Name() string                                     { return "demo" }
func (staticProvider) SetCredential(r *http.Request, t *provider.Token) {}
func (staticProvider) Identity(context.Context, *provider.Token) (*provider.Identity, error) {
	return &provider.Identity{Provider: "demo", Subject: "u1"}, nil
}
func (staticProvider) Refresh(_ context.Context, t *provider.Token) (*provider.Token, error) {
	return &provider.Token{AccessToken: "new-access", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

// Example shows a login saved by a callback handler, then a later request
// asking for a usable token: it is about to expire (the login is an hour
// old and its token expires in 10 s), so it is refreshed once and stored
// before it is returned. A token that is still fresh is never refreshed,
// however short its life: the refresh margin is at most a third of it.
func Example() {
	m, err := session.New(session.Config{Logger: slog.New(slog.DiscardHandler)}) // memory store, secure cookie defaults
	if err != nil {
		panic(err)
	}
	defer m.Close()
	p := staticProvider{}

	callback := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := &provider.Token{AccessToken: "old-access", RefreshToken: "rt", Expiry: time.Now().Add(10 * time.Second)}
		login := &session.Login{Provider: "demo", Token: tok, LoginAt: time.Now().Add(-time.Hour)}
		if err := m.SaveLogin(r.Context(), login); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
		}
	}))
	api := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := m.Token(r.Context(), p)
		if err != nil {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		fmt.Println("calling upstream with", tok.AccessToken == "new-access")
	}))

	rec := httptest.NewRecorder()
	callback.ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example/auth/demo/callback", nil))
	cookie := rec.Result().Cookies()[0]

	req := httptest.NewRequest("GET", "https://app.example/api", nil)
	req.AddCookie(cookie)
	api.ServeHTTP(httptest.NewRecorder(), req)
	// Output: calling upstream with true
}

// ExampleManager_TakeAttempt shows the login attempt round trip: the
// login handler stores it under its state, the callback takes it (once).
func ExampleManager_TakeAttempt() {
	m, _ := session.New(session.Config{})
	defer m.Close()
	ctx, _ := m.Sessions().Load(context.Background(), "")

	_ = m.PutAttempt(ctx, session.Attempt{State: "state-1", Provider: "demo", Verifier: "verifier", ReturnTo: "/inbox"})
	a, err := m.TakeAttempt(ctx, "demo", "state-1")
	fmt.Println(a.ReturnTo, err)
	_, err = m.TakeAttempt(ctx, "demo", "state-1")
	fmt.Println(err)
	printed := fmt.Sprintf("%v %+v %#v %s", a, a, a, *a)
	fmt.Println(strings.Contains(printed, "state-1") || strings.Contains(printed, "verifier")) // secrets never print
	// Output:
	// /inbox <nil>
	// session: login attempt not found
	// false
}
