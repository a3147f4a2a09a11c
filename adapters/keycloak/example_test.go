package keycloak_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/adapters/keycloak"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// ExampleNew configures a realm login. In production BaseURL is your
// Keycloak's public URL (https://sso.example.com, or .../auth for the
// legacy layout); here a fake realm stands in for it.
func ExampleNew() {
	op := oidctest.NewServer(oidctest.Config{IssuerPath: "/realms/demo"})
	defer op.Close()

	p, err := keycloak.New(context.Background(), keycloak.Config{
		BaseURL:      op.URL,
		Realm:        "demo",
		ClientID:     "gatehouse-app",
		ClientSecret: "s3cret",
		RedirectURL:  "http://127.0.0.1:8080/auth/keycloak/callback",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Name(), p.Config().Issuer == op.URL+"/realms/demo")
	// Output: keycloak true
}
