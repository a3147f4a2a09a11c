package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// API routes answer 401 JSON whatever the Accept header; Require sends
// the same curl request (Accept: */*) to the login.
func ExampleAuth_RequireAPI() {
	auth, err := middleware.New(middleware.Config{
		Providers: []provider.Provider{demoProvider{}},
		PublicURL: "https://app.example",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer auth.Close()

	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		how, _ := middleware.AuthMethodFrom(r.Context()) // cookie or bearer
		id, _ := middleware.IdentityFrom(r.Context())
		fmt.Fprintln(w, how, id.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/api/me", auth.RequireAPI(me))
	mux.Handle("/me", auth.Require(me))
	app := auth.Wrap(mux)

	for _, path := range []string{"/api/me", "/me"} {
		req := httptest.NewRequest(http.MethodGet, "https://app.example"+path, nil)
		req.Header.Set("Accept", "*/*") // what curl sends
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code == http.StatusUnauthorized {
			fmt.Println(path, rec.Code, rec.Header().Get("WWW-Authenticate"))
			fmt.Print(string(body))
			continue
		}
		fmt.Println(path, rec.Code, rec.Header().Get("Location"))
	}
	// Output:
	// /api/me 401 Bearer realm="gatehouse"
	// {"error":"unauthorized","error_description":"Sign in to continue."}
	// /me 302 /auth/login?return_to=%2Fme
}
