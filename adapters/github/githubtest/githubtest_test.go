package githubtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/github/githubtest"
	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// code runs an authorization with PKCE and returns the code and verifier.
func code(t *testing.T, s *githubtest.Server, scope string) (string, string) {
	t.Helper()
	verifier := strings.Repeat("v", 43)
	q := url.Values{"client_id": {githubtest.DefaultClientID}, "redirect_uri": {githubtest.DefaultRedirectURI}, "scope": {scope},
		"state": {"st"}, "response_type": {"code"}, "code_challenge": {oauth2test.S256(verifier)}, "code_challenge_method": {"S256"}}
	c, _, err := s.AuthorizeCode(context.Background(), s.URL+githubtest.AuthorizePath+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return c, verifier
}

func post(t *testing.T, s *githubtest.Server, form url.Values, accept string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+githubtest.TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func exchangeForm(c, verifier string) url.Values {
	return url.Values{"client_id": {githubtest.DefaultClientID}, "client_secret": {githubtest.DefaultClientSecret}, "grant_type": {"authorization_code"},
		"code": {c}, "redirect_uri": {githubtest.DefaultRedirectURI}, "code_verifier": {verifier}}
}

func TestTokenEndpointFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		whenAccept string
		expectType string
	}{
		{"no Accept: form encoded", "", "application/x-www-form-urlencoded"},
		{"Accept JSON", "application/json", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := githubtest.NewServer(githubtest.Config{})
			defer s.Close()
			c, v := code(t, s, "read:user user:email")
			resp, body := post(t, s, exchangeForm(c, v), tc.whenAccept)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.expectType) {
				t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !strings.Contains(body, "token_type") || !strings.Contains(body, "bearer") || !strings.Contains(body, "user%3Aemail") && !strings.Contains(body, "read:user,user:email") {
				t.Fatalf("body = %s", body)
			}
			if strings.Contains(body, "refresh_token") || strings.Contains(body, "expires_in") {
				t.Fatalf("an OAuth app's token must not expire: %s", body)
			}
		})
	}
}

func TestTokenErrorsAre200(t *testing.T) {
	t.Parallel()
	s := githubtest.NewServer(githubtest.Config{})
	defer s.Close()
	for _, tc := range []struct {
		name   string
		when   url.Values
		expect string
	}{
		{"bad code", exchangeForm("nope", strings.Repeat("v", 43)), githubtest.CodeBadVerificationCode},
		{"bad secret", func() url.Values {
			f := exchangeForm("nope", "x")
			f.Set("client_secret", "wrong")
			return f
		}(), githubtest.CodeIncorrectClientCredentials},
	} {
		resp, body := post(t, s, tc.when, "application/json")
		var e map[string]string
		if err := json.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != http.StatusOK || e["error"] != tc.expect || !strings.HasPrefix(e["error_uri"], "https://docs.github.com/") {
			t.Errorf("%s: status %d, body %s", tc.name, resp.StatusCode, body)
		}
	}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	s := githubtest.NewServer(githubtest.Config{})
	defer s.Close()
	c, v := code(t, s, "read:user")
	_, body := post(t, s, exchangeForm(c, v), "application/json")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil {
		t.Fatal(err)
	}
	get := func(path, auth, ua string) int {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("User-Agent", ua)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name         string
		path, auth   string
		ua           string
		expectStatus int
	}{
		{"user with Bearer", githubtest.UserPath, "Bearer " + tok.AccessToken, "test", 200},
		{"user with token scheme", githubtest.UserPath, "token " + tok.AccessToken, "test", 200},
		{"no token", githubtest.UserPath, "", "test", 401},
		{"unknown token", githubtest.UserPath, "Bearer gho_unknown", "test", 401},
		{"no User-Agent", githubtest.UserPath, "Bearer " + tok.AccessToken, "", 403},
		{"emails without user:email", githubtest.EmailsPath, "Bearer " + tok.AccessToken, "test", 404},
	} {
		if got := get(tc.path, tc.auth, tc.ua); got != tc.expectStatus {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.expectStatus)
		}
	}
	del := func(body string) int {
		req, _ := http.NewRequest(http.MethodDelete, s.URL+"/applications/"+githubtest.DefaultClientID+"/token", strings.NewReader(body))
		req.SetBasicAuth(githubtest.DefaultClientID, githubtest.DefaultClientSecret)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name   string
		body   string
		expect int
	}{
		{"no access_token", `{}`, 422},
		{"delete", `{"access_token":"` + tok.AccessToken + `"}`, 204},
		{"delete again", `{"access_token":"` + tok.AccessToken + `"}`, 404},
	} {
		if got := del(tc.body); got != tc.expect {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.expect)
		}
	}
	if got := get(githubtest.UserPath, "Bearer "+tok.AccessToken, "test"); got != 401 {
		t.Errorf("deleted token still works: %d", got)
	}
}
