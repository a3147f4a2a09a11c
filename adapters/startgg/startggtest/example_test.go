package startggtest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/adapters/startgg/startggtest"
)

// Starting the fake, minting a token as if a user had logged in, and asking
// /gql/alpha who it belongs to; then the same with start.gg's rate-limit
// reply injected.
func ExampleNewServer() {
	s := startggtest.NewServer(startggtest.Config{
		RedirectURIs: []string{"https://app.example/cb"},
		Users:        []startggtest.User{{ID: 42, Name: "Ann", GamerTag: "annie"}},
	})
	defer s.Close()

	tok := s.IssueUserToken(42, "user.identity")
	ask := func() {
		req, _ := http.NewRequest(http.MethodPost, s.GraphQLURL(),
			strings.NewReader(`{"query":"query { currentUser { id name player { gamerTag } } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := s.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, string(body))
	}
	ask()
	s.RateLimit(startggtest.EndpointGraphQL, 1)
	ask()
	fmt.Println("calls:", s.Calls(startggtest.EndpointGraphQL))
	// Output:
	// 200 {"data":{"currentUser":{"id":42,"name":"Ann","player":{"gamerTag":"annie"}}}}
	// 429 {"success":false,"message":"Rate limit exceeded - api-token"}
	// calls: 2
}
