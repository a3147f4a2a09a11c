package auth0_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/adapters/auth0"
)

// ExampleNew configures an Auth0 login whose access token is a JWT for the
// app's own API. New reads https://example.us.auth0.com/.well-known/openid-configuration,
// so this example only shows the configuration (the tests run it against
// a fake tenant).
func ExampleNew() {
	cfg := auth0.Config{
		Domain:       "example.us.auth0.com",
		Audience:     "https://api.example.com",
		ClientID:     "aBcD1234",
		ClientSecret: "s3cret",
		RedirectURL:  "https://app.example/auth/auth0/callback",
		APIHosts:     []string{"api.example.com"},
	}
	_ = func(ctx context.Context) error {
		p, err := auth0.New(ctx, cfg)
		if err != nil {
			return err
		}
		_ = p // pass it to middleware.Config.Providers
		return nil
	}
	iss, _ := auth0.Issuer(cfg.Domain)
	fmt.Println(iss)
	// Output: https://example.us.auth0.com/
}
