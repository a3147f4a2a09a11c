package echoauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/echoauth"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// Failures reach the app's HTTPErrorHandler as *echo.HTTPError, with the
// *middleware.Error as Internal and the failure's headers already set.
func ExampleRequireAPI() {
	auth, err := middleware.New(middleware.Config{Providers: []provider.Provider{exampleProvider{}}, PublicURL: "https://app.example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer auth.Close()
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var ge *middleware.Error
		if errors.As(err, &ge) {
			fmt.Println("gatehouse failure:", ge.Status, ge.Code)
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.Use(echoauth.Sessions(auth))
	e.GET("/api/me", func(c echo.Context) error {
		id, _ := middleware.IdentityFrom(c.Request().Context())
		return c.JSON(http.StatusOK, id)
	}, echoauth.RequireAPI(auth))

	req := httptest.NewRequest(http.MethodGet, "https://app.example/api/me", nil)
	req.Header.Set("Accept", "*/*")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	fmt.Print(rec.Body.String())
	// Output:
	// gatehouse failure: 401 unauthorized
	// 401 Bearer realm="gatehouse"
	// {"message":"Sign in to continue."}
}
