// Package authtest helps applications test handlers that sit behind
// Gatehouse's Require, Optional and RequireScopes without a real provider,
// in the manner of net/http/httptest.
//
// Two levels are offered:
//
//   - [Login] stores a real login in the Auth's session store and returns
//     the session cookie, so requests go through the real middleware
//     (Require, RequireScopes, Client) exactly as in production;
//   - [Context] only puts an identity into a context, for unit tests of a
//     handler called directly, without any middleware.
package authtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// Token returns a token set good for a day with the given scopes, for
// Login. Its access token is a fixed, obviously fake value.
func Token(scopes ...string) *provider.Token {
	return &provider.Token{AccessToken: "authtest-access-token", TokenType: "Bearer", Expiry: time.Now().Add(24 * time.Hour), Scopes: scopes}
}

// Login creates a logged-in session for id in a's session store and
// returns its cookie; add it to test requests with req.AddCookie.
// id.Provider must be the name of one of a's providers (Require refuses
// logins of unknown providers). tok may be nil for Token(). Login fails the
// test on error.
func Login(t testing.TB, a *middleware.Auth, id provider.Identity, tok *provider.Token) *http.Cookie {
	t.Helper()
	c, err := NewSession(context.Background(), a, id, tok)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return c
}

// NewSession is Login without a testing.TB: it returns the cookie of a new
// logged-in session, or an error.
func NewSession(ctx context.Context, a *middleware.Auth, id provider.Identity, tok *provider.Token) (*http.Cookie, error) {
	if a == nil {
		return nil, errors.New("nil *middleware.Auth")
	}
	if id.Provider == "" || id.Subject == "" {
		return nil, errors.New("identity needs Provider and Subject")
	}
	if tok == nil {
		tok = Token()
	}
	// Saved as the callback of a real login saves it: inside a.Wrap, so
	// the stored session is exactly what a browser's next request loads
	// (the first request after NewSession writes nothing back).
	var saveErr error
	h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		saveErr = a.Sessions().SaveLogin(r.Context(), &session.Login{Provider: id.Provider, Identity: id, Token: tok.Clone(), LoginAt: time.Now()})
		w.WriteHeader(http.StatusNoContent)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	if saveErr != nil {
		return nil, saveErr
	}
	name := a.Sessions().Sessions().Cookie.Name
	for _, c := range w.Result().Cookies() {
		if c.Name == name && c.Value != "" {
			return c, nil
		}
	}
	return nil, fmt.Errorf("the session was not saved (status %d)", w.Code)
}

// Context returns ctx carrying id and scopes as middleware.IdentityFrom
// and middleware.ScopesFrom read them. It creates no session: use it for
// handlers called directly, not through Require.
func Context(ctx context.Context, id provider.Identity, scopes ...string) context.Context {
	return middleware.WithIdentity(ctx, id, scopes...)
}
