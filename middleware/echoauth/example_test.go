package echoauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/echoauth"
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

// Mount Gatehouse on Echo: sessions, routes, and a protected group.
func ExampleRegister() {
	auth, err := middleware.New(middleware.Config{Providers: []provider.Provider{exampleProvider{}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	e := echo.New()
	e.Use(echoauth.Sessions(auth))
	echoauth.Register(e, auth)
	api := e.Group("/api", echoauth.Require(auth))
	api.GET("/me", func(c echo.Context) error {
		id, _ := middleware.IdentityFrom(c.Request().Context())
		return c.JSON(http.StatusOK, id)
	})

	req := httptest.NewRequest(http.MethodGet, "https://app.example/api/me", nil)
	req.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example/auth/login", nil))
	fmt.Println(rec.Code, rec.Header().Get("X-Frame-Options"))
	// Output:
	// 401
	// 200 DENY
}
