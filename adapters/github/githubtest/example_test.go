package githubtest_test

import (
	"fmt"

	"github.com/gatehouse-auth/gatehouse/adapters/github/githubtest"
)

// ExampleNewServer starts a fake GitHub App with expiring user tokens.
// Point the adapter's BaseURL and APIURL at s.URL.
func ExampleNewServer() {
	s := githubtest.NewServer(githubtest.Config{ExpiringTokens: true, EmailPermission: true})
	defer s.Close()

	u, _ := s.User(githubtest.DefaultUser().ID)
	fmt.Println(u.Login, s.Calls(githubtest.EndpointToken))
	// Output: octocat 0
}
