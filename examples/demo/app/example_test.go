package app_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/examples/demo/app"
)

// ExampleStart serves the whole demo on a free loopback port, as tests do.
func ExampleStart() {
	srv, err := app.Start("127.0.0.1:0", app.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))
	for _, u := range srv.Upstreams.Upstreams {
		fmt.Println(u.Provider.Name(), u.Style)
	}
	// Output:
	// 200 ok
	// oauth2 oauth2
	// whisk whisk
	// whisk-implicit whisk
	// startgg startgg
	// wazo wazo
	// oidc oidc
}
