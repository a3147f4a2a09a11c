package echoauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/echoauth"
	"github.com/gatehouse-auth/gatehouse/middleware/internal/flowtest"
)

// echoStack mounts Auth on Echo through echoauth only.
var echoStack = flowtest.Stack{
	Name: "echo",
	Build: func(t *testing.T, a *middleware.Auth, h flowtest.Handlers) http.Handler {
		e := echo.New()
		e.Use(echoauth.Sessions(a))
		echoauth.Register(e, a)
		e.GET(flowtest.PathPrivate, echo.WrapHandler(h.Private), echoauth.Require(a))
		e.GET(flowtest.PathOptional, echo.WrapHandler(h.Optional), echoauth.Optional(a))
		e.GET(flowtest.PathAdmin, echo.WrapHandler(h.Admin), echoauth.RequireScopes(a, "admin"))
		e.GET(flowtest.PathUpstream, echo.WrapHandler(h.Upstream), echoauth.Require(a))
		return e
	},
}

func TestFlows(t *testing.T) { flowtest.Run(t, echoStack) }

func TestSkipper(t *testing.T) {
	a := flowtest.NewAuth(t)
	m, err := echoauth.RequireWithConfig(a, echoauth.Config{Skipper: func(c echo.Context) bool { return c.Path() == "/public" }}).ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	e.GET("/public", ok, m)
	e.GET("/private", ok, m)
	for path, want := range map[string]int{"/public": http.StatusOK, "/private": http.StatusUnauthorized} {
		req := httptest.NewRequest(http.MethodGet, "https://app.example"+path, nil)
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d", path, rec.Code, want)
		}
	}
}

func TestToMiddlewareNilAuth(t *testing.T) {
	if _, err := echoauth.RequireWithConfig(nil, echoauth.DefaultConfig()).ToMiddleware(); err == nil {
		t.Fatal("nil Auth accepted")
	}
}
