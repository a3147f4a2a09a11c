package customadapter_test

import (
	"fmt"
	"strings"

	"github.com/gatehouse-auth/gatehouse/examples/customadapter"
	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/provider"
)

// ExampleNew wires the custom adapter into Gatehouse like any built-in one.
func ExampleNew() {
	gh, err := customadapter.New(customadapter.Config{
		ClientID:     "Iv1.example",
		ClientSecret: "from-your-secret-store",
		RedirectURL:  "https://app.example/auth/github/callback",
		Scopes:       []string{"read:user"},
	})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Config{Providers: []provider.Provider{gh}})
	if err != nil {
		panic(err)
	}
	u := gh.AuthURL(provider.AuthRequest{State: "xyz"})
	fmt.Println(auth.LoginURL(gh.Name(), "/"))
	fmt.Println(strings.HasPrefix(u, "https://github.com/login/oauth/authorize?"), strings.Contains(u, "from-your-secret-store"))
	// Output:
	// /auth/github/login?return_to=%2F
	// true false
}
