package githubtest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/examples/customadapter/githubtest"
)

func TestRefusals(t *testing.T) {
	s := githubtest.NewServer(githubtest.Config{ClientID: "id", ClientSecret: "secret", RedirectURIs: []string{"https://app.example/cb"}})
	defer s.Close()
	for _, tc := range []struct {
		name, method, path, user, pass, body string
		expect                               int
	}{
		{"user without token", http.MethodGet, "/user", "", "", "", http.StatusUnauthorized},
		{"revoke with a wrong secret", http.MethodDelete, "/applications/id/grant", "id", "nope", `{"access_token":"x"}`, http.StatusUnauthorized},
		{"revoke another client's grant", http.MethodDelete, "/applications/other/grant", "id", "secret", `{"access_token":"x"}`, http.StatusUnauthorized},
		{"revoke without a token", http.MethodDelete, "/applications/id/grant", "id", "secret", `{}`, http.StatusUnprocessableEntity},
		{"revoke an unknown token", http.MethodDelete, "/applications/id/grant", "id", "secret", `{"access_token":"x"}`, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.expect {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.expect)
			}
		})
	}
}
