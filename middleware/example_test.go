package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// demoProvider is a password provider that accepts one user, for examples.
type demoProvider struct{}

func (demoProvider) Name() string { return "demo" }
func (demoProvider) SetCredential(r *http.Request, t *provider.Token) {
	r.Header.Set("Authorization", "Bearer "+t.AccessToken)
}
func (demoProvider) Refresh(context.Context, *provider.Token) (*provider.Token, error) {
	return nil, provider.ErrNoRefreshToken
}
func (demoProvider) Identity(context.Context, *provider.Token) (*provider.Identity, error) {
	return &provider.Identity{Subject: "ada"}, nil
}
func (demoProvider) Login(_ context.Context, user, pass string) (*provider.Token, error) {
	if user != "ada" || pass != "demo-password" {
		return nil, provider.ErrInvalidCredentials
	}
	return &provider.Token{AccessToken: "demo", TokenType: "Bearer"}, nil
}

// Mount the auth routes, protect a handler, and wrap the whole stack once.
func ExampleNew() {
	auth, err := middleware.New(middleware.Config{
		Providers: []provider.Provider{demoProvider{}},
		PublicURL: "https://app.example",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer auth.Close()

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/app", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := middleware.IdentityFrom(r.Context())
		fmt.Fprintln(w, "hello", id.Subject)
	})))
	app := auth.Wrap(mux)

	// A browser without a session is sent to the login page.
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example/app", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))

	// An API client gets 401 JSON.
	req := httptest.NewRequest(http.MethodGet, "https://app.example/app", nil)
	req.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// 302 /auth/login?return_to=%2Fapp
	// 401 Bearer realm="gatehouse"
}

// ValidReturnTo accepts local paths and allowed https hosts only.
func ExampleAuth_ValidReturnTo() {
	auth, _ := middleware.New(middleware.Config{
		Providers:          []provider.Provider{demoProvider{}},
		AllowedReturnHosts: []string{"docs.example"},
	})
	for _, s := range []string{"/inbox?x=1", "https://docs.example/guide", "//evil.example", "/%2f%2fevil.example", "javascript:alert(1)"} {
		_, ok := auth.ValidReturnTo(s)
		fmt.Println(ok, s)
	}
	// Output:
	// true /inbox?x=1
	// true https://docs.example/guide
	// false //evil.example
	// false /%2f%2fevil.example
	// false javascript:alert(1)
}
