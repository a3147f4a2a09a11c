package oauth2test_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// A complete code flow against the fake: auto-approved authorize, PKCE
// exchange with HTTP Basic client authentication, and a call counter.
func ExampleNewServer() {
	s := oauth2test.NewServer(oauth2test.Config{
		Clients: []oauth2test.Client{{ID: "app", Secret: "secret", RedirectURIs: []string{"https://app.example/callback"}}},
		Users:   []oauth2test.User{{Subject: "42", Name: "Ann"}},
	})
	defer s.Close()

	verifier := "dBjftJeZ4CVP-mJ92K9cQ3g5yY3eL0C8S9gQ6kAbCdE"
	auth := s.AuthorizeURL() + "?" + url.Values{
		"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"https://app.example/callback"},
		"state": {"xyz"}, "code_challenge": {oauth2test.S256(verifier)}, "code_challenge_method": {"S256"},
	}.Encode()
	code, state, err := s.AuthorizeCode(context.Background(), auth)
	if err != nil {
		panic(err)
	}
	fmt.Println("state:", state)

	body := url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://app.example/callback"}, "code_verifier": {verifier}}
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "secret")
	resp, err := s.Client().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("token endpoint:", resp.StatusCode, "calls:", s.Calls(oauth2test.EndpointToken))
	// Output:
	// state: xyz
	// token endpoint: 200 calls: 1
}

// A provider-style fake built on the engine: custom paths, JSON bodies, a
// separate refresh path, reply shapes of its own and an API endpoint that
// checks the bearer token.
func ExampleServer_Handle() {
	s := oauth2test.NewUnstartedServer(oauth2test.Config{
		Clients:   []oauth2test.Client{{ID: "123", Secret: "secret", RedirectURIs: []string{"https://app.example/cb"}}},
		Paths:     oauth2test.Paths{Authorize: "/oauth/authorize", Token: "/oauth/access_token", Refresh: "/oauth/refresh", UserInfo: "-", Revoke: "-"},
		Encodings: oauth2test.EncodingJSON | oauth2test.EncodingForm,
		RenderError: func(w http.ResponseWriter, _ *http.Request, e *oauth2test.Error) {
			oauth2test.WriteJSON(w, e.Status, map[string]any{"success": false, "message": e.Description})
		},
	})
	s.HandleFunc("POST /gql/alpha", func(w http.ResponseWriter, r *http.Request) {
		info, ok := s.BearerToken(r)
		if !ok {
			oauth2test.WriteJSON(w, http.StatusUnauthorized, map[string]any{"success": false, "message": "Invalid authentication token"})
			return
		}
		oauth2test.WriteJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"currentUser": map[string]any{"id": info.User.Subject}}})
	})
	s.Start()
	defer s.Close()

	tok := s.IssueToken("123", oauth2test.User{Subject: "7"}, []string{"user.identity"})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/gql/alpha", strings.NewReader(`{"query":"{currentUser{id}}"}`))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := s.Client().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, s.Calls("POST /gql/alpha"), s.RefreshURL() == s.URL+"/oauth/refresh")
	// Output: 200 1 true
}
