package gitlab_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/adapters/gitlab"
	"github.com/gatehouse-auth/gatehouse/adapters/oidc/oidctest"
)

// ExampleNew signs users in with a self-managed GitLab and lets the app
// read their GitLab profile through the API (read_user). Leave BaseURL
// empty for gitlab.com; here a fake instance stands in.
func ExampleNew() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()

	p, err := gitlab.New(context.Background(), gitlab.Config{
		BaseURL:      op.URL,
		ClientID:     "8f3c1a",
		ClientSecret: "gloas-s3cret",
		RedirectURL:  "http://127.0.0.1:8080/auth/gitlab/callback",
		Scopes:       []string{"profile", "email", "read_user"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Name(), p.Config().Scopes)
	// Output: gitlab [openid profile email read_user]
}
