package okta_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
	"github.com/gatehouse-auth/gatehouse/adapters/okta"
)

// ExampleNew signs users in through the "default" custom authorization
// server, whose access tokens your own APIs can validate. In production
// Domain is your Okta domain (dev-123456.okta.com); here a fake stands in
// for it.
func ExampleNew() {
	op := oidctest.NewServer(oidctest.Config{IssuerPath: "/oauth2/default"})
	defer op.Close()

	p, err := okta.New(context.Background(), okta.Config{
		Domain:                op.URL,
		AuthorizationServerID: "default",
		ClientID:              "0oa1b2c3d4",
		ClientSecret:          "s3cret",
		RedirectURL:           "http://127.0.0.1:8080/auth/okta/callback",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Name(), p.Config().Issuer == op.URL+"/oauth2/default", p.Config().Scopes)
	// Output: okta true [openid profile email offline_access]
}
