package echoauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/echoauth"
	"github.com/gatehouse-auth/gatehouse/middleware/internal/flowtest"
)

// echoStack mounts Auth on Echo through echoauth only, with the default
// Config (failures returned as *echo.HTTPError) and an HTTPErrorHandler
// that hands Gatehouse's failures back to Auth.RenderError: the table
// then proves the errors carry everything Gatehouse's own answer has.
var echoStack = flowtest.Stack{
	Name: "echo",
	Build: func(t *testing.T, a *middleware.Auth, h flowtest.Handlers) http.Handler {
		e := echo.New()
		e.HTTPErrorHandler = func(err error, c echo.Context) {
			var ge *middleware.Error
			if errors.As(err, &ge) {
				a.RenderError(c.Response(), c.Request(), ge)
				return
			}
			e.DefaultHTTPErrorHandler(err, c)
		}
		mount(t, e, a, h, echoauth.DefaultConfig())
		return e
	},
}

// echoRenderStack is echoStack with Config.RenderErrors: Gatehouse
// answers failures itself, as on net/http.
var echoRenderStack = flowtest.Stack{
	Name: "echo-render-errors",
	Build: func(t *testing.T, a *middleware.Auth, h flowtest.Handlers) http.Handler {
		e := echo.New()
		cfg := echoauth.DefaultConfig()
		cfg.RenderErrors = true
		mount(t, e, a, h, cfg)
		return e
	},
}

// mount registers the flow table's routes with cfg as the base Config.
func mount(t *testing.T, e *echo.Echo, a *middleware.Auth, h flowtest.Handlers, base echoauth.Config) {
	t.Helper()
	mw := func(edit func(*echoauth.Config)) echo.MiddlewareFunc {
		cfg := base
		edit(&cfg)
		m, err := echoauth.RequireWithConfig(a, cfg).ToMiddleware()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	e.Use(echoauth.Sessions(a))
	if err := echoauth.Register(e, a); err != nil {
		t.Fatal(err)
	}
	e.GET(flowtest.PathPrivate, echo.WrapHandler(h.Private), mw(func(*echoauth.Config) {}))
	e.GET(flowtest.PathOptional, echo.WrapHandler(h.Optional), mw(func(c *echoauth.Config) { c.Optional = true }))
	e.GET(flowtest.PathAdmin, echo.WrapHandler(h.Admin), mw(func(c *echoauth.Config) { c.Scopes = []string{"admin"} }))
	e.GET(flowtest.PathUpstream, echo.WrapHandler(h.Upstream), mw(func(*echoauth.Config) {}))
}

func TestFlows(t *testing.T) {
	flowtest.Run(t, echoStack)
	flowtest.Run(t, echoRenderStack)
}

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
