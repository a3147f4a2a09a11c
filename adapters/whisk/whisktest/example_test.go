package whisktest_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
	"github.com/gatehouse-auth/gatehouse/adapters/whisk/whisktest"
)

// A fake Whisk with one user. Point the adapter's AuthBaseURL and
// APIBaseURL at s.URL and its HTTPClient at s.Client(); here a token is
// issued directly and /user/v2/me is called by hand.
func ExampleNewServer() {
	s := whisktest.NewServer(whisktest.Config{
		Users: []whisktest.User{{ID: "5f1d00aa", Email: "ann@example.com", FirstName: "Ann"}},
	})
	defer s.Close()

	tok := s.IssueToken(whisktest.DefaultClientID, oauth2test.User{Subject: "5f1d00aa"}, []string{"user.profile:read"})
	for _, authz := range []string{"Bearer " + tok.AccessToken, ""} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+whisktest.MePath, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			panic(err)
		}
		var body struct {
			User struct{ ID, Email string }
			Code string
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		fmt.Printf("%d id=%q email=%q code=%q\n", resp.StatusCode, body.User.ID, body.User.Email, body.Code)
	}
	fmt.Println("calls:", s.Calls(whisktest.EndpointMe))
	// Output:
	// 200 id="5f1d00aa" email="ann@example.com" code=""
	// 401 id="" email="" code="auth.tokenRequired"
	// calls: 2
}
