package authtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/authtest"
	"github.com/gatehouse-auth/gatehouse/provider"
)

type exampleProvider struct{}

func (exampleProvider) Name() string                                 { return "corp" }
func (exampleProvider) SetCredential(*http.Request, *provider.Token) {}
func (exampleProvider) Refresh(context.Context, *provider.Token) (*provider.Token, error) {
	return nil, provider.ErrNoRefreshToken
}
func (exampleProvider) Identity(context.Context, *provider.Token) (*provider.Identity, error) {
	return nil, provider.ErrUnavailable
}
func (exampleProvider) Login(context.Context, string, string) (*provider.Token, error) {
	return nil, provider.ErrInvalidCredentials
}

// Test a protected handler through the real Require with a logged-in
// session cookie.
func ExampleNewSession() {
	auth, _ := middleware.New(middleware.Config{Providers: []provider.Provider{exampleProvider{}}})
	app := auth.Wrap(auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := middleware.IdentityFrom(r.Context())
		fmt.Fprint(w, "hello ", id.Subject)
	})))

	cookie, err := authtest.NewSession(context.Background(), auth, provider.Identity{Provider: "corp", Subject: "ada"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	req := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 hello ada
}

// In a test function, Login fails the test on error.
func ExampleLogin() {
	t := &testing.T{} // in a real test, the *testing.T you were given
	auth, _ := middleware.New(middleware.Config{Providers: []provider.Provider{exampleProvider{}}})
	cookie := authtest.Login(t, auth, provider.Identity{Provider: "corp", Subject: "ada"}, authtest.Token("read"))
	fmt.Println(cookie.Name)
	// Output: __Host-gatehouse
}
