package echoauth_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/echoauth"
	"github.com/gatehouse-auth/gatehouse/middleware/internal/flowtest"
	"github.com/gatehouse-auth/gatehouse/provider"
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
	e.GET(flowtest.PathAPI, echo.WrapHandler(h.API), mw(func(c *echoauth.Config) { c.API = true }))
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

// newPasswordAuth is an Auth with the example password provider (no
// callback URL to check) under basePath.
func newPasswordAuth(t *testing.T, basePath string) *middleware.Auth {
	t.Helper()
	a, err := middleware.New(middleware.Config{Providers: []provider.Provider{exampleProvider{}}, PublicURL: "https://app.example",
		BasePath: basePath, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// TestHTTPErrors: by default a failure is returned, the Echo way, as an
// *echo.HTTPError whose Internal is the *middleware.Error (so errors.Is
// and errors.As work), with the failure's headers already on the
// response; Echo's default handler renders {"message": …}. A browser's
// redirect to the login is not a failure.
func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	a := flowtest.NewAuth(t)
	tests := []struct {
		name         string
		givenMW      func(*middleware.Auth) echo.MiddlewareFunc
		whenHeaders  map[string]string
		expectStatus int
		expectCode   string // the *middleware.Error's Code; "" for no error
		expectIs     error
		expectWWW    string
	}{
		{"Require, API client", echoauth.Require, map[string]string{"Accept": "application/json"}, 401, "unauthorized", middleware.ErrNotLoggedIn, `Bearer realm="gatehouse"`},
		{"Require, browser: redirect, no error", echoauth.Require, map[string]string{"Accept": "text/html"}, 302, "", nil, ""},
		{"Require, curl */*: redirect, no error", echoauth.Require, map[string]string{"Accept": "*/*"}, 302, "", nil, ""},
		{"RequireAPI, curl */*", echoauth.RequireAPI, map[string]string{"Accept": "*/*"}, 401, "unauthorized", middleware.ErrNotLoggedIn, `Bearer realm="gatehouse"`},
		{"RequireAPI, browser", echoauth.RequireAPI, map[string]string{"Accept": "text/html"}, 401, "unauthorized", middleware.ErrNotLoggedIn, `Bearer realm="gatehouse"`},
		{"Optional, anonymous: through, no error", echoauth.Optional, map[string]string{"Accept": "*/*"}, 200, "", nil, ""},
		{"RequireScopes with API", func(a *middleware.Auth) echo.MiddlewareFunc {
			m, err := echoauth.RequireWithConfig(a, echoauth.Config{Scopes: []string{"admin"}, API: true}).ToMiddleware()
			if err != nil {
				t.Fatal(err)
			}
			return m
		}, map[string]string{"Accept": "*/*"}, 401, "unauthorized", middleware.ErrNotLoggedIn, `Bearer realm="gatehouse"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got error
			e := echo.New()
			e.HTTPErrorHandler = func(err error, c echo.Context) {
				got = err
				e.DefaultHTTPErrorHandler(err, c)
			}
			e.GET("/p", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }, tc.givenMW(a))
			req := httptest.NewRequest(http.MethodGet, "https://app.example/p", nil)
			for k, v := range tc.whenHeaders {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tc.expectStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.expectStatus, rec.Body)
			}
			if tc.expectCode == "" {
				if got != nil {
					t.Fatalf("error %v, want none", got)
				}
				return
			}
			var he *echo.HTTPError
			var ge *middleware.Error
			if !errors.As(got, &he) || he.Code != tc.expectStatus || !errors.As(he.Internal, &ge) || ge.Code != tc.expectCode {
				t.Fatalf("error %#v, want *echo.HTTPError %d with Internal *middleware.Error %q", got, tc.expectStatus, tc.expectCode)
			}
			if tc.expectIs != nil && !errors.Is(he.Internal, tc.expectIs) {
				t.Errorf("Internal %v does not match %v", he.Internal, tc.expectIs)
			}
			if msg, _ := he.Message.(string); msg == "" || msg != ge.Description {
				t.Errorf("Message %v, want the description %q", he.Message, ge.Description)
			}
			if w := rec.Header().Get("WWW-Authenticate"); w != tc.expectWWW {
				t.Errorf("WWW-Authenticate %q, want %q", w, tc.expectWWW)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", rec.Header().Get("Cache-Control"))
			}
			if !strings.Contains(rec.Body.String(), `"message":"`+ge.Description+`"`) {
				t.Errorf("body %s: not Echo's default rendering", rec.Body)
			}
		})
	}
}

// TestRegisterOnGroup: Register serves Gatehouse's routes at BasePath on
// the Echo or on a group whose prefix begins BasePath, and refuses a
// group outside it.
func TestRegisterOnGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		givenBase  string // Config.BasePath
		givenGroup string // "-" for the *echo.Echo itself
		expectErr  bool
		expectOK   string // answers 200 (the chooser)
		expect404  string // answers 404
	}{
		{"on the Echo", "/auth", "-", false, "/auth/login", "/x/auth/login"},
		{"on an empty-prefix group", "/auth", "", false, "/auth/login", "/x/auth/login"},
		{"group /api, BasePath /api/auth", "/api/auth", "/api", false, "/api/auth/login", "/api/api/auth/login"},
		{"group equal to BasePath", "/auth", "/auth", false, "/auth/login", "/auth/auth/login"},
		{"nested group", "/v1/api/auth", "/v1/api", false, "/v1/api/auth/login", "/v1/api/v1/api/auth/login"},
		{"group /api, BasePath /auth", "/auth", "/api", true, "", "/api/auth/login"},
		{"group /api, BasePath /apiauth", "/apiauth", "/api", true, "", "/apiauth/login"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newPasswordAuth(t, tc.givenBase)
			e := echo.New()
			e.Use(echoauth.Sessions(a))
			var err error
			switch {
			case tc.givenGroup == "-":
				err = echoauth.Register(e, a)
			case strings.Count(tc.givenGroup, "/") > 1:
				i := strings.LastIndex(tc.givenGroup, "/")
				err = echoauth.Register(e.Group(tc.givenGroup[:i]).Group(tc.givenGroup[i:]), a)
			default:
				err = echoauth.Register(e.Group(tc.givenGroup), a)
			}
			if (err != nil) != tc.expectErr {
				t.Fatalf("Register: err = %v, want error: %v", err, tc.expectErr)
			}
			get := func(path string) int {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example"+path, nil))
				return rec.Code
			}
			if tc.expectOK != "" {
				if got := get(tc.expectOK); got != http.StatusOK {
					t.Errorf("GET %s: %d, want 200", tc.expectOK, got)
				}
			}
			if got := get(tc.expect404); got != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", tc.expect404, got)
			}
		})
	}
	if err := echoauth.Register(echo.New(), nil); !errors.Is(err, echoauth.ErrNoAuth) {
		t.Errorf("Register(nil Auth) = %v, want ErrNoAuth", err)
	}
}

// TestCSRFTokenWithoutSessions: a public Echo page calling CSRFToken
// without echoauth.Sessions gets "" instead of scs's panic; with it, a
// token.
func TestCSRFTokenWithoutSessions(t *testing.T) {
	t.Parallel()
	a := newPasswordAuth(t, "")
	for _, withSessions := range []bool{false, true} {
		e := echo.New()
		if withSessions {
			e.Use(echoauth.Sessions(a))
		}
		var token string
		e.GET("/", func(c echo.Context) error {
			token = a.CSRFToken(c.Request().Context())
			return c.String(http.StatusOK, "public")
		})
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example/", nil))
		if rec.Code != http.StatusOK || (token != "") != withSessions {
			t.Errorf("Sessions %v: status %d, token %q", withSessions, rec.Code, token)
		}
	}
}

func TestToMiddlewareRefusesOptionalWithAPI(t *testing.T) {
	t.Parallel()
	a := newPasswordAuth(t, "")
	for _, cfg := range []echoauth.Config{{Optional: true, API: true}, {Optional: true, Scopes: []string{"x"}}} {
		if _, err := echoauth.RequireWithConfig(a, cfg).ToMiddleware(); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
