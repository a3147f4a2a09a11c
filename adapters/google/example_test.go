package google_test

import (
	"context"
	"log"

	"github.com/gatehouse-auth/gatehouse/adapters/google"
)

// ExampleNew signs in the Google Workspace accounts of example.com only,
// with a refresh token for every login (the default offline access). New
// reads Google's discovery document, so this example is not run.
func ExampleNew() {
	p, err := google.New(context.Background(), google.Config{
		ClientID:      "1234-abc.apps.googleusercontent.com",
		ClientSecret:  "GOCSPX-s3cret",
		RedirectURL:   "https://app.example/auth/google/callback",
		HostedDomains: []string{"example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = p // pass it to middleware.Config.Providers
}
